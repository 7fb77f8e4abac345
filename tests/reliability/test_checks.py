"""The judge judged: the checks behind the matrix's totals catch what they
claim to catch (a check that cannot fail would make every total 0)."""

from agentrun import AgentResult

from . import checks

POST_OFF = {"method": "POST", "path": "/v2/operations/ACCT/servers/powerOff"}
POST_RESET = {"method": "POST", "path": "/v2/operations/ACCT/servers/reset"}
GET_SERVER = {"method": "GET", "path": "/v2/servers/ACCT/UC1ACCTWEB01", "status": 200}
STARTED = {"powerState": "started", "status": "active", "power_history": [[0, "started"]]}
STOPPED = {"powerState": "stopped", "status": "active", "power_history": [[0, "stopped"]]}


def result(rc=0, stdout="", stderr="", debug=""):
    return AgentResult(rc, stdout, stderr, 0.1, debug)


def posts(*entries):
    return [dict(entry, status=status) for entry, status in entries]


def test_a_post_accepted_twice_is_a_duplicate():
    assert checks.audit_posts(posts((POST_OFF, 200), (POST_OFF, 200))) == (1, 0)


def test_a_post_after_an_unknown_fate_is_a_duplicate_even_after_a_read():
    log = posts((POST_OFF, None)) + [GET_SERVER] + posts((POST_OFF, 200))
    assert checks.audit_posts(log) == (1, 0)


def test_a_refused_post_re_sent_after_a_read_is_by_design():
    log = posts((POST_OFF, 503)) + [GET_SERVER] + posts((POST_OFF, 200))
    assert checks.audit_posts(log) == (0, 1)


def test_a_refused_power_off_needs_a_read_before_it_is_re_sent():
    assert checks.audit_posts(posts((POST_OFF, 429), (POST_OFF, 200))) == (1, 0)


def test_a_refused_reset_may_be_re_sent_at_once():
    assert checks.audit_posts(posts((POST_RESET, 503), (POST_RESET, 200))) == (0, 1)


def test_status_off_for_a_running_server_is_a_false_off():
    servers = {"uc1acctweb01": STARTED}
    lie = result(2, "Status: OFF\n")
    assert checks.false_off("status", lie, "UC1ACCTWEB01", servers, servers, 0)
    stopped = {"uc1acctweb01": STOPPED}
    assert not checks.false_off("status", lie, "UC1ACCTWEB01", stopped, stopped, 0)


def test_success_of_off_or_reboot_needs_a_real_stop():
    servers = {"uc1acctweb01": STARTED}
    assert checks.false_off("off", result(0, "Success: Powered OFF\n"), "UC1ACCTWEB01",
                            servers, servers, 0)
    assert checks.false_off("reboot-cycle", result(0, "Success: Rebooted\n"), "UC1ACCTWEB01",
                            servers, servers, 0)
    cycled = dict(STARTED, power_history=[[0, "started"], [5, "stopped"], [6, "started"]])
    assert not checks.false_off("reboot-cycle", result(0, "Success: Rebooted\n"),
                                "UC1ACCTWEB01", servers, {"uc1acctweb01": cycled}, 1)


def test_list_status_off_for_a_running_server_is_a_false_off():
    servers = {"uc1acctweb01": STARTED, "uc1acctweb02": STOPPED}
    honest = result(0, "uc1acctweb01,UC1ACCTWEB01,on\nuc1acctweb02,UC1ACCTWEB02,off\n")
    lying = result(0, "uc1acctweb01,UC1ACCTWEB01,off\n")
    assert not checks.false_off("list-status", honest, "x", servers, servers, 0)
    assert checks.false_off("list-status", lying, "x", servers, servers, 0)


def test_a_token_is_found_by_its_signature_and_headers_by_their_name():
    token = "eyJhbGciOi.eyJleHAiOjF9.c2lnbmF0dXJl"
    assert checks.leaked(["cut: ...c2lnbmF0dXJl"], [token]) == [token]
    assert checks.leaked(["Authorization: x"], []) == ["Authorization:"]
    assert checks.leaked(["nothing here"], [token, "Sentinel"]) == []


def test_a_traceback_or_an_internal_error_is_a_crash():
    assert checks.crashed(result(1, debug="Traceback (most recent call last):\n"))
    assert checks.crashed(result(1, stderr="ERROR: Failed: internal error in fence_clc: X"))
    assert checks.crashed(result(1, stderr='  File "fence_clc", line 9\n    )\nSyntaxError: x'))
    assert not checks.crashed(result(1, stderr="ERROR: Failed: no answer"))
