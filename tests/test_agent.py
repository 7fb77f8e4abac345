"""fence_clc as admins and Pacemaker run it: a real agent process, the real
fencing library, the CLC simulator over real HTTP(S)."""

import json
import os
import re
import subprocess

import pytest

from agentrun import (REPO, closed_port_url, SENTINEL_PASSWORD, TRACEBACK, USERNAME, cli_args,
                      run_agent, secrets_found, stdin_params)
from support import logins, power_posts

WEB = "UC1ACCTWEB01"
FAST = ["--power-timeout", "5", "--shell-timeout", "3", "--login-timeout", "2"]


def agent(sim, token_dir, action, plug=WEB, extra=(), **kwargs):
    return run_agent(cli_args(sim, token_dir, plug, action, list(FAST) + list(extra)), **kwargs)


def states(sim, server_id=WEB):
    return [state for _, state in sim.server(server_id)["power_history"]]


def assert_one_clear_error(result, *words):
    """Exit 1, one 'Failed:' line naming the problem, no traceback."""
    assert result.rc == 1, result
    assert not TRACEBACK.search(result.output), result
    errors = result.error_lines()
    assert len(errors) == 1, result
    for word in words:
        assert word.lower() in errors[0].lower(), result
    assert "Status: OFF" not in result.stdout and "Success" not in result.stdout


# ---------------------------------------------------------------- status

@pytest.mark.parametrize("power_state, rc, shown", [
    ("started", 0, "Status: ON"), ("paused", 0, "Status: ON"), ("stopped", 2, "Status: OFF")])
def test_status_reports_on_for_started_and_paused_off_only_for_stopped(clc, token_dir, power_state,
                                                                       rc, shown):
    clc.set_server(WEB, powerState=power_state)
    result = agent(clc, token_dir, "status")
    assert (result.rc, result.stdout.strip()) == (rc, shown), result


@pytest.mark.parametrize("fields", [
    {"status": "underConstruction", "details": False},
    {"details": False},
    {"status": "queuedForDelete", "powerState": "stopped"},
    {"status": "underConstruction", "powerState": "stopped"},
])
def test_status_is_an_error_not_off_when_clc_cannot_say_stopped(clc, token_dir, fields):
    clc.set_server(WEB, **fields)
    assert_one_clear_error(agent(clc, token_dir, "status"), "cannot tell")


def test_status_with_a_warm_token_cache_is_one_request(clc, token_dir):
    agent(clc, token_dir, "status")
    clc.clear_requests()
    assert agent(clc, token_dir, "status").rc == 0
    assert [(r["method"], r["path"]) for r in clc.requests()] == [("GET", "/v2/servers/ACCT/" + WEB)]


# ---------------------------------------------------------------- off / on / reboot

def test_off_powers_off_and_confirms_stopped(clc, token_dir):
    result = agent(clc, token_dir, "off")
    assert (result.rc, result.stdout.strip()) == (0, "Success: Powered OFF"), result
    assert clc.server(WEB)["powerState"] == "stopped"
    posts = power_posts(clc)
    assert [(p["path"], p["body"]) for p in posts] == [("/v2/operations/ACCT/servers/powerOff", [WEB])]


def test_off_of_a_stopped_server_sends_no_power_request(clc, token_dir):
    clc.set_server(WEB, powerState="stopped")
    result = agent(clc, token_dir, "off")
    assert (result.rc, result.stdout.strip()) == (0, "Success: Already OFF"), result
    assert power_posts(clc) == []


def test_off_of_a_paused_server_stops_it(clc, token_dir):
    clc.set_server(WEB, powerState="paused")
    assert agent(clc, token_dir, "off").rc == 0
    assert clc.server(WEB)["powerState"] == "stopped"


def test_on_of_a_running_server_sends_no_power_request(clc, token_dir):
    result = agent(clc, token_dir, "on")
    assert (result.rc, result.stdout.strip()) == (0, "Success: Powered ON"), result
    assert power_posts(clc) == []


@pytest.mark.parametrize("before", ["stopped", "paused"])
def test_on_starts_a_stopped_or_resumes_a_paused_server(clc, token_dir, before):
    clc.set_server(WEB, powerState=before)
    result = agent(clc, token_dir, "on")
    assert (result.rc, result.stdout.strip()) == (0, "Success: Powered ON"), result
    assert clc.server(WEB)["powerState"] == "started"
    assert len(power_posts(clc, "powerOn")) == 1


def test_reboot_onoff_is_power_off_then_power_on(clc, token_dir):
    result = agent(clc, token_dir, "reboot")
    assert (result.rc, result.stdout.strip()) == (0, "Success: Rebooted"), result
    assert [p["path"].rsplit("/", 1)[1] for p in power_posts(clc)] == ["powerOff", "powerOn"]
    assert states(clc)[-2:] == ["stopped", "started"]


def test_reboot_cycle_is_one_reset(clc, token_dir):
    result = agent(clc, token_dir, "reboot", extra=["--method", "cycle"])
    assert (result.rc, result.stdout.strip()) == (0, "Success: Rebooted"), result
    assert [p["path"].rsplit("/", 1)[1] for p in power_posts(clc)] == ["reset"]
    assert states(clc)[-2:] == ["stopped", "started"]


def test_reboot_cycle_of_a_stopped_server_powers_it_on(clc, token_dir):
    clc.set_server(WEB, powerState="stopped")
    assert agent(clc, token_dir, "reboot", extra=["-m", "cycle"]).rc == 0
    assert [p["path"].rsplit("/", 1)[1] for p in power_posts(clc)] == ["powerOn"]
    assert clc.server(WEB)["powerState"] == "started"


def test_off_waits_for_a_server_record_that_lags_the_operation(clc, token_dir):
    clc.configure(record_lag=1.0)
    result = agent(clc, token_dir, "off")
    assert result.rc == 0, result
    assert clc.server(WEB)["powerState"] == "stopped"
    assert result.seconds >= 1.0


