"""Secrets: no password, token or URL credential in any output, debug file, syslog or
core dump; what the verbose levels show instead.

Real agent processes against the CLC simulator over real HTTP(S). The cases
taking the `hostile` fixture came from a hostile review: each run is also
judged as the reliability matrix judges it and counted in its totals."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from agentrun import (AGENT, FAST_ARGS, SENTINEL_PASSWORD, TRACEBACK, WEB, agent, agent_env,
                      assert_one_clear_error, cli_args, closed_port_url, fencing_world,
                      namespaced_agent, run_agent, secrets_found, stdin_text)
from reliability.catalogue import LOGIN, NOBODY
from reliability.hostile import HANG_AFTER, run_stdin_bytes, wait_for_request
from support import require_commands, require_root


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
    result = run_agent(cli_args(clc_tls, token_dir, WEB, "off", FAST_ARGS + ["-v", "-x", proxy]))
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


# ---------------------------------------------------------------- credentials in URLs

PROXY_USER, PROXY_PASSWORD = "proxy-usr-4d1", "Pr0xy/pa@ss-9e"


@pytest.mark.parametrize("proxy", [
    "{user}:{password}@127.0.0.1:{port}",               # no scheme, '/' and '@' in the password
    "http://{user}:{password}@127.0.0.1:{port}",
    "socks5h://{user}:{password}@127.0.0.1:{port}",
    "http://{user}:{quoted}@127.0.0.1:{port}",          # percent-encoded, as libcurl wants it
])
@pytest.mark.parametrize("mode", ["stdin", "argv"])
def test_proxy_credentials_never_reach_any_output(clc, hostile, proxy, mode):
    port = closed_port_url().rsplit(":", 1)[1]
    hostile.secrets += [PROXY_USER, PROXY_PASSWORD, "pa@ss-9e", "Pr0xy%2Fpa%40ss-9e"]
    proxy = proxy.format(user=PROXY_USER, password=PROXY_PASSWORD, port=port,
                         quoted="Pr0xy%2Fpa%40ss-9e")
    result = hostile.run(hostile.params(clc, "status", proxy=proxy), mode)
    assert_one_clear_error(result, "proxy")
    assert "127.0.0.1:" + port in result.stderr  # the host is still named
    hostile.assert_sane()


def test_api_url_credentials_never_reach_any_output(clc, hostile):
    user, password = "api-usr-77c", "Ap1/s3cr@t-x1"
    hostile.secrets += [user, password, "s3cr@t-x1"]
    for api_url in ["http://%s:%s@127.0.0.1:%d" % (user, password, clc.port),
                    "http://%s:%s@%s" % (user, "Ap1%2Fs3cr%40t-x1", closed_port_url()[7:])]:
        result = hostile.run(hostile.params(clc, "status", api_url=api_url, verbose="1"))
        assert not TRACEBACK.search(result.output), result
    hostile.assert_sane()


def test_a_run_holding_the_password_is_not_dumpable(clc, hostile):
    """A core file (or another process of the same user reading its memory)
    would hold the password: the agent makes itself non-dumpable, which
    the kernel shows by handing the files of /proc/PID to root (issue 21)."""
    require_commands("setpriv")
    clc.add_fault("hang", path=LOGIN)  # keeps the run alive, password in hand
    params = hostile.params(clc, "status", token_file="none")
    del params["debug_file"]
    # a copy nobody can read: the checkout may be in a home only root enters
    readable = tempfile.mkdtemp(prefix="fence-clc-nobody-")
    os.chmod(readable, 0o755)
    agent_copy = os.path.join(readable, "fence_clc")
    shutil.copy(AGENT, agent_copy)
    os.chmod(agent_copy, 0o755)
    started = time.monotonic()
    proc = subprocess.Popen(["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                             "--clear-groups", agent_copy],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, env=agent_env(pacemaker=True))
    proc.stdin.write(stdin_text(params))
    proc.stdin.close()
    try:
        wait_for_request(clc, lambda r: r["path"].endswith("/authentication/login"))
        proc_owner = os.stat("/proc/%d/status" % proc.pid).st_uid
    finally:
        out, err = proc.stdout.read(), proc.stderr.read()
        proc.wait(timeout=HANG_AFTER)
        shutil.rmtree(readable)
    from agentrun import AgentResult
    result = AgentResult(proc.returncode, out, err, time.monotonic() - started)
    hostile.count(result)
    assert proc_owner == 0, (proc_owner, result)
    assert_one_clear_error(result, "no answer")


class SyslogCatcher:
    """A /dev/log of our own: every datagram the agent sends to syslog."""

    def __init__(self, path):
        import socket
        import threading
        self.path, self.messages = path, []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        threading.Thread(target=self._receive, daemon=True).start()

    def _receive(self):
        while True:
            try:
                self.messages.append(self.sock.recv(65536).decode("utf-8", "replace"))
            except OSError:
                return

    def text(self):
        time.sleep(0.2)  # the last datagrams
        return "\n".join(self.messages)


# Characters that end a URL's host part, inside a password: libcurl would
# cut the URL there (and send the rest of the password elsewhere).
DELIMITED_PASSWORDS = ["Qm?rk-pass-1a", "Hash#pass-2b", "Sch://eme-3c", "a?b#c://d@e/f-4d"]


@pytest.mark.parametrize("password", DELIMITED_PASSWORDS)
@pytest.mark.parametrize("where", ["proxy", "proxy without scheme", "api_url"])
def test_url_credentials_with_url_delimiters_reach_no_output(clc, hostile, tmp_path, where,
                                                            password):
    """stderr, stdout, the -D file and syslog, for a run and validate-all,
    on the command line and stdin: no password, nor a piece of it."""
    require_root("a private /dev/log in a mount namespace")
    user = "url-usr-5e1"
    pieces = [piece for piece in re.split(r"[?#/:@]+", password) if len(piece) >= 4]
    hostile.secrets += [user, password] + pieces
    syslog = SyslogCatcher(str(tmp_path / "log.sock"))
    agent = namespaced_agent(str(tmp_path), syslog_socket=syslog.path)
    url = "http://%s:%s@127.0.0.1:%s" % (user, password, closed_port_url().rsplit(":", 1)[1])
    if where == "api_url":
        url = "http://%s:%s@127.0.0.1:%d" % (user, password, clc.port)
    elif where == "proxy without scheme":
        url = url[len("http://"):]
    for action in ("status", "validate-all"):
        for mode in ("stdin", "argv"):
            params = hostile.params(clc, action, **{where.split()[0]: url})
            result = hostile.run(params, mode, agent=agent)
            assert result.rc in (0, 1), result
            assert "127.0.0.1" in result.stderr, result  # the host is still named
    hostile.tally.add(result, hostile.secrets, extra_texts=[syslog.text()])
    assert syslog.messages, "no syslog message received"
    hostile.assert_sane()


# ---------------------------------------------------------------- short secrets, stdin lines, names

def test_a_short_password_echoed_by_the_api_is_masked(sim_factory, hostile):
    world = fencing_world()
    world["accounts"][0]["users"].append({"username": "short@acct", "password": "pw"})
    sim = sim_factory(config=world)
    sim.add_fault("body", path=LOGIN, status=400,
                  body=json.dumps({"message": "the password 'pw' is wrong for pwned user"}))
    result = hostile.run(hostile.params(sim, "status", login="short@acct", passwd="pw"))
    assert_one_clear_error(result, "rejected the login", "password")
    assert "'pw'" not in result.output and "pwned" in result.stderr, result


def test_a_stdin_line_without_an_equals_sign_is_never_shown(clc, hostile):
    secret_line = "second-line-of-a-s3cret"
    hostile.secrets.append(secret_line)
    params = hostile.params(clc, "status")
    result = run_stdin_bytes((stdin_text(params) + secret_line + "\n").encode())
    hostile.count(result)
    assert result.rc == 0, result
    assert "Ignoring unknown option" in result.stderr
    hostile.assert_sane()
