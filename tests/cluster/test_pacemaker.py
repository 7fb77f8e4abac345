"""fence_clc driven by a real Pacemaker fencer (pacemaker-fenced) on a
one-node Corosync cluster in private namespaces, against the CLC simulator.

Node names that are not cluster members (node2, server ids) are fenced:
never node1, which is the stack's own node.
"""

import hashlib
import os
import re
import xml.etree.ElementTree as ET

import pytest

from agentrun import SENTINEL_PASSWORD, USERNAME

from support import power_posts, require_commands, wait_until

from .stack import agent_stdin_captured

pytestmark = [
    pytest.mark.cluster,
    # One worker runs the whole module: its Pacemaker stack starts once.
    pytest.mark.xdist_group("pacemaker-stack"),
]


def seed_command(cluster, vm, proxy):
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
                                         *seed_command(cluster, vm, proxy))
    assert created.returncode == 0, created
    assert "Error" not in created.stderr

    assert_fenced(cluster.node.fence("reboot", vm))

    assert_power_cycled(cluster, vm)
    went_through_proxy = "/v2/servers/ACCT/%s " % vm in cluster.proxy.log_text()
    assert went_through_proxy == with_proxy


def test_password_kept_out_of_the_cib_as_a_cib_secret_fences(cluster):
    """README, "Keeping the password out of the CIB": the CIB holds lrm://,
    the password is in the root-only files cibsecret keeps, and
    pacemaker-fenced gives the agent the real value. (On a one-node cluster
    cibsecret itself stops, "no other nodes live", before it changes the
    CIB: its files are written here as it writes them.)"""
    require_commands("cibsecret")
    vm = "VA1ACCTSRV00004"
    secrets = "/var/lib/pacemaker/lrm/secrets/secret"
    os.makedirs(cluster.node.ns.path(secrets), mode=0o700)
    cluster.node.ns.write_file(secrets + "/passwd", SENTINEL_PASSWORD, mode=0o600)
    cluster.node.ns.write_file(secrets + "/passwd.sign", hashlib.md5(
        SENTINEL_PASSWORD.encode("utf-8")).hexdigest(), mode=0o600)
    params = [param for param in seed_command(cluster, vm, proxy=None)
              if not param.startswith("passwd=")]
    created = cluster.node.create_device("secret", "fence_clc", "passwd=lrm://", *params)
    assert created.returncode == 0, created
    assert cluster.node.ns.run("cibsecret", "check", "secret", "passwd").returncode == 0
    assert SENTINEL_PASSWORD not in cluster.node.ns.run("cibadmin", "--query", check=True).stdout

    assert_fenced(cluster.node.fence("reboot", vm))
    assert_power_cycled(cluster, vm)


def test_empty_proxy_value_is_refused_by_pcs(cluster):
    """Why users without a proxy leave it out: pcs rejects empty values."""
    params = seed_command(cluster, "UC1ACCTSRV00003", proxy=None) + ['proxy=']
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
    """What pacemaker-fenced gives the agent: the device's parameters, plus
    nodename and the mapped port for a fence, but no port for monitor."""
    vm = "UC1ACCTSRV00007"
    with agent_stdin_captured(cluster.ns) as calls:
        cluster.node.create_device("captured", "fence_clc", "pcmk_host_map=node2:%s" % vm,
                                   *cluster.device_params())
        assert_fenced(cluster.node.fence("reboot", "node2"))
        wait_until(lambda: any(call.get("action") == "monitor" for call in calls()), 15,
                   what="the device's start (a monitor run)")
        runs = calls()
    device = dict(param.split("=", 1) for param in cluster.device_params())
    reboot = [call for call in runs if call.get("action") == "reboot"]
    assert reboot == [dict(device, action="reboot", nodename="node2", port=vm)]
    monitor = [call for call in runs if call.get("action") == "monitor"]
    assert monitor and all(call == dict(device, action="monitor") for call in monitor)


def test_dynamic_host_list_finds_the_target_among_many_servers(cluster):
    vm = "VA1ACCTSRV00250"
    created = cluster.node.create_device("dynamic", "fence_clc", *cluster.device_params())
    assert created.returncode == 0, created

    assert_fenced(cluster.node.fence("reboot", vm))

    paths = [entry["path"] for entry in cluster.sim.requests()]
    assert any(path.startswith("/v2/groups/") for path in paths), "the fencer never listed"
    assert_power_cycled(cluster, vm)