def test_off_fails_when_the_operation_fails_and_the_server_keeps_running(clc, token_dir):
    clc.add_fault("op_fail", path="/servers/powerOff")
    assert_one_clear_error(agent(clc, token_dir, "off"), "powerOff of server", "failed",
                           "- check the server in CLC")
    assert clc.server(WEB)["powerState"] == "started"


def test_off_gives_up_at_its_deadline_when_the_operation_is_stuck(clc, token_dir):
    clc.add_fault("op_stuck", path="/servers/powerOff")
    result = agent(clc, token_dir, "off", extra=["--power-timeout", "2"], pacemaker=True)
    assert_one_clear_error(result, "timed out", "power_timeout")
    assert result.seconds < 6
    assert len(power_posts(clc)) == 1


def test_off_refused_in_maintenance_mode_names_the_reason(clc, token_dir):
    clc.set_server(WEB, inMaintenanceMode=True)
    assert_one_clear_error(agent(clc, token_dir, "off"), "maintenance",
                           "- check the server in CLC", "take it out of maintenance mode")
    assert clc.server(WEB)["powerState"] == "started"


def test_power_request_of_unknown_fate_is_not_resent(clc, token_dir):
    """A 500 answer to the POST may hide a queued operation: re-read, never re-send."""
    clc.add_fault("status", path="/servers/powerOff", status=500, count=1)
    result = agent(clc, token_dir, "off", extra=["--power-timeout", "2"])
    # the last line names the real cause, not a timeout that raising would cure
    assert_one_clear_error(result, "powerOff", "HTTP 500", "not sent again on purpose",
                           "still started", "Pacemaker", "check the server in CLC")
    assert "raise power_timeout" not in result.stderr, result
    assert len(power_posts(clc)) == 1


def test_power_request_refused_with_503_is_resent_after_a_fresh_read(clc, token_dir):
    clc.add_fault("status", path="/servers/powerOff", status=503, count=1)
    result = agent(clc, token_dir, "off")
    assert result.rc == 0, result
    posts = power_posts(clc)
    assert [p["status"] for p in posts] == [503, 200]
    between = clc.requests()[clc.requests().index(posts[0]) + 1:clc.requests().index(posts[1])]
    assert any(r["path"] == "/v2/servers/ACCT/" + WEB for r in between)


def test_power_request_refused_with_401_is_resent_at_once_with_a_fresh_token(clc, token_dir):
    """A 401 proves the POST unprocessed, and the fresh login is the cure:
    no backoff pause before the next try."""
    clc.add_fault("status", path="/servers/powerOff", status=401, count=1)
    result = agent(clc, token_dir, "off", extra=["-v"])
    assert result.rc == 0, result
    assert [p["status"] for p in power_posts(clc)] == [401, 200]
    assert len(logins(clc)) == 2
    assert "trying again in" not in result.stderr, result


# ---------------------------------------------------------------- Pacemaker's way: stdin

def test_stdin_with_the_seed_option_names_fences_the_switch_server(clc, token_dir):
    """pacemaker-fenced sends the device's parameters plus nodename/port;
    the seed's switch names the server; port, the node name, is no server (404)."""
    params = {"action": "off", "nodename": "node2", "port": "node2", "account": "ACCT",
              "login": USERNAME, "passwd": SENTINEL_PASSWORD, "switch": WEB,
              "api_url": clc.url, "token_file": os.path.join(token_dir, "[hash].token"),
              "pcmk_host_list": WEB, "power_timeout": "5"}
    result = run_agent(stdin=params, pacemaker=True)
    assert (result.rc, result.stdout.strip()) == (0, "Success: Powered OFF"), result
    assert clc.server(WEB)["powerState"] == "stopped"
    assert clc.server("UC1ACCTWEB02")["powerState"] == "started"


def test_stdin_with_plug_and_new_option_names(clc, token_dir):
    params = stdin_params(clc, token_dir, plug=WEB, action="reboot", method="cycle")
    result = run_agent(stdin=params, pacemaker=True)
    assert (result.rc, result.stdout.strip()) == (0, "Success: Rebooted"), result
    assert [p["path"].rsplit("/", 1)[1] for p in power_posts(clc)] == ["reset"]


def test_switch_on_the_command_line(clc, token_dir):
    args = cli_args(clc, token_dir, None, "status") + ["-s", WEB.lower()]
    result = run_agent(args)
    assert (result.rc, result.stdout.strip()) == (0, "Status: ON"), result


def test_plug_naming_another_server_than_switch_is_refused_before_any_power_request(clc, token_dir):
    """-n A -s B by hand (or pcmk_host_map plus a stray switch): plug is a
    server of the account, not switch's: fencing B would report A fenced."""
    other = "UC1ACCTWEB02"
    for action in ("off", "reboot", "on"):
        result = agent(clc, token_dir, action, plug=other, extra=["-s", WEB])
        assert_one_clear_error(result, "asked to fence server %s" % other,
                               "switch names server %s" % WEB, "pcmk_host_list")
    assert power_posts(clc) == []
    assert states(clc) == ["started"] and states(clc, other) == ["started"]


def test_switch_with_a_node_name_in_plug_reads_the_plug_only_before_power_requests(clc, token_dir):
    """Pacemaker's plug is the node name there: a warm status of switch's
    server stays one request; off first proves the name is no server (404),
    then fences switch's server."""
    agent(clc, token_dir, "status", plug=WEB, extra=["-s", WEB.lower()])
    clc.clear_requests()
    assert agent(clc, token_dir, "status", plug=WEB, extra=["-s", WEB.lower()]).rc == 0
    assert [(r["method"], r["path"]) for r in clc.requests()] == [
        ("GET", "/v2/servers/ACCT/" + WEB.lower())]

    clc.clear_requests()
    result = agent(clc, token_dir, "off", plug="node2", extra=["-s", WEB])
    assert (result.rc, result.stdout.strip()) == (0, "Success: Powered OFF"), result
    first = clc.requests()[0]
    assert (first["path"], first["status"]) == ("/v2/servers/ACCT/node2", 404)
    assert [(p["path"], p["body"]) for p in power_posts(clc)] == [
        ("/v2/operations/ACCT/servers/powerOff", [WEB])]


