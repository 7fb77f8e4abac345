"""Every fault kind of the simulator, its limits, and the /_sim/ control endpoints."""

import http.client
import socket
import threading
import time

import pytest

from clcsim.client import SimClient
from support import wait_until

LOGIN = "/v2/authentication/login"
CREDENTIALS = {"username": "admin@acct", "password": "s3cret-Passw0rd"}




def statuses(sim):
    return [(entry["path"], entry["status"], entry["fault"]) for entry in sim.requests()]


# -- status codes --------------------------------------------------------------

def test_status_fault_with_default_clc_style_body(api, sim):
    sim.add_fault("status", path="/v2/servers/", status=500)
    reply = api.server("UC1ACCTWEB01")
    assert (reply.status, reply.json()) == (500, {"message": "An error has occurred."})
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    assert api.get("/v2/datacenters/ACCT").status == 200  # other paths unaffected
    assert sim.requests()[-2]["fault"] == "status"


def test_429_carries_retry_after(api, sim):
    sim.add_fault("status", status=429, retry_after=7)
    reply = api.server("UC1ACCTWEB01")
    assert reply.status == 429 and reply.headers["Retry-After"] == "7"
    assert "message" in reply.json()


def test_status_fault_with_custom_body_sent_as_is(api, sim):
    sim.add_fault("status", status=503, body="Service Unavailable")
    reply = api.server("UC1ACCTWEB01")
    assert (reply.status, reply.data) == (503, b"Service Unavailable")


def test_count_limits_a_fault_then_it_disappears(api, sim):
    sim.add_fault("status", path="/status/|/servers/", status=503, count=2)
    assert [api.server("UC1ACCTWEB01").status for _ in range(3)] == [503, 503, 200]
    assert sim.faults.list() == []


def test_method_and_path_regex_select_requests(api, sim):
    sim.add_fault("status", path=r"/servers/[^/]+$", method="post", status=500)
    assert api.server("UC1ACCTWEB01").status == 200
    assert api.power("powerOff", ["UC1ACCTWEB01"]).status == 500
    # Answered by the fault alone: the API never saw the ids, so nothing was queued.
    assert sim.requests()[-1]["fault"] == "status" and sim.requests()[-1]["body"] is None


def test_faults_apply_before_authentication(sim):
    sim.add_fault("status", path=LOGIN, status=503, count=1)
    client = SimClient(sim)
    assert client.call("POST", LOGIN, CREDENTIALS).status == 503
    assert client.call("POST", LOGIN, CREDENTIALS).status == 200


def test_faults_never_touch_control_endpoints(api, sim):
    sim.add_fault("status", status=500)
    assert api.get("/_sim/health").status == 200


# -- broken bodies -------------------------------------------------------------

def test_malformed_body(api, sim):
    sim.add_fault("malformed", path="/v2/servers/")
    reply = api.server("UC1ACCTWEB01")
    assert reply.status == 200
    with pytest.raises(ValueError):
        reply.json()
    sim.clear_faults()
    sim.add_fault("malformed", body="{\"details\": ")
    assert api.server("UC1ACCTWEB01").data == b"{\"details\": "


def test_body_fault_sends_exact_body_and_status(api, sim):
    sim.add_fault("body", path="/v2/servers/", body='{"id": "uc1acctweb01"}')
    reply = api.server("UC1ACCTWEB01")
    assert (reply.status, reply.json()) == (200, {"id": "uc1acctweb01"})
    sim.clear_faults()
    sim.add_fault("body", body="[]", status=202)
    reply = api.server("UC1ACCTWEB01")
    assert (reply.status, reply.data) == (202, b"[]")


def test_truncated_body_after_the_request_was_served(api, sim):
    sim.add_fault("truncated", path="/servers/powerOff", count=1)
    with pytest.raises(http.client.IncompleteRead):
        api.power("powerOff", ["UC1ACCTWEB01"])
    # The operation was queued even though the answer broke: the agent must not blindly retry.
    wait_until(lambda: sim.server("UC1ACCTWEB01")["powerState"] == "stopped", 2, interval=0.01)
    assert statuses(sim)[-1] == ("/v2/operations/ACCT/servers/powerOff", 200, "truncated")


# -- connection faults ---------------------------------------------------------

