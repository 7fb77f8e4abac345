"""fence_clc driven by a real Pacemaker fencer (pacemaker-fenced) on a
one-node Corosync cluster in private namespaces, against the CLC simulator.

Node names that are not cluster members (node2, server ids) are fenced:
never node1, which is the stack's own node.
"""

import re
import time
import xml.etree.ElementTree as ET

import pytest

from agentrun import SENTINEL_PASSWORD, USERNAME

from .stack import agent_stdin_captured, missing_requirements, wait_until

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(missing_requirements() is not None,
                       reason=missing_requirements() or "runs"),
]


def seed_command(cluster, name, vm, proxy):
    """The seed article's command, with api_url added (the simulator's)."""
    params = ['pcmk_host_check=static-list', 'pcmk_host_list=%s' % vm, "account=ACCT",
              "login=" + USERNAME, "passwd=" + SENTINEL_PASSWORD]
    if proxy:
        params.append("proxy=" + proxy)
    return params + ["switch=" + vm, "api_url=" + cluster.sim.url]


def assert_fenced(result):
    assert result.returncode == 0, result


def assert_power_cycled(cluster, vm):
    """Exactly one powerOff then one powerOn, of this VM only; it ends on."""
    assert cluster.sim.power_posts() == [("powerOff", [vm]), ("powerOn", [vm])]
    server = cluster.sim.server(vm)
    assert server["powerState"] == "started"
    assert [state for _t, state in server["power_history"]] == ["started", "stopped", "started"]


@pytest.mark.parametrize("with_proxy", [True, False], ids=["proxy", "no-proxy"])
def test_seed_command_is_accepted_and_fences_the_vm(cluster, with_proxy):
    vm = "UC1ACCTSRV00001" if with_proxy else "VA1ACCTSRV00002"
    proxy = cluster.proxy.url if with_proxy else None
    created = cluster.node.create_device("seed", "fence_clc",
                                         *seed_command(cluster, "seed", vm, proxy))
    assert created.returncode == 0, created
    assert "Error" not in created.stderr

    assert_fenced(cluster.node.fence("reboot", vm))

    assert_power_cycled(cluster, vm)
    went_through_proxy = "/v2/servers/ACCT/%s " % vm in cluster.proxy.log_text()
    assert went_through_proxy == with_proxy


def test_empty_proxy_value_is_refused_by_pcs(cluster):
    """Why users without a proxy leave it out: pcs rejects empty values."""
    params = seed_command(cluster, "empty", "UC1ACCTSRV00003", proxy=None) + ['proxy=']
    refused = cluster.node.pcs("stonith", "create", "empty", "fence_clc", *params)
    assert refused.returncode != 0
    assert "proxy cannot be empty" in refused.stderr


def test_host_map_reboot_then_off_touch_only_the_mapped_server(cluster):
    vm = "UC1ACCTSRV00005"
    created = cluster.node.create_device(
        "mapped", "fence_clc", "pcmk_host_map=node2:%s" % vm,
        *cluster.device_params())
    assert created.returncode == 0, created

    assert_fenced(cluster.node.fence("reboot", "node2"))
    assert_power_cycled(cluster, vm)

    cluster.sim.reset()
    assert_fenced(cluster.node.fence("off", "node2"))
    assert cluster.sim.power_posts() == [("powerOff", [vm])]
    assert cluster.sim.server(vm)["powerState"] == "stopped"
    touched = {entry["path"] for entry in cluster.sim.requests() if "/servers/ACCT/" in entry["path"]}
    assert touched == {"/v2/servers/ACCT/" + vm}


def test_fencer_passes_node_action_and_mapped_port_on_stdin(cluster):
    vm = "UC1ACCTSRV00007"
    with agent_stdin_captured(cluster.ns) as calls:
        cluster.node.create_device("captured", "fence_clc", "pcmk_host_map=node2:%s" % vm,
                                   *cluster.device_params())
        assert_fenced(cluster.node.fence("reboot", "node2"))
        reboot = [call for call in calls() if call.get("action") == "reboot"]
    assert len(reboot) == 1, calls()
    assert reboot[0]["nodename"] == "node2"
    assert reboot[0]["port"] == vm
    assert reboot[0]["login"] == USERNAME
    assert reboot[0]["api_url"] == cluster.sim.url