def test_switch_device_answers_status_only_for_its_own_server(clc, token_dir):
    """With pcmk_host_check=status Pacemaker uses a device for every node
    whose status it answers: a switch device must not answer for node2."""
    result = agent(clc, token_dir, "status", plug="node2", extra=["-s", WEB])
    assert_one_clear_error(result, "status of node2", "switch names server " + WEB, "pcmk_host_list")
    assert clc.requests() == []


def test_switch_with_a_plug_clc_cannot_check_sends_no_power_request(clc, token_dir):
    clc.add_fault("status", path="^/v2/servers/ACCT/node2$", status=403)
    result = agent(clc, token_dir, "off", plug="node2", extra=["-s", WEB])
    assert_one_clear_error(result, "cannot tell", "node2", WEB)
    assert power_posts(clc) == []


@pytest.mark.parametrize("action, line", [("list", "uc1acctweb01,UC1ACCTWEB01"),
                                          ("list-status", "uc1acctweb01,UC1ACCTWEB01,off")])
def test_list_with_switch_shows_only_that_server_from_one_read(clc, token_dir, action, line):
    """Pacemaker's dynamic-list uses a device for every node its list names
    (id or name, any case): a switch device must name only its own server."""
    clc.set_server(WEB, powerState="stopped")
    agent(clc, token_dir, "status")
    clc.clear_requests()
    result = agent(clc, token_dir, action, plug=None, extra=["-s", WEB])
    assert (result.rc, result.stdout) == (0, line + "\n"), result
    assert [(r["method"], r["path"]) for r in clc.requests()] == [("GET", "/v2/servers/ACCT/" + WEB)]


def test_account_option_reaches_a_sub_account(clc, token_dir):
    result = agent(clc, token_dir, "status", plug="UC1SUBAWEB01", extra=["-y", "SUBA"])
    assert (result.rc, result.stdout.strip()) == (0, "Status: ON"), result


# ---------------------------------------------------------------- list and monitor

def test_list_shows_every_server_of_the_account_in_few_requests(clc, token_dir):
    result = agent(clc, token_dir, "list", plug=None)
    assert result.rc == 0, result
    lines = result.stdout.split()
    assert "uc1acctweb01,UC1ACCTWEB01" in lines and "va1acctapp02,VA1ACCTAPP02" in lines
    assert not any("suba" in line for line in lines)
    gets = [r for r in clc.requests() if r["method"] == "GET"]
    assert len(gets) == 1 + 2  # data centers, then one detailed group tree per data center


def test_list_status_shows_power_states(clc, token_dir):
    clc.set_server("UC1ACCTDB01", powerState="stopped")
    clc.set_server("UC1ACCTWEB02", status="underConstruction", details=False)
    result = agent(clc, token_dir, "list-status", plug=None)
    assert result.rc == 0, result
    lines = set(result.stdout.split())
    assert {"uc1acctdb01,UC1ACCTDB01,off", "uc1acctweb01,UC1ACCTWEB01,on",
            "uc1acctweb02,UC1ACCTWEB02,UNKNOWN"} <= lines


def test_list_fails_loudly_when_a_group_cannot_be_read(clc, token_dir):
    clc.add_fault("status", path="^/v2/groups/", status=403)
    assert_one_clear_error(agent(clc, token_dir, "list", plug=None), "403")


def test_monitor_is_one_cheap_call_and_never_the_whole_account(clc, token_dir):
    agent(clc, token_dir, "status")
    clc.clear_requests()
    assert agent(clc, token_dir, "monitor").rc == 0
    assert [r["path"] for r in clc.requests()] == ["/v2/servers/ACCT/" + WEB]
    clc.clear_requests()
    assert agent(clc, token_dir, "monitor", plug=None).rc == 0
    assert [r["path"] for r in clc.requests()] == ["/v2/datacenters/ACCT"]


def test_monitor_fails_with_a_wrong_password(clc, token_dir):
    args = cli_args(clc, token_dir, WEB, "monitor", FAST)
    args[args.index(SENTINEL_PASSWORD)] = "wrong-password"
    assert_one_clear_error(run_agent(args), "username and password")


# ---------------------------------------------------------------- token cache

def token_files(token_dir):
    return [name for name in os.listdir(token_dir) if name.endswith(".token")]


def test_token_is_cached_0600_and_reused(clc, token_dir):
    agent(clc, token_dir, "status")
    agent(clc, token_dir, "status")
    assert len(logins(clc)) == 1
    (name,) = token_files(token_dir)
    assert os.stat(os.path.join(token_dir, name)).st_mode & 0o777 == 0o600


def test_revoked_token_gets_one_fresh_login_and_one_retry(clc, token_dir):
    agent(clc, token_dir, "status")
    clc.expire_tokens()
    clc.clear_requests()
    result = agent(clc, token_dir, "status")
    assert result.rc == 0, result
    assert [(r["path"], r["status"]) for r in clc.requests()] == [
        ("/v2/servers/ACCT/" + WEB, 401), ("/v2/authentication/login", 200),
        ("/v2/servers/ACCT/" + WEB, 200)]


def test_expired_token_in_the_cache_is_not_used(clc, token_dir):
    clc.configure(token_ttl=300)  # inside the agent's 10-minute safety margin, but valid for the run
    agent(clc, token_dir, "status")
    agent(clc, token_dir, "status")
    assert len(logins(clc)) == 2


