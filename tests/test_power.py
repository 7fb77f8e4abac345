"""Power operations: off, on and reboot; one power request per operation, confirmed by the
server's state; what is resent and what never is.

Real agent processes against the CLC simulator over real HTTP(S). The cases
taking the `hostile` fixture came from a hostile review: each run is also
judged as the reliability matrix judges it and counted in its totals."""

import json
import time

import pytest

from agentrun import (TRACEBACK, WEB, agent, assert_one_clear_error, closed_port_url,
                      fencing_world, states, stdin_text)
from reliability.catalogue import POWER_POST
from reliability.hostile import HANG_AFTER, start_agent, wait_for_request, warnings
from support import logins, power_posts


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
    assert_one_clear_error(result, "gave up waiting for", "at the end of power_timeout")
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


# ---------------------------------------------------------------- what is resent and what never is

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


# ---------------------------------------------------------------- cycle after a confirmed off

@pytest.mark.parametrize("before", ["paused", "stopped"])
def test_cycle_whose_power_on_fails_after_a_confirmed_off_still_fences(clc, hostile, before):
    clc.set_server(WEB, powerState=before)
    clc.add_fault("op_fail", path="/servers/powerOn")
    result = hostile.run(hostile.params(clc, "reboot", method="cycle"))
    assert (result.rc, result.stdout) == (0, "Success: Rebooted\n"), result
    assert "powerOn" in "".join(warnings(result)), result
    assert clc.server(WEB)["powerState"] == "stopped"
    hostile.assert_sane()


# ---------------------------------------------------------------- power requests that never left

class LosingRelay:
    """A loopback relay in front of the simulator that loses the power
    POST's connection (the agent opens a fresh one for each POST; reads
    reuse the first). "forward": a TCP relay that, from the second request
    on the first connection to the third, lets every new TCP connect time
    out (its listen queue is full: the kernel drops their SYN). "connect":
    an HTTP proxy that answers the second CONNECT with 503."""

    def __init__(self, upstream_port, mode):
        import socket
        import threading
        self.upstream, self.mode = ("127.0.0.1", upstream_port), mode
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.url = "http://127.0.0.1:%d" % self.listener.getsockname()[1]
        self.connections = self.tunnels = 0
        self.block, self.blocked, self.unblock = (threading.Event() for _ in range(3))
        self.events = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import socket
        import threading
        while True:
            if self.block.is_set() and not self.blocked.is_set():
                self.listener.listen(0)
                filler = socket.create_connection(self.listener.getsockname())  # queue full
                self.blocked.set()
                self.unblock.wait(5)
                self.listener.listen(16)
                self.listener.accept()[0].close()
                filler.close()
                self.events.append("connects dropped until now")
            try:
                self.listener.settimeout(0.05)  # raises too once the relay is closed
                client = self.listener.accept()[0]
            except socket.timeout:
                continue
            except OSError:
                return
            client.settimeout(None)
            self.connections += 1
            threading.Thread(target=self._serve, args=(client, self.connections), daemon=True).start()

    def _serve(self, client, number):
        import socket
        if self.mode == "connect":
            head = b""
            while b"\r\n\r\n" not in head:
                head += client.recv(4096)
            self.tunnels += 1
            if self.tunnels == 2:
                self.events.append("CONNECT answered 503")
                client.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
                client.close()
                return
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        upstream = socket.create_connection(self.upstream)
        watch = self._watch if self.mode == "forward" and number == 1 else None
        import threading
        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
        pump(client, upstream, watch)

    def _watch(self, data, requests=[0]):
        requests[0] += data.count(b" HTTP/1.1\r\n")
        if requests[0] == 2 and not self.block.is_set():
            self.block.set()
            self.blocked.wait(5)  # before the answer that leads to the POST
        if requests[0] >= 3:
            self.unblock.set()

    def close(self):
        self.listener.close()


def pump(source, target, watch=None):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            if watch:
                watch(data)
            target.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            try:
                sock.shutdown(2)
            except OSError:
                pass


@pytest.mark.parametrize("how", ["connect timed out", "proxy refused the tunnel"])
def test_a_power_request_that_never_left_is_sent_again_after_a_fresh_read(sim_factory, hostile,
                                                                         how):
    """No TCP connection, or no tunnel through the proxy: the POST provably
    never reached CLC; it is not an unknown fate."""
    if how == "connect timed out":
        sim = sim_factory(config=fencing_world())
        relay = LosingRelay(sim.port, "forward")
        params = hostile.params(sim, "off", api_url=relay.url)
    else:
        sim = sim_factory(config=fencing_world(), tls=True)
        relay = LosingRelay(sim.port, "connect")
        params = hostile.params(sim, "off", proxy=relay.url)
    try:
        result = hostile.run(dict(params, login_timeout="1", power_timeout="10"))
    finally:
        relay.close()
    assert relay.events, "the relay lost nothing"
    assert (result.rc, result.stdout) == (0, "Success: Powered OFF\n"), (result, relay.events)
    assert len(power_posts(sim)) == 1 and sim.server(WEB)["powerState"] == "stopped"
    assert "fate is unknown" not in result.stderr and "no answer" not in result.stderr, result
    if how == "connect timed out":
        assert "no connection within 1 s" in result.stderr, result
    hostile.assert_sane()


# ---------------------------------------------------------------- unknown fate of a 200

def test_a_non_json_200_to_power_off_is_an_unknown_fate_to_watch(clc, hostile):
    clc.add_fault("malformed", path=POWER_POST, method="POST", count=1)
    params = hostile.params(clc, "off")
    started = time.monotonic()
    proc = start_agent(params)
    proc.stdin.write(stdin_text(params))
    proc.stdin.close()
    wait_for_request(clc, lambda r: r["method"] == "POST" and "/servers/powerOff" in r["path"])
    clc.set_server(WEB, powerState="stopped")  # the operation did run
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.wait(timeout=HANG_AFTER)
    from agentrun import AgentResult
    result = AgentResult(proc.returncode, out, err, time.monotonic() - started)
    hostile.count(result)
    assert (result.rc, result.stdout) == (0, "Success: Powered OFF\n"), result
    assert len(power_posts(clc)) == 1
    hostile.assert_sane()
