"""Status: what the agent reports for a server's power state, and when it refuses to say OFF.

Real agent processes against the CLC simulator over real HTTP(S). The cases
taking the `hostile` fixture came from a hostile review: each run is also
judged as the reliability matrix judges it and counted in its totals."""

import json

import pytest

from agentrun import TRACEBACK, WEB, agent, assert_one_clear_error, run_agent, stdin_params
from reliability.catalogue import SERVER
from reliability.hostile import says_off
from support import power_posts


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


# ---------------------------------------------------------------- switch

def test_switch_device_answers_status_only_for_its_own_server(clc, token_dir):
    """With pcmk_host_check=status Pacemaker uses a device for every node
    whose status it answers: a switch device must not answer for node2."""
    result = agent(clc, token_dir, "status", plug="node2", extra=["-s", WEB])
    assert_one_clear_error(result, "status of node2", "switch names server " + WEB, "pcmk_host_list")
    assert clc.requests() == []


# ---------------------------------------------------------------- unknown servers

def test_unknown_server(clc, token_dir):
    assert_one_clear_error(agent(clc, token_dir, "off", plug="UC1NOSUCH01"), "not found", "plug")


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


# ---------------------------------------------------------------- a record of another server

@pytest.mark.parametrize("record_id", ["uc1acctweb02", None, 42])
def test_a_record_of_another_server_is_an_error_not_a_state(clc, hostile, record_id):
    record = {"name": "UC1ACCTWEB02", "status": "active", "details": {"powerState": "stopped"}}
    if record_id is not None:
        record["id"] = record_id
    clc.add_fault("body", path=SERVER, method="GET", body=json.dumps(record))
    result = hostile.run(hostile.params(clc, "status"), false_off=says_off)
    assert_one_clear_error(result, WEB)
    hostile.assert_sane()
    assert not hostile.tally.false_off