def test_corrupt_cache_file_means_a_fresh_login(clc, token_dir):
    agent(clc, token_dir, "status")
    (name,) = token_files(token_dir)
    with open(os.path.join(token_dir, name), "w") as f:
        f.write("{not json")
    result = agent(clc, token_dir, "status")
    assert result.rc == 0 and not TRACEBACK.search(result.output), result
    assert len(logins(clc)) == 2
    with open(os.path.join(token_dir, name)) as f:
        assert json.load(f)["accountAlias"] == "ACCT"


def test_a_cache_file_of_the_wrong_mode_is_named_once_with_the_way_out(clc, token_dir):
    agent(clc, token_dir, "status")
    (name,) = token_files(token_dir)
    os.chmod(os.path.join(token_dir, name), 0o644)
    result = agent(clc, token_dir, "status")
    assert result.rc == 0, result
    warnings = [line for line in result.stderr.splitlines() if "token cache" in line]
    assert len(warnings) == 1, result
    assert "it is owned by root with mode 0644, but must be this user's (root) with mode 0600" in warnings[0]
    assert "- remove it, or set token_file=" in warnings[0] and "or none" in warnings[0]


def test_a_cache_directory_others_may_write_is_named_with_owner_and_mode(clc, token_dir):
    os.chmod(token_dir, 0o777)
    result = agent(clc, token_dir, "status")
    assert result.rc == 0, result
    (warning,) = [line for line in result.stderr.splitlines() if "token cache" in line]
    assert "%s is owned by root with mode 0777" % token_dir in warning, result
    assert "set token_file=" in warning and "none" in warning, result


def test_no_lock_file_is_left_behind_not_even_by_wrong_passwords(clc, token_dir):
    """A lock file per login tried (each password hashes to its own) and
    per server fenced would pile up in the cache directory."""
    for password in ("wrong-1", "wrong-2"):
        args = cli_args(clc, token_dir, WEB, "status", FAST)
        args[args.index(SENTINEL_PASSWORD)] = password
        assert run_agent(args).rc == 1
    assert agent(clc, token_dir, "reboot").rc == 0
    assert [name for name in os.listdir(token_dir) if name.endswith(".lock")] == []
    assert len(token_files(token_dir)) == 1


def test_token_file_none_disables_the_cache(clc, token_dir):
    for _ in range(2):
        assert agent(clc, token_dir, "status", extra=["--token-file", "none"]).rc == 0
    assert len(logins(clc)) == 2
    assert os.listdir(token_dir) == []


def test_a_changed_password_does_not_reuse_the_old_token(clc, token_dir):
    agent(clc, token_dir, "status")
    args = cli_args(clc, token_dir, WEB, "status", FAST)
    args[args.index(SENTINEL_PASSWORD)] = "not-the-password"
    assert_one_clear_error(run_agent(args), "rejected the login")


# ---------------------------------------------------------------- errors an admin meets

def test_missing_password_is_a_usage_error(clc, token_dir):
    result = run_agent(["-o", "status", "--api-url", clc.url, "-l", USERNAME, "-n", WEB])
    assert result.rc == 1 and "password" in result.stderr and not TRACEBACK.search(result.output)


def test_wrong_password(clc, token_dir):
    args = cli_args(clc, token_dir, WEB, "off", FAST)
    args[args.index(SENTINEL_PASSWORD)] = "wrong"
    assert_one_clear_error(run_agent(args), "rejected the login", "password")
    assert power_posts(clc) == []


def test_unknown_server(clc, token_dir):
    assert_one_clear_error(agent(clc, token_dir, "off", plug="UC1NOSUCH01"), "not found", "plug")


def test_a_node_name_as_plug_gets_a_hint_at_pcmk_host_map(clc, token_dir):
    """Pacemaker passes the node name as plug when no pcmk_host_map maps it."""
    result = run_agent(stdin=stdin_params(clc, token_dir, plug="web01", action="off"),
                       pacemaker=True)
    assert_one_clear_error(result, "server web01 not found", "pcmk_host_map=web01:",
                           "a cluster node's name")


# ---------------------------------------------------------------- missing_as_off (opt-in)

@pytest.mark.parametrize("action, extra, rc, shown", [
    ("status", [], 2, "Status: OFF"),
    ("off", [], 0, "Success: Already OFF"),
    ("reboot", [], 0, "Success: Rebooted"),
    ("reboot", ["-m", "cycle"], 0, "Success: Rebooted")])
def test_missing_as_off_makes_a_deleted_server_off_without_power_requests(clc, token_dir, action,
                                                                          extra, rc, shown):
    """A VM deleted in CLC can be fenced (else its node stays UNCLEAN until
    stonith_admin --confirm): only with missing_as_off, and nothing is sent."""
    result = agent(clc, token_dir, action, plug="UC1NOSUCH01", extra=["--missing-as-off"] + extra)
    assert (result.rc, result.stdout.strip()) == (rc, shown), result
    assert result.error_lines() == [] and not TRACEBACK.search(result.output)
    assert "UC1NOSUCH01 not found" in result.stderr
    if action == "reboot":
        assert "nothing to power on" in result.stderr
    assert power_posts(clc) == []


@pytest.mark.parametrize("action", ["status", "off", "reboot"])
def test_without_missing_as_off_a_deleted_server_is_an_error(clc, token_dir, action):
    """missing_as_off=0 on stdin (kept as "0" by the library) is off, too."""
    params = stdin_params(clc, token_dir, plug="UC1NOSUCH01", action=action, missing_as_off="0")
    assert_one_clear_error(run_agent(stdin=params, pacemaker=True), "not found")
    assert power_posts(clc) == []


