"""Listing and monitoring: list, list-status and monitor, and what they read.

Real agent processes against the CLC simulator over real HTTP(S). The cases
taking the `hostile` fixture came from a hostile review: each run is also
judged as the reliability matrix judges it and counted in its totals."""

import json
import re

import pytest

from agentrun import (FAST_ARGS, SENTINEL_PASSWORD, WEB, agent, agent_env, assert_one_clear_error,
                      cli_args, run_agent)
from clcsim.client import SimClient
from reliability import checks


# ---------------------------------------------------------------- switch

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
    args = cli_args(clc, token_dir, WEB, "monitor", FAST_ARGS)
    args[args.index(SENTINEL_PASSWORD)] = "wrong-password"
    assert_one_clear_error(run_agent(args), "username and password")


# ---------------------------------------------------------------- what is read

def test_monitor_with_several_plugs_checks_each(clc, hostile):
    result = hostile.run(hostile.params(clc, "monitor", plug=WEB + ",UC1ACCTWEB02"))
    assert result.rc == 0, result
    paths = [r["path"] for r in clc.requests() if r["path"].startswith("/v2/servers/")]
    assert paths == ["/v2/servers/ACCT/" + WEB, "/v2/servers/ACCT/UC1ACCTWEB02"]
    result = hostile.run(hostile.params(clc, "monitor", plug=WEB + ",UC1ACCTGONE01"))
    assert_one_clear_error(result, "not found")
    hostile.assert_sane()


def va1_group_path(sim):
    client = SimClient(sim)
    client.login()
    for dc in client.get("/v2/datacenters/ACCT?groupLinks=true").json():
        for link in dc["links"]:
            if link["rel"] == "group" and dc["id"] == "va1":
                return link["href"]
    raise AssertionError("no va1 group")


def test_list_status_calls_an_id_unknown_when_its_copies_disagree(clc, hostile):
    stopped_copy = {"id": "va1-root", "name": "VA1", "groups": [], "servers": [
        {"id": WEB.lower(), "name": WEB, "status": "active", "details": {"powerState": "stopped"}}]}
    clc.add_fault("body", path="^" + re.escape(va1_group_path(clc)) + "$",
                  body=json.dumps(stopped_copy))

    def lies(result):
        return WEB.lower() in checks.off_lines(result.stdout)
    result = hostile.run(hostile.params(clc, "list-status", plug=None), false_off=lies)
    assert result.rc == 0, result
    assert "%s,%s,UNKNOWN" % (WEB.lower(), WEB) in result.stdout.split(), result
    hostile.assert_sane()
    assert not hostile.tally.false_off


@pytest.mark.parametrize("action", ["list", "list-status"])
def test_list_with_an_ascii_stdout_keeps_every_line_and_id_exact(clc, hostile, action):
    """RHEL 8's Python 3.6 writes ASCII under the C locale: the library then
    printed b'...' (a wrong target for Pacemaker) or failed. A name that
    cannot be written is escaped; an id never is; a name never breaks a line."""
    clc.set_server(WEB, name="Wéb sérveur \u2603")
    clc.set_server("UC1ACCTWEB02", name="evil\nuc1acctdb01,UC1ACCTDB01")
    env = agent_env(True, {"PYTHONIOENCODING": "ascii", "LC_ALL": "C", "LANG": "C"})
    result = hostile.run(hostile.params(clc, action, plug=None), env=env)
    assert result.rc == 0 and "b'" not in result.stdout, result
    lines = result.stdout.splitlines()
    ids = [line.split(",", 1)[0] for line in lines]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 7, result  # ACCT's servers, once each
    web = [line for line in lines if line.startswith(WEB.lower() + ",")]
    assert web and web[0].startswith(WEB.lower() + ",W\\xe9b s\\xe9rveur \\u2603"), result
    hostile.assert_sane()