def test_dynamic_host_list_refuses_a_server_that_is_not_listed(cluster):
    created = cluster.node.create_device("dynamic", "fence_clc", *cluster.device_params())
    assert created.returncode == 0, created

    refused = cluster.node.fence("reboot", "VA1ACCTSRV09999")

    assert refused.returncode != 0
    assert cluster.sim.power_posts() == []


def assert_running(cluster, *vms):
    for vm in vms:
        server = cluster.sim.server(vm)
        assert [state for _t, state in server["power_history"]] == ["started"], (vm, server)


def assert_refused_without_power_request(cluster, result, node, *vms):
    """The fence failed, the history says so, no VM was touched, and the
    fencer's log has the agent's reason."""
    assert result.returncode != 0, result
    history = cluster.node.history(node)
    assert "failed" in history and "successful" not in history, history
    assert cluster.sim.power_posts() == []
    assert_running(cluster, *vms)
    assert "switch names server" in cluster.node.log_text()


def test_a_switch_device_without_host_list_fences_only_its_own_server(cluster):
    """No pcmk_host_list/map: Pacemaker's dynamic-list runs `list` and uses
    the device for every node it names. With switch, `list` names only that
    server (one read, not the account), so the device is never chosen for
    another node: it once powered its own VM off for any node and reported
    the other node fenced."""
    own, other = "UC1ACCTSRV00151", "UC1ACCTSRV00153"
    created = cluster.node.create_device("own", "fence_clc", "switch=" + own,
                                         *cluster.device_params())
    assert created.returncode == 0, created

    refused = cluster.node.fence("off", other)

    assert refused.returncode != 0, refused
    assert "successful" not in cluster.node.history(other)
    assert cluster.sim.power_posts() == []
    assert_running(cluster, own, other)
    assert not any(entry["path"].startswith("/v2/groups/") for entry in cluster.sim.requests())

    assert_fenced(cluster.node.fence("off", own))
    assert cluster.sim.power_posts() == [("powerOff", [own])]
    assert cluster.sim.server(own)["powerState"] == "stopped"
    assert_running(cluster, other)


def test_a_switch_device_checked_by_status_fences_only_its_own_server(cluster):
    """pcmk_host_check=status: the fencer asks `status` with each node's
    name and uses the device when it answers. A switch device answers only
    for its own server (it once answered ON for any node, then powered its
    own VM off for node2)."""
    own = "UC1ACCTSRV00163"
    created = cluster.node.create_device("bystatus", "fence_clc", "pcmk_host_check=status",
                                         "switch=" + own, *cluster.device_params())
    assert created.returncode == 0, created

    refused = cluster.node.fence("off", "node2")

    assert refused.returncode != 0, refused
    assert "successful" not in cluster.node.history("node2")
    assert cluster.sim.power_posts() == []
    assert_running(cluster, own)

    assert_fenced(cluster.node.fence("off", own))
    assert cluster.sim.power_posts() == [("powerOff", [own])]


def test_a_host_map_with_a_stray_switch_is_refused(cluster):
    """pcmk_host_map maps node2 to one server, a leftover switch names
    another: the agent cannot know which VM is node2's and refuses."""
    mapped, switched = "UC1ACCTSRV00155", "UC1ACCTSRV00157"
    created = cluster.node.create_device("stray", "fence_clc", "pcmk_host_map=node2:" + mapped,
                                         "switch=" + switched, *cluster.device_params())
    assert created.returncode == 0, created

    refused = cluster.node.fence("off", "node2")

    assert_refused_without_power_request(cluster, refused, "node2", mapped, switched)


def test_a_host_list_naming_another_server_is_refused(cluster):
    """The seed's form with the wrong node in pcmk_host_list: when that node
    name is itself a server of the account, it is not the switch's VM."""
    listed, switched = "UC1ACCTSRV00159", "UC1ACCTSRV00161"
    created = cluster.node.create_device("wrong", "fence_clc", "pcmk_host_check=static-list",
                                         "pcmk_host_list=" + listed, "switch=" + switched,
                                         *cluster.device_params())
    assert created.returncode == 0, created

    refused = cluster.node.fence("off", listed)

    assert_refused_without_power_request(cluster, refused, listed, listed, switched)