@pytest.mark.parametrize("action", ["monitor", "on"])
def test_missing_as_off_never_passes_monitor_or_on(clc, token_dir, action):
    """A typo'd server id must fail when the device starts, not look off."""
    params = stdin_params(clc, token_dir, plug="UC1NOSUCH01", action=action, missing_as_off="1")
    assert_one_clear_error(run_agent(stdin=params, pacemaker=True), "not found")
    assert power_posts(clc) == []


def test_missing_as_off_on_stdin_is_accepted_and_leaves_existing_servers_alone(clc, token_dir):
    params = stdin_params(clc, token_dir, plug=WEB, action="validate-all", missing_as_off="1")
    result = run_agent(stdin=params, pacemaker=True)
    assert result.rc == 0 and "missing_as_off" not in result.stderr, result
    params["action"] = "off"
    assert run_agent(stdin=params, pacemaker=True).rc == 0
    assert len(power_posts(clc, "powerOff")) == 1 and clc.server(WEB)["powerState"] == "stopped"


def test_unknown_account(clc, token_dir):
    assert_one_clear_error(agent(clc, token_dir, "status", extra=["-y", "NOPE"]), "account")


def test_api_unreachable(token_dir):
    url = closed_port_url()
    result = run_agent(["-o", "status", "--api-url", url, "-l", USERNAME, "-p", SENTINEL_PASSWORD,
                        "-n", WEB, "--token-file", "none"] + FAST)
    assert_one_clear_error(result, "cannot connect", "api_url")


def test_dns_failure(token_dir):
    result = run_agent(["-o", "status", "--api-url", "https://clc-api.invalid", "-l", USERNAME,
                        "-p", SENTINEL_PASSWORD, "-n", WEB, "--token-file", "none"] + FAST)
    assert_one_clear_error(result, "resolve", "DNS")


class RefusingProxy(object):
    """An HTTP proxy on loopback that answers every request, CONNECT too,
    with 403 Forbidden (as a proxy whose ACL does not allow the API)."""

    def __init__(self):
        import socket
        import threading
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.url = "http://127.0.0.1:%d" % self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                client = self.listener.accept()[0]
            except OSError:
                return
            with client:
                client.recv(65536)
                client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n"
                               b"Connection: close\r\n\r\n")

    def close(self):
        self.listener.close()


def test_a_proxy_that_refuses_the_api_says_what_to_check(clc_tls, token_dir):
    """The CONNECT of an https API refused (a proxy's 403 to a plain-http
    request cannot be told from CLC's own)."""
    sim = clc_tls
    proxy = RefusingProxy()
    try:
        result = agent(sim, token_dir, "status", extra=["--proxy", proxy.url])
    finally:
        proxy.close()
    assert_one_clear_error(result, "proxy %s refused" % proxy.url, "403",
                           "- check that the proxy lets this host reach")
    assert sim.requests() == []


def test_https_to_a_plain_http_port_says_so(clc, token_dir):
    result = run_agent(["-o", "status", "--api-url", clc.url.replace("http:", "https:"),
                        "-l", USERNAME, "-p", SENTINEL_PASSWORD, "-n", WEB,
                        "--token-file", "none"] + FAST)
    assert_one_clear_error(result, "TLS handshake with 127.0.0.1:%d failed" % clc.port,
                           "- check that api_url's port speaks HTTPS")


def test_proxy_refused(clc, token_dir):
    proxy = closed_port_url()
    result = agent(clc, token_dir, "status", extra=["--proxy", proxy])
    assert_one_clear_error(result, "proxy")
    assert clc.requests() == []


def test_api_hang_ends_within_its_timeouts_under_pacemaker(clc, token_dir):
    """pacemaker-fenced makes the library zero its timeouts; ours still hold."""
    clc.add_fault("hang", path="^/v2/servers/")
    result = agent(clc, token_dir, "status", extra=["--shell-timeout", "1", "--power-timeout", "3"],
                   pacemaker=True)
    assert_one_clear_error(result, "no answer")
    assert result.seconds < 8


def test_a_hanging_api_is_reported_in_the_options_the_admin_set(clc, token_dir):
    """How many requests went unanswered, after which option, and what to check."""
    clc.add_fault("hang", path="^/v2/servers/")
    result = agent(clc, token_dir, "off", extra=["--shell-timeout", "2", "--power-timeout", "5"],
                   pacemaker=True)
    assert_one_clear_error(result, "no answer from the CLC API at 127.0.0.1:%d within" % clc.port,
                           "2 requests for the status of server %s" % WEB,
                           "each given up after shell_timeout (2 s)",
                           "power_timeout (5 s) left no time for another",
                           "- check that the API is up and that this host reaches it")


def test_a_hanging_api_with_attempts_spent_before_the_deadline(clc, token_dir):
    clc.add_fault("hang", path="^/v2/servers/")
    result = agent(clc, token_dir, "status", extra=["--shell-timeout", "1", "--power-timeout", "30"])
    assert_one_clear_error(result, "4 requests for the status of server %s" % WEB,
                           "each given up after 1 s", "gave up after 4 attempts")


# Pacemaker runs a fence device's monitor (and a probe) under its default
# operation timeout, 20 s, and kills the agent then: its own line is lost.
PACEMAKER_OPERATION_TIMEOUT = 20


@pytest.mark.parametrize("timeouts", [{}, {"monitor_timeout": "0", "power_timeout": "0"}],
                         ids=["defaults", "zero-means-default"])
