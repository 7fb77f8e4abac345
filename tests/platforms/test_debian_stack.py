"""fence_clc with each Debian root's own Pacemaker and pcs (Debian 11:
Pacemaker 2.0, pcs 0.10; Debian 13: Pacemaker 3.0, pcs 0.12): what an admin
runs to install it, and one real fence by the root's fencer."""

import json

import pytest

from agentrun import REPO

from .conftest import STACKS
from .rows import SRC_IN_ROOT, debian_recipe, roots_module

SUITES = {"debian11": "bullseye", "debian13": "trixie"}
INSTALL = "install -m 0755 %s/fence_clc /usr/sbin/fence_clc" % SRC_IN_ROOT


@pytest.fixture(scope="module", params=sorted(SUITES))
def row_name(request):
    return request.param


@pytest.fixture(scope="module")
def recipe(row_name):
    return debian_recipe(SUITES[row_name])


def in_root(recipe, command, **kwargs):
    """A shell command in a throwaway copy of the root, the agent installed
    as users do (the host's /usr/sbin is never touched)."""
    return roots_module().run_in_root(
        recipe, ["/bin/sh", "-c", INSTALL + " && " + command],
        binds=[(REPO, SRC_IN_ROOT, True)], timeout=300, **kwargs)


def test_pcs_stonith_describe(recipe):
    result = in_root(recipe, "pcs stonith describe fence_clc")
    assert result.returncode == 0, result
    assert "Fence agent for CenturyLink Cloud (CLC)" in result.stdout, result
    for option in ("switch", "api_url", "token_file", "account", "proxy"):
        assert option in result.stdout, result


def test_stonith_admin_metadata(recipe):
    result = in_root(recipe, "stonith_admin --metadata --agent fence_clc")
    assert result.returncode == 0, result
    assert '<resource-agent name="fence_clc"' in result.stdout, result


@pytest.fixture(scope="module")
def fenced(row_name, recipe):
    """The root's one-node stack fences node web01 (VM UC1ACCTWEB01) once."""
    result = in_root(recipe, "exec /usr/bin/python3 %s/tests/platforms/inroot_stack.py"
                     % SRC_IN_ROOT, private_net=True)
    lines = result.stdout.strip().splitlines()
    assert lines, result
    report = json.loads(lines[-1])
    assert "error" not in report, report.get("error", "") + json.dumps(report.get("logs"), indent=1)
    STACKS[row_name] = "fenced by %(pacemaker)s, %(corosync)s, pcs %(pcs)s" % report["versions"]
    return report


def test_seed_pcs_stonith_create_is_accepted(fenced):
    create = fenced["create"]
    assert create["rc"] == 0, create
    assert "Error" not in create["stderr"], create


def test_stonith_admin_reboot_power_cycles_the_nodes_vm(fenced):
    assert fenced["fence"]["rc"] == 0, fenced["fence"]
    assert fenced["power_posts"] == [["powerOff", ["UC1ACCTWEB01"]], ["powerOn", ["UC1ACCTWEB01"]]]
    assert fenced["vm_states"] == ["started", "stopped", "started"]
    assert fenced["other_vm_states"] == ["started"]
    assert "web01" in fenced["history"] and "successful" in fenced["history"].lower(), fenced