def test_reset_without_response_and_nothing_served(api, sim):
    sim.add_fault("reset", path="/servers/powerOff", count=1)
    with pytest.raises(ConnectionResetError):
        api.power("powerOff", ["UC1ACCTWEB01"])
    time.sleep(0.15)
    assert sim.server("UC1ACCTWEB01")["powerState"] == "started"
    assert statuses(sim)[-1] == ("/v2/operations/ACCT/servers/powerOff", None, "reset")
    assert api.server("UC1ACCTWEB01").status == 200  # and the server is fine afterwards


def test_reset_after_headers_breaks_the_body(api, sim):
    sim.add_fault("reset", path="/v2/servers/", after_headers=True, count=1)
    conn = api.connection()
    conn.request("GET", "/v2/servers/ACCT/UC1ACCTWEB01", headers={"Authorization": "Bearer " + api.token})
    response = conn.getresponse()
    assert response.status == 200 and int(response.headers["Content-Length"]) > 100
    with pytest.raises((ConnectionResetError, http.client.IncompleteRead)):
        response.read()
    conn.close()


def test_hang_holds_the_request_without_blocking_others(api, sim):
    sim.add_fault("hang", path="/v2/servers/")
    started = time.monotonic()
    with pytest.raises(socket.timeout):
        api.server("UC1ACCTWEB01", timeout=0.3)
    assert time.monotonic() - started < 1.0
    assert api.get("/v2/datacenters/ACCT").status == 200
    assert statuses(sim)[-2] == ("/v2/servers/ACCT/UC1ACCTWEB01", None, "hang")


def test_clearing_faults_releases_hanging_requests(api, sim):
    sim.add_fault("hang")
    outcome = []

    def hung_call():
        try:
            api.server("UC1ACCTWEB01", timeout=5)
            outcome.append("answered")
        except (http.client.RemoteDisconnected, ConnectionError) as err:
            outcome.append(type(err).__name__)

    thread = threading.Thread(target=hung_call)
    thread.start()
    wait_until(lambda: sim.requests()[-1]["fault"] == "hang", 2, interval=0.01)
    sim.clear_faults()
    thread.join(2)
    assert outcome and outcome[0] != "answered"
    assert api.server("UC1ACCTWEB01").status == 200


def test_stop_is_prompt_with_hanging_and_idle_connections(sim_factory):
    sim = sim_factory()
    sim.add_fault("hang")
    hung = socket.create_connection(("127.0.0.1", sim.port))
    hung.sendall(b"GET /v2/servers/ACCT/X HTTP/1.1\r\nHost: x\r\n\r\n")
    idle = socket.create_connection(("127.0.0.1", sim.port))  # keep-alive, never sends
    wait_until(lambda: len(sim.requests()) == 1, 2, interval=0.01)
    started = time.monotonic()
    sim.stop()
    assert time.monotonic() - started < 1.0
    hung.settimeout(2)
    assert hung.recv(100) == b""  # closed, unanswered
    hung.close()
    idle.close()


def test_slow_fault_delays_then_answers(api, sim):
    sim.add_fault("slow", path="/v2/servers/", delay=0.6, count=1)
    reply = api.server("UC1ACCTWEB01")
    assert reply.status == 200 and reply.seconds >= 0.6
    assert sim.requests()[-1]["duration"] >= 0.6 and sim.requests()[-1]["fault"] == "slow"
    assert api.server("UC1ACCTWEB01").seconds < 0.45  # 3/4 of the delay: room for a loaded machine


# -- operation faults ----------------------------------------------------------

def status_ids(reply):
    return [link["id"] for answer in reply.json() for link in answer.get("links", [])]


def final_status(api, status_id, timeout=1.0):
    time.sleep(timeout)
    return api.status(status_id).json()["status"]


def test_op_fail_fails_the_next_operation_only(api, sim):
    sim.add_fault("op_fail", path="/powerOff", count=1)
    failed = status_ids(api.power("powerOff", ["UC1ACCTWEB01"]))[0]
    # A refused request (already in state) does not use up the fault's count.
    assert api.power("powerOn", ["UC1ACCTWEB02"]).json()[0]["isQueued"] is False
    assert final_status(api, failed, 0.2) == "failed"
    assert sim.server("UC1ACCTWEB01")["powerState"] == "started"
    ok = status_ids(api.power("powerOff", ["UC1ACCTWEB01"]))[0]
    assert final_status(api, ok, 0.2) == "succeeded"


def test_op_stuck_stays_executing(api, sim):
    sim.add_fault("op_stuck", path="/reset")
    stuck = status_ids(api.power("reset", ["UC1ACCTWEB01"]))[0]
    assert final_status(api, stuck, 0.3) == "executing"
    assert [s for _, s in sim.server("UC1ACCTWEB01")["power_history"]] == ["started"]