def test_monitor_on_a_hanging_api_ends_inside_pacemakers_operation_timeout(clc, token_dir,
                                                                           timeouts):
    """With the default timeouts, as the fencer runs it (timeouts zeroed)."""
    clc.add_fault("hang", path="^/v2/")
    result = run_agent(stdin=stdin_params(clc, token_dir, action="monitor", **timeouts),
                       pacemaker=True, timeout=90)
    assert_one_clear_error(result, "no answer", "within 15 s", "given up at the end of the action's deadline (15 s)",
                           "- check that the API is up")
    # Pacemaker 2.0 reads "timed out" or "timeout" in a failed agent's output
    # as a timeout of its own (op status Timed Out), whoever ended the run.
    assert not re.search("timed out|timeout", result.stderr, re.IGNORECASE), result
    # Pacemaker retries a failed monitor only when it failed within 70 % of
    # the operation timeout: one that hangs again would then be killed.
    assert 0.7 * PACEMAKER_OPERATION_TIMEOUT < result.seconds < PACEMAKER_OPERATION_TIMEOUT - 3


@pytest.mark.parametrize("action, plug", [("list", None), ("list-status", None), ("status", WEB)])
def test_list_and_status_on_their_own_end_at_monitor_timeout(clc, token_dir, action, plug):
    clc.add_fault("hang", path="^/v2/")
    result = run_agent(stdin=stdin_params(clc, token_dir, plug=plug, action=action,
                                          monitor_timeout="3"), pacemaker=True, timeout=90)
    assert_one_clear_error(result, "no answer", "within 3 s")
    assert result.seconds < 3 + 1 + 1, result


def test_off_keeps_power_timeout_when_it_outlasts_monitor_timeout(clc, token_dir):
    """The status read inside off (and the whole off) runs under power_timeout."""
    clc.configure(op_duration=4.0)
    result = run_agent(stdin=stdin_params(clc, token_dir, plug=WEB, action="off",
                                          monitor_timeout="2", power_timeout="10"), pacemaker=True)
    assert (result.rc, result.stdout.strip()) == (0, "Success: Powered OFF"), result
    assert clc.server(WEB)["powerState"] == "stopped"


@pytest.mark.parametrize("value", ["abc", "-5", "1.5"])
def test_validate_all_refuses_a_monitor_timeout_that_is_not_whole_seconds(clc, token_dir, value):
    result = run_agent(stdin=stdin_params(clc, token_dir, plug=WEB, action="validate-all",
                                          monitor_timeout=value))
    assert_one_clear_error(result, "monitor_timeout", value)
    assert clc.requests() == []


def test_malformed_json(clc, token_dir):
    clc.add_fault("malformed", path="^/v2/servers/")
    assert_one_clear_error(agent(clc, token_dir, "status"), "not JSON",
                           "- check that api_url is the CLC API")


@pytest.mark.parametrize("action, path", [("status", "^/v2/servers/"),
                                          ("off", "/servers/powerOff")])
def test_a_503_that_persists_says_what_to_do(clc, token_dir, action, path):
    clc.add_fault("status", path=path, status=503)
    assert_one_clear_error(agent(clc, token_dir, action), "HTTP 503",
                           "- CLC is failing or overloaded", "check CLC's status")
    assert clc.server(WEB)["powerState"] == "started"


def test_transient_503_on_a_read_is_retried(clc, token_dir):
    clc.add_fault("status", path="^/v2/servers/", status=503, count=2)
    result = agent(clc, token_dir, "status")
    assert (result.rc, result.stdout.strip()) == (0, "Status: ON"), result


def test_429_retry_after_is_honoured(clc, token_dir):
    clc.add_fault("status", path="^/v2/servers/", status=429, retry_after=1, count=1)
    result = agent(clc, token_dir, "status")
    assert result.rc == 0, result
    reads = [r for r in clc.requests() if r["path"].startswith("/v2/servers/")]
    assert reads[1]["time"] - reads[0]["time"] >= 0.9


def test_persistent_500_fails_after_bounded_retries(clc, token_dir):
    clc.add_fault("status", path="^/v2/servers/", status=500)
    assert_one_clear_error(agent(clc, token_dir, "status"), "500")
    assert len([r for r in clc.requests() if r["path"].startswith("/v2/servers/")]) == 4


# ---------------------------------------------------------------- TLS

def tls_args(sim, token_dir, extra=()):
    return ["-o", "status", "--api-url", sim.url, "-l", USERNAME, "-p", SENTINEL_PASSWORD,
            "-n", WEB, "--token-file", os.path.join(token_dir, "[hash].token")] + FAST + list(extra)


def test_tls_is_verified_by_default(clc_tls, token_dir):
    assert_one_clear_error(run_agent(tls_args(clc_tls, token_dir)), "not trusted", "cacert")
    assert clc_tls.requests() == []


def test_tls_with_the_ca_trusted(clc_tls, token_dir):
    result = run_agent(tls_args(clc_tls, token_dir, ["--cacert", clc_tls.ca_file]))
    assert (result.rc, result.stdout.strip()) == (0, "Status: ON"), result


def test_tls_insecure_when_asked(clc_tls, token_dir):
    result = run_agent(tls_args(clc_tls, token_dir, ["--ssl-insecure"]))
    assert result.rc == 0, result


def test_tls_through_a_proxy_tunnel_is_verified_end_to_end(clc_tls, token_dir, loopback_proxy):
    args = tls_args(clc_tls, token_dir, ["--cacert", clc_tls.ca_file, "-x", loopback_proxy.url,
                                         "-o", "off"])
    result = run_agent(args)
    assert (result.rc, result.stdout.strip()) == (0, "Success: Powered OFF"), result
    assert clc_tls.server(WEB)["powerState"] == "stopped"
    with open(loopback_proxy.access_log) as log:
        assert "CONNECT 127.0.0.1:%d" % clc_tls.port in log.read()


# ---------------------------------------------------------------- secrets