def api_down(cluster):
    # Nothing listens there; a short deadline bounds the agent's retries.
    return cluster.device_params(api_url="http://127.0.0.1:8499", power_timeout="2")


def wrong_password(cluster):
    return cluster.device_params(passwd="Wrong-Passw0rd-1")


def server_stuck(cluster):
    cluster.sim.add_fault("op_stuck", path="/servers/powerOff")
    return cluster.device_params(power_timeout="3")


@pytest.mark.parametrize("break_it,vm", [
    pytest.param(api_down, "UC1ACCTSRV00011", id="api-down"),
    pytest.param(wrong_password, "UC1ACCTSRV00013", id="wrong-password"),
    pytest.param(server_stuck, "UC1ACCTSRV00015", id="server-stuck"),
])
def test_a_failed_fence_is_reported_and_leaves_the_vm_alone(cluster, break_it, vm):
    created = cluster.node.create_device("broken", "fence_clc", "pcmk_host_map=node2:%s" % vm,
                                         *break_it(cluster))
    assert created.returncode == 0, created

    failed = cluster.node.fence("reboot", "node2")

    assert failed.returncode != 0, failed
    history = cluster.node.history("node2")
    assert "reboot of node2 failed" in history
    assert "successful" not in history
    assert "Peer node2 was terminated" not in cluster.node.log_text()
    server = cluster.sim.server(vm)
    assert server["powerState"] == "started"
    assert [state for _t, state in server["power_history"]] == ["started"]
    assert all(op == "powerOff" for op, _ids in cluster.sim.power_posts())


# README, "Timeouts": the agent's deadline and the fencer's, set together.
README_BUDGET = {"power_timeout": 60, "pcmk_off_timeout": 70, "pcmk_reboot_timeout": 70,
                 "stonith-timeout": 70}


def test_an_operation_near_power_timeout_completes_with_the_readmes_settings(cluster):
    """CLC takes power_timeout - 5 s: the fencer lets the agent finish."""
    vm = "UC1ACCTSRV00023"
    seconds = README_BUDGET["power_timeout"] - 5
    params = [param for param in cluster.device_params() if "_timeout=" not in param]
    params += ["%s=%d" % (name, value) for name, value in README_BUDGET.items() if "_" in name]
    created = cluster.node.create_device("slow", "fence_clc", "pcmk_host_map=node2:%s" % vm, *params)
    assert created.returncode == 0, created
    operation_time = cluster.sim.admin("GET", "config")["op_duration"]
    cluster.sim.admin("POST", "config", {"op_duration": seconds})
    try:
        # stonith_admin's timeout stands for the cluster's stonith-timeout
        fenced = cluster.node.fence("off", "node2", timeout=README_BUDGET["stonith-timeout"])
    finally:
        cluster.sim.admin("POST", "config", {"op_duration": operation_time})

    assert_fenced(fenced)
    assert "turning off of node2 successful" in cluster.node.history("node2")
    assert cluster.sim.power_posts() == [("powerOff", [vm])]
    server = cluster.sim.server(vm)
    assert server["powerState"] == "stopped"
    (posted,) = power_posts(cluster.sim.requests())
    stopped_at = server["power_history"][-1][0]
    assert stopped_at - posted["time"] >= seconds - 1  # CLC really took that long


def test_a_refused_password_is_tried_once_per_agent_run(cluster):
    """The fencer retries a failing device; each run must not hammer the
    login with a password CLC refused."""
    with agent_stdin_captured(cluster.ns) as calls:
        cluster.node.create_device("broken", "fence_clc", "pcmk_host_map=node2:UC1ACCTSRV00017",
                                   *wrong_password(cluster))
        assert cluster.node.fence("reboot", "node2").returncode != 0
        runs = [call["action"] for call in calls() if call.get("action") != "metadata"]
    assert runs.count("reboot") == 2, runs
    logins = [entry for entry in cluster.sim.requests() if entry["path"].endswith("/login")]
    assert len(logins) == len(runs)


def monitor_failures(cluster, device):
    """Failed monitors of `device` as crm_mon reports them."""
    return [failure for failure in cluster.node.failed_operations(device)
            if failure["op_key"].startswith(device + "_monitor")]