def test_stuck_under_construction(api, sim):
    sim.set_server("UC1ACCTWEB01", status="underConstruction", details=False)
    body = api.server("UC1ACCTWEB01").json()
    assert body["status"] == "underConstruction" and "details" not in body
    assert api.power("powerOff", ["UC1ACCTWEB01"]).json()[0]["isQueued"] is False


def test_bad_fault_specs_are_refused(sim):
    for kind, params in [("nope", {}), ("status", {}), ("slow", {"delay": 1, "extra": 2}),
                         ("status", {"status": 99}), ("body", {"body": 5})]:
        with pytest.raises(ValueError):
            sim.add_fault(kind, **params)


# -- control endpoints -----------------------------------------------------------

def control(sim, method, path, body=None):
    return SimClient(sim).call(method, path, body, token="")


def test_control_endpoint_faults(api, sim):
    reply = control(sim, "POST", "/_sim/faults", {"kind": "status", "status": 503, "path": "/servers/",
                                                   "count": 1, "retry_after": 2})
    assert reply.status == 200 and isinstance(reply.json()["id"], int)
    assert control(sim, "GET", "/_sim/faults").json()[0]["retry_after"] == 2
    assert api.server("UC1ACCTWEB01").headers["Retry-After"] == "2"
    fault_id = control(sim, "POST", "/_sim/faults", {"kind": "hang"}).json()["id"]
    assert control(sim, "DELETE", "/_sim/faults/%d" % fault_id).status == 200
    control(sim, "POST", "/_sim/faults", {"kind": "malformed"})
    assert control(sim, "DELETE", "/_sim/faults").status == 200
    assert api.server("UC1ACCTWEB01").status == 200
    assert control(sim, "POST", "/_sim/faults", {"kind": "bogus"}).status == 400
    assert control(sim, "POST", "/_sim/faults", {"status": 500}).status == 400


def test_control_endpoint_requests_are_not_logged(api, sim):
    api.server("UC1ACCTWEB01")
    log = control(sim, "GET", "/_sim/requests").json()
    assert [entry["path"] for entry in log] == ["/v2/authentication/login", "/v2/servers/ACCT/UC1ACCTWEB01"]
    assert control(sim, "DELETE", "/_sim/requests").status == 200
    assert control(sim, "GET", "/_sim/requests").json() == []


def test_control_endpoint_servers(api, sim):
    reply = control(sim, "PATCH", "/_sim/servers/uc1acctweb01",
                    {"powerState": "paused", "inMaintenanceMode": True})
    assert reply.status == 200 and reply.json()["powerState"] == "paused"
    record = control(sim, "GET", "/_sim/servers/UC1ACCTWEB01").json()
    assert record["inMaintenanceMode"] is True and record["power_history"][-1][1] == "paused"
    assert api.server("UC1ACCTWEB01").json()["details"]["powerState"] == "paused"
    assert control(sim, "GET", "/_sim/servers/NOPE").status == 404
    assert control(sim, "PATCH", "/_sim/servers/UC1ACCTWEB01", {"powerState": "on"}).status == 400
    assert control(sim, "PATCH", "/_sim/servers/UC1ACCTWEB01", {"color": "red"}).status == 400


def test_control_endpoint_tokens(api, sim):
    assert control(sim, "GET", "/_sim/tokens").json() == [api.token]
    assert control(sim, "POST", "/_sim/tokens/expire").status == 200
    assert api.server("UC1ACCTWEB01").status == 401


def test_control_endpoint_config_and_health(api, sim):
    reply = control(sim, "POST", "/_sim/config", {"op_result": "failed", "op_duration": 0.05})
    assert reply.json()["op_result"] == "failed" and reply.json()["op_duration"] == 0.05
    failed = status_ids(api.power("powerOff", ["UC1ACCTWEB01"]))[0]
    assert final_status(api, failed, 0.2) == "failed"
    assert control(sim, "POST", "/_sim/config", {"op_result": "maybe"}).status == 400
    assert control(sim, "POST", "/_sim/config", {"warp": 9}).status == 400
    assert control(sim, "POST", "/_sim/config", {"answer_order": "request"}).json()["answer_order"] == "request"
    assert control(sim, "POST", "/_sim/config", {"answer_order": "sorted"}).status == 400
    health = control(sim, "GET", "/_sim/health").json()
    assert health["status"] == "ok" and health["servers"] == 9 and health["url"] == sim.url
    assert control(sim, "GET", "/_sim/nothing").status == 404