def test_no_secret_in_any_output_debug_file_or_log(clc, token_dir, tmp_path):
    debug = str(tmp_path / "debug.log")
    outputs = []
    for action, extra in [("status", []), ("off", []), ("reboot", ["-m", "cycle"]),
                          ("list", []), ("monitor", [])]:
        clc.expire_tokens() if action == "list" else None  # force a re-login mid-way
        result = agent(clc, token_dir, action, extra=["-vvv", "-D", debug] + extra, debug_file=debug)
        assert result.rc == 0, result
        outputs += [result.stdout, result.stderr, result.debug_text]
    assert "Authorization" not in "".join(outputs)
    assert secrets_found(outputs, [SENTINEL_PASSWORD] + clc.issued_tokens()) == []
    assert any("GET " in text for text in outputs)  # the debug log does show requests


def test_verbose_shows_what_clc_answered_and_the_time_left(clc_tls, token_dir, loopback_proxy):
    """-v: each request with its proxy and the time left on the action's
    deadline, the server's power state and status, the operation's status."""
    clc_tls.configure(op_duration=1.0)
    proxy = loopback_proxy.url.replace("http://", "http://proxyuser:%s@" % SENTINEL_PASSWORD)
    result = run_agent(cli_args(clc_tls, token_dir, WEB, "off", FAST + ["-v", "-x", proxy]))
    assert result.rc == 0, result
    assert re.search(r"GET https://127\.0\.0\.1:%d/v2/servers/ACCT/%s -> 200 in [\d.]+ s via proxy "
                     r"http://\*\*\*@127\.0\.0\.1:\d+ \([\d.]+ s left of the action's 5 s\)"
                     % (clc_tls.port, WEB), result.stderr), result
    assert "server %s: powerState started, status active" % WEB in result.stderr, result
    assert "server %s: powerState stopped, status active" % WEB in result.stderr, result
    assert re.search(r"operation status of powerOff for server %s: (notStarted|executing)" % WEB,
                     result.stderr), result
    assert "operation status of powerOff for server %s: succeeded" % WEB in result.stderr, result
    assert secrets_found([result.stderr], [SENTINEL_PASSWORD] + clc_tls.issued_tokens()) == []


def test_more_verbose_levels_add_the_answers_headers_without_secrets(clc, token_dir):
    one = agent(clc, token_dir, "status", extra=["-v"])
    three = agent(clc, token_dir, "status", extra=["-vvv"])
    assert "answer headers:" not in one.stderr and "answer headers:" in three.stderr, three
    assert "content-type: application/json" in three.stderr.lower(), three
    assert secrets_found([three.stderr], [SENTINEL_PASSWORD] + clc.issued_tokens()) == []


def test_a_debug_file_alone_gets_the_verbose_lines_and_stderr_stays_quiet(clc, token_dir, tmp_path):
    debug = str(tmp_path / "debug.log")
    result = agent(clc, token_dir, "status", extra=["-D", debug], debug_file=debug)
    assert (result.rc, result.stdout.strip()) == (0, "Status: ON"), result
    assert "GET " in result.debug_text and "powerState started" in result.debug_text, result
    assert " DEBUG: " not in result.stderr and " INFO: " not in result.stderr, result


# ---------------------------------------------------------------- offline actions