def test_recurring_monitor_fails_the_device_when_credentials_go_bad(cluster):
    created = cluster.node.create_device("watched", "fence_clc", "pcmk_host_map=node2:UC1ACCTSRV00019",
                                         *cluster.device_params(), "op", "monitor", "interval=2s")
    assert created.returncode == 0, created
    monitors = lambda: [e for e in cluster.sim.requests() if e["path"] == "/v2/datacenters/ACCT"]
    wait_until(lambda: len(monitors()) >= 2, 15, what="two monitor runs (start and a recurring one)")
    assert monitor_failures(cluster, "watched") == []

    # The password changes at CLC: the cached token is revoked, logins fail.
    cluster.sim.expire_tokens()
    cluster.sim.add_fault("status", path="/authentication/login", status=400,
                          body='{"message": "We didn\'t recognize the username or password"}')

    failures = wait_until(lambda: monitor_failures(cluster, "watched"), 20,
                          what="crm_mon to show the failed monitor")
    assert failures[0]["op_key"] == "watched_monitor_2000"
    assert cluster.sim.power_posts() == []


def test_recurring_monitor_over_a_hanging_api_fails_by_the_agents_hand(cluster):
    """Default timeouts, default operation timeout (20 s): the monitor ends
    by itself, op status complete (not Timed Out), its line in the log."""
    params = [param for param in cluster.device_params() if "_timeout=" not in param]
    created = cluster.node.create_device("watched", "fence_clc", "pcmk_host_map=node2:UC1ACCTSRV00021",
                                         *params, "op", "monitor", "interval=5s")
    assert created.returncode == 0, created
    monitors = lambda: [e for e in cluster.sim.requests() if e["path"] == "/v2/datacenters/ACCT"]
    wait_until(lambda: len(monitors()) >= 2, 20, what="two monitor runs (start and a recurring one)")
    assert monitor_failures(cluster, "watched") == []

    cluster.sim.add_fault("hang", path="^/v2/")

    failure = wait_until(lambda: monitor_failures(cluster, "watched"), 45,
                         what="crm_mon to show the failed monitor")[0]
    assert failure["op_key"] == "watched_monitor_5000"
    assert (failure["status"], failure["exitstatus"]) == ("complete", "error"), failure
    assert int(failure["exec"]) < 20000, failure
    # Pacemaker keeps no exit reason of a fence agent: its line is in the log.
    assert "did not complete" not in failure["exitreason"], failure
    assert re.search(r"fence_clc\[\d+\] stderr: \[ .* ERROR: Failed: no answer from the CLC API "
                     r"at 127\.0\.0\.1:8480 within 15 s", cluster.node.log_text()), failure
    assert cluster.sim.power_posts() == []


def test_validate_accepts_good_options(cluster):
    result = cluster.ns.run("stonith_admin", "--validate", "--agent", "fence_clc",
                            *option_args(cluster.device_params()))
    assert result.returncode == 0, result


@pytest.mark.parametrize("bad", ["api_url=ftp://example.invalid", "cacert=/nonexistent/ca.pem",
                                 "proxy=gopher://127.0.0.1:1", "retry_on=0", "power_wait=-1"])
def test_validate_rejects_bad_options(cluster, bad):
    result = cluster.ns.run("stonith_admin", "--validate", "--agent", "fence_clc",
                            *option_args(cluster.device_params() + [bad]))
    assert result.returncode != 0, result
    assert bad.split("=")[0] in result.stdout + result.stderr


def option_args(params):
    return [arg for param in params for arg in ("--option", param)]


def test_metadata_through_crm_resource_and_pcs(cluster):
    shown = cluster.ns.run("crm_resource", "--show-metadata", "stonith:fence_clc")
    assert shown.returncode == 0, shown
    agent = ET.fromstring(shown.stdout)
    assert agent.get("name") == "fence_clc"
    names = {parameter.get("name") for parameter in agent.iter("parameter")}
    assert {"api_url", "account", "login", "passwd", "proxy", "switch", "plug"} <= names
    described = cluster.node.pcs("stonith", "describe", "fence_clc")
    assert described.returncode == 0 and "api_url" in described.stdout, described


def test_metadata_needs_no_root(cluster):
    """Pacemaker asks for metadata as user hacluster."""
    as_hacluster = cluster.ns.run("runuser", "-u", "hacluster", "--",
                                  "/usr/sbin/fence_clc", "-o", "metadata")
    assert as_hacluster.returncode == 0, as_hacluster
    assert as_hacluster.stdout == cluster.ns.run("/usr/sbin/fence_clc", "-o", "metadata").stdout
