"""fence_clc with each Debian root's own Pacemaker and pcs (Debian 11:
Pacemaker 2.0, pcs 0.10; Debian 13: Pacemaker 3.0, pcs 0.12): what an admin
runs to install it, and one real fence by the root's fencer."""

import json
import os
import subprocess
import sys

import pytest

from agentrun import REPO
from support import wait_until

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


def test_a_monitor_over_a_hanging_api_fails_by_the_agents_hand(fenced):
    """Inside the operation's default 20 s, recorded as the agent's failure
    (Pacemaker 2.0 took libcurl's "timed out" for a timeout of its own)."""
    (failure,) = fenced["monitor_failures"]
    assert failure["op_key"] == "watched_monitor_5000", failure
    assert failure["status"] in ("complete", "Done"), failure  # 3.0 says Done
    assert failure["exitstatus"] in ("error", "Error occurred"), failure
    assert int(failure["exec"]) < 20000, failure


def test_a_monitor_that_cannot_connect_fails_by_the_agents_hand(fenced):
    """Packets to the API dropped (a firewall): also the agent's failure
    within 20 s, its line in the log. The line names the options (Pacemaker
    2.0 reads only "timed out" as a timeout of its own: measured, and in its
    source)."""
    failure = fenced["unreachable_failures"][0]
    assert failure["status"] in ("complete", "Done"), failure
    assert failure["exitstatus"] in ("error", "Error occurred"), failure
    assert int(failure["exec"]) < 20000, failure
    line = fenced["unreachable_lines"][0]
    assert "within 15 s: 2 attempts to connect" in line and "login_timeout (10 s)" in line, line
    assert "at the end of monitor_timeout (15 s)" in line, line


def process_table():
    """{pid: (parent pid, command name)} of every process on the host."""
    table = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except (OSError, ValueError):
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        table[int(entry)] = (int(stat[stat.rindex(")") + 2:].split()[1]), name)
    return table


def descendants(pid):
    table = process_table()
    found, pending = {}, [pid]
    while pending:
        parent = pending.pop()
        for child, (ppid, name) in table.items():
            if ppid == parent and child not in found:
                found[child] = name
                pending.append(child)
    return found


CALLER = """
import sys
sys.path.insert(0, sys.argv[1] + "/tools")
import roots
sys.path.insert(0, sys.argv[1] + "/tests")
from platforms.rows import SRC_IN_ROOT, debian_recipe
roots.run_in_root(debian_recipe(sys.argv[2]),
                  ["/usr/bin/python3", SRC_IN_ROOT + "/tests/platforms/inroot_stack.py"],
                  binds=[(sys.argv[1], SRC_IN_ROOT, True)], private_net=True)
"""


def test_a_killed_run_leaves_no_daemon_of_the_roots_stack(recipe):
    """SIGKILL of the process that entered the root takes the root's
    Corosync, Pacemaker and simulator with it."""
    caller = subprocess.Popen([sys.executable, "-c", CALLER, REPO, recipe.suite],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        daemons = wait_until(
            lambda: {pid: name for pid, name in descendants(caller.pid).items()
                     if name.startswith(("corosync", "pacemaker"))} or None,
            60, interval=0.2, what="the root's stack to start")
        inside = descendants(caller.pid)
    finally:
        caller.kill()
        caller.wait()
    assert daemons
    wait_until(lambda: not any(os.path.exists("/proc/%d" % pid) for pid in inside), 15,
               what="every process of the root to end")