def test_metadata_equals_the_checked_in_copy_and_validates(tmp_path):
    result = run_agent(["-o", "metadata"])
    with open(os.path.join(REPO, "tests", "data", "metadata", "fence_clc.xml")) as f:
        assert result.stdout == f.read()
    xml = tmp_path / "meta.xml"
    xml.write_text(result.stdout)
    subprocess.run(["xmllint", "--noout", "--relaxng", "/usr/share/cluster/relaxng/metadata.rng",
                    str(xml)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.parametrize("extra, rc", [([], 0), (["--api-url", "ftp://x"], 1),
                                       (["--cacert", "/nonexistent.pem"], 1)])
def test_validate_all_checks_options_without_network(clc, token_dir, extra, rc):
    result = run_agent(cli_args(clc, token_dir, WEB, "validate-all", extra))
    assert result.rc == rc and not TRACEBACK.search(result.output), result
    assert clc.requests() == [] and os.listdir(token_dir) == []


@pytest.mark.parametrize("plug, switch, named", [("node/2", WEB, "plug 'node/2'"),
                                                 ("node2", "UC1/../x", "switch 'UC1/../x'"),
                                                 ("node2,node3", WEB, "one plug")])
def test_validate_all_checks_plug_and_switch_each(clc, token_dir, plug, switch, named):
    result = run_agent(cli_args(clc, token_dir, plug, "validate-all", ["-s", switch]))
    assert_one_clear_error(result, named)
    assert clc.requests() == []


def help_texts(usage):
    """{long option: its text} of -h's output (continuation lines joined)."""
    texts = {}
    for entry in re.split(r"\n   (?=-)", usage.split("Options:\n", 1)[1]):
        option = re.search(r"--([a-z-]+)", entry).group(1)
        texts[option] = " ".join(entry.split())
    return texts


def test_help_says_what_0_means_and_which_options_are_ignored():
    result = run_agent(["-h"])
    assert result.rc == 0, result
    texts = help_texts(result.stdout)
    assert "(0: " not in result.stdout
    for option, default in (("login-timeout", 10), ("shell-timeout", 20),
                            ("power-timeout", 60), ("monitor-timeout", 15)):
        assert "(default %d; 0 means the default)" % default in texts[option], texts[option]
    assert "whole action" in texts["power-timeout"]
    assert "overrides plug" in texts["switch"] and "pcmk_host_map" in texts["switch"]
    assert "not needed" in texts["plug"]
    for option in ("stonith-status-sleep", "disable-timeout"):
        assert "Ignored:" in texts[option], texts[option]


def test_version_is_the_agents():
    result = run_agent(["-V"])
    assert result.rc == 0 and result.stdout.strip()[0].isdigit()
    with open(os.path.join(REPO, "fence_clc")) as f:
        assert 'RELEASE_VERSION = "%s"' % result.stdout.strip() in f.read()


def test_a_misspelt_stdin_parameter_never_shows_its_value(clc, token_dir):
    """The library logs ignored stdin lines whole; a 'pasword=' typo must not leak."""
    params = stdin_params(clc, token_dir, plug=WEB, action="status")
    params["pasword"] = SENTINEL_PASSWORD
    result = run_agent(stdin=params, pacemaker=True)
    assert result.rc == 0, result
    assert "pasword" in result.stderr and SENTINEL_PASSWORD not in result.output


def test_each_log_line_appears_once_after_a_stdin_warning(clc, token_dir):
    params = stdin_params(clc, token_dir, plug="UC1NOSUCH01", action="status",
                          pcmk_host_list="node1")
    result = run_agent(stdin=params, pacemaker=True)
    assert result.rc == 1, result
    lines = result.stderr.splitlines()
    assert len(result.error_lines()) == 1 and len(lines) == len(set(l.split(" ", 2)[2] for l in lines))


@pytest.mark.parametrize("fault", [
    {"kind": "status", "status": 503, "count": 1},
    {"kind": "status", "status": 429, "retry_after": 0, "count": 1}])
def test_refused_reset_is_sent_again_because_a_running_server_proves_nothing(clc, token_dir, fault):
    clc.add_fault(path="/servers/reset", **fault)
    result = agent(clc, token_dir, "reboot", extra=["-m", "cycle"])
    assert result.rc == 0, result
    assert [p["status"] for p in power_posts(clc)] == [fault["status"], 200]
    assert states(clc)[-2:] == ["stopped", "started"]


@pytest.mark.parametrize("fault", [{"kind": "status", "status": 500},
                                   {"kind": "reset", "after_headers": True}])
def test_reset_of_unknown_fate_is_an_error_not_a_reboot(clc, token_dir, fault):
    clc.add_fault(path="/servers/reset", count=1, **fault)
    result = agent(clc, token_dir, "reboot", extra=["-m", "cycle"])
    assert_one_clear_error(result, "cannot be confirmed")
    assert len(power_posts(clc)) == 1


def test_reset_not_queued_is_an_error_even_though_the_server_runs(clc, token_dir):
    clc.set_server(WEB, inMaintenanceMode=True)
    assert_one_clear_error(agent(clc, token_dir, "reboot", extra=["-m", "cycle"]), "maintenance")


def test_power_request_cut_before_any_answer_is_sent_once(clc, token_dir):
    """libcurl re-sends a request by itself when a reused keep-alive
    connection dies before answering; a power POST must not ride on one."""
    clc.add_fault("reset", path="/servers/powerOff", count=1)
    result = agent(clc, token_dir, "off", extra=["--power-timeout", "2"])
    assert_one_clear_error(result, "not sent again on purpose")
    assert len(power_posts(clc)) == 1
    assert clc.server(WEB)["powerState"] == "started"


@pytest.mark.parametrize("option", [["-n", "sérvér"], ["-n", "UC1/../x"], ["-y", "AC CT"],
                                    ["-s", "a?b"], ["--api-url", "http://clc-äpi"]])
def test_names_that_would_change_the_url_are_refused_clearly(clc, token_dir, option):
    result = run_agent(cli_args(clc, token_dir, WEB, "status", option))
    assert_one_clear_error(result, "not a")
    assert clc.requests() == []


def test_status_link_to_another_host_is_followed_on_the_configured_api(clc, token_dir):
    """CLC's links are followed by their path: the token never leaves api_url's host."""
    url = closed_port_url()  # nothing listens there
    clc.add_fault("body", path="/servers/powerOff", count=1, body=json.dumps([{
        "server": WEB.lower(), "isQueued": True,
        "links": [{"rel": "status", "href": url + "/v2/operations/acct/status/uc1-1"}]}]))
    result = agent(clc, token_dir, "off", extra=["--power-timeout", "3"])
    assert not TRACEBACK.search(result.output), result
    assert any(r["path"] == "/v2/operations/acct/status/uc1-1" for r in clc.requests())


def test_reboot_whose_power_on_fails_still_fences_and_says_why(clc, token_dir):
    """As for every agent: the node is off, so the reboot counts; the failed
    power-on is logged with CLC's reason."""
    clc.add_fault("op_fail", path="/servers/powerOn")
    result = agent(clc, token_dir, "reboot")
    assert (result.rc, result.stdout.strip()) == (0, "Success: Rebooted"), result
    assert "powerOn of server %s failed" % WEB in result.stderr
    assert clc.server(WEB)["powerState"] == "stopped"


def test_a_reboot_ends_within_one_power_timeout(clc, token_dir):
    """One deadline per action: a slow off and a stuck on share power_timeout
    (README: a reboot ends within power_timeout + 1 s); the node was fenced."""
    clc.configure(record_lag=2.0)
    clc.add_fault("op_stuck", path="/servers/powerOn")
    result = agent(clc, token_dir, "reboot", extra=["--power-timeout", "3"], pacemaker=True)
    assert (result.rc, result.stdout.strip()) == (0, "Success: Rebooted"), result
    assert clc.server(WEB)["powerState"] == "stopped"
    assert result.seconds < 3 + 1 + 0.8, result


def test_a_huge_timeout_is_capped_not_an_internal_error(clc, token_dir):
    result = agent(clc, token_dir, "status", extra=["--login-timeout", "99999999999999999"])
    assert (result.rc, result.stdout.strip()) == (0, "Status: ON"), result


def test_a_closed_stdin_gives_a_usage_error_not_an_internal_error():
    proc = subprocess.run([os.path.join(REPO, "fence_clc")], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=30,
                          preexec_fn=lambda: os.close(0))
    assert proc.returncode == 1, proc
    assert "internal error" not in proc.stderr and not TRACEBACK.search(proc.stderr), proc
