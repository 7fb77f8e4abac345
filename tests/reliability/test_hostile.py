"""Hostile cases: what a hostile review tried against the agent (issue 13),
each as real agent runs against the simulator. Every run is judged as the
matrix judges it (traceback, leaked secret, false OFF, hang) and counted in
the report's totals as a hostile case."""

import fcntl
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from agentrun import (AGENT, SENTINEL_PASSWORD, TRACEBACK, USERNAME, agent_env, closed_port_url,
                      fencing_world, namespaced_agent, run_agent, stdin_params, stdin_text)
from clcsim.client import SimClient
from support import logins, power_posts, require_commands, require_root

from . import checks
from .catalogue import LOGIN, NOBODY, POWER_POST, SERVER
from .runner import PLUG, run_as

FAST = {"power_timeout": "5", "shell_timeout": "3", "login_timeout": "2"}
OTHER_USER, OTHER_PASSWORD = "admin@acct", "s3cret-Passw0rd"
HANG_AFTER = 20


class Hostile(object):
    """Runs the agent for one hostile case and counts every run."""

    def __init__(self, tmp_path, name):
        self.tmp_path = tmp_path
        self.token_dir = str(tmp_path / "tokens")
        self.debug_file = str(tmp_path / "debug.log")
        self.tally = checks.Tally("hostile: " + name)
        self.sims = []
        self.secrets = [SENTINEL_PASSWORD]

    def params(self, sim, action="status", plug=PLUG, **extra):
        params = stdin_params(sim, self.token_dir, plug, action, verbose="1",
                              debug_file=self.debug_file, **FAST)
        params.update(extra)
        if sim not in self.sims:
            self.sims.append(sim)
        return params

    def run(self, params, mode="stdin", false_off=None, **kwargs):
        if os.path.exists(self.debug_file):
            os.unlink(self.debug_file)
        try:
            result = run_as(mode, params, debug_file=self.debug_file, timeout=HANG_AFTER * 2, **kwargs)
        except subprocess.TimeoutExpired as ex:
            result = checks_timeout(ex)
        self.count(result, false_off(result) if false_off else False)
        return result

    def count(self, result, false_off=False):
        tokens = [token for sim in self.sims for token in sim.issued_tokens()]
        self.tally.add(result, self.secrets + tokens, false_off=false_off,
                       hang=result.rc is None or result.seconds > HANG_AFTER)

    def assert_sane(self):
        assert not self.tally.traceback and not self.tally.leaks and not self.tally.hang, \
            self.tally.record()


def checks_timeout(ex):
    from agentrun import AgentResult
    text = lambda out: out.decode("utf-8", "replace") if isinstance(out, bytes) else (out or "")
    return AgentResult(None, text(ex.stdout), text(ex.stderr), HANG_AFTER * 2)


@pytest.fixture
def hostile(request, tmp_path, record_run):
    case = Hostile(tmp_path, request.node.name)
    yield case
    record_run(case.tally.record(), kind="hostile")


def token_files(directory):
    return [os.path.join(directory, name) for name in os.listdir(directory)
            if name.endswith(".token")]


def prime(hostile, sim, **extra):
    result = hostile.run(hostile.params(sim, "monitor", **extra))
    assert result.rc == 0, result
    return result


def one_failure(result, *words):
    assert result.rc == 1, result
    errors = checks.failure_lines(result)
    assert len(errors) == 1, result
    for word in words:
        assert word.lower() in errors[0].lower(), result


def says_off(result):
    return result.rc == 2 or "Status: OFF" in result.stdout


def wait_for_request(sim, predicate, timeout=15):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if any(predicate(r) for r in sim.requests()):
            return
        time.sleep(0.02)
    raise AssertionError("no such request: %r" % sim.requests())


def start_agent(params):
    return subprocess.Popen([AGENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True,
                            env=agent_env(pacemaker=True))



# ---------------------------------------------------------------- 1: TLS

@pytest.mark.parametrize("value", ["0", "false", "no", "off"])
def test_ssl_insecure_set_false_keeps_tls_verified(clc_tls, hostile, value):
    params = hostile.params(clc_tls, "status", ssl_insecure=value)
    del params["cacert"]
    result = hostile.run(params)
    one_failure(result, "not trusted")
    assert clc_tls.requests() == []
    hostile.assert_sane()


def test_ssl_insecure_set_true_still_turns_verification_off(clc_tls, hostile):
    params = hostile.params(clc_tls, "status", ssl_insecure="1")
    del params["cacert"]
    result = hostile.run(params)
    assert (result.rc, result.stdout) == (0, "Status: ON\n"), result


@pytest.mark.parametrize("typed", ["--ssl", "--ssl-", "--ssl-in", "--ssl-insecur"])
def test_an_abbreviated_option_never_turns_tls_verification_off(clc_tls, hostile, typed):
    """getopt takes a unique prefix for the whole name: --ssl was read as
    --ssl-insecure and sent the password to an unverified server."""
    params = hostile.params(clc_tls, "status")
    del params["cacert"]
    args = ["--action=status", "--username=" + params["login"], "--password=" + params["passwd"],
            "--plug=" + PLUG, "--api-url=" + clc_tls.url, "--token-file=none", typed]
    result = run_agent(args)
    hostile.count(result)
    one_failure(result, typed, "in full")
    assert clc_tls.requests() == []
    hostile.assert_sane()


def test_validate_all_refuses_an_abbreviation_but_takes_an_option_value_as_a_value(hostile):
    result = run_agent(["-o", "validate-all", "-l", "u", "-p", "pw12", "-n", PLUG, "--ssl"])
    hostile.count(result)
    one_failure(result, "--ssl", "--ssl-insecure")
    for value in (["-p", "--ssl"], ["--password", "--ssl"], ["-p--ssl"]):
        result = run_agent(["-o", "validate-all", "-l", "u", "-n", PLUG] + value)
        hostile.count(result)
        assert result.rc == 0, result
    hostile.assert_sane()


def private_trust_store(tmp_path, ca_file):
    """A directory like /etc/ssl/certs that trusts only ca_file."""
    store = tmp_path / "system-certs"
    store.mkdir()
    with open(ca_file) as f:
        pem = f.read()
    (store / "ca-certificates.crt").write_text(pem)
    (store / "test-ca.pem").write_text(pem)
    subprocess.run(["openssl", "rehash", str(store)], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return str(store)


def test_cacert_replaces_the_system_trust_store(sim_factory, clc_tls, hostile, tmp_path):
    """The README promises: cacert names the CAs to trust *instead* of the
    system's. A server signed by a system CA must not get the password."""
    require_root("a private /etc/ssl/certs in a mount namespace")
    store = private_trust_store(tmp_path, clc_tls.ca_file)
    agent = namespaced_agent(str(tmp_path), binds=[(store, "/etc/ssl/certs")])
    params = hostile.params(clc_tls, "status")
    del params["cacert"]
    result = hostile.run(params, agent=agent)  # the system store trusts the server
    assert (result.rc, result.stdout) == (0, "Status: ON\n"), result
    clc_tls.clear_requests()
    other_ca = sim_factory(tls=True).ca_file
    result = hostile.run(dict(params, cacert=other_ca), agent=agent)
    one_failure(result, "not trusted", "cacert")
    assert clc_tls.requests() == []
    hostile.assert_sane()


# ---------------------------------------------------------------- 2: credentials in URLs

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
    one_failure(result, "proxy")
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
    one_failure(result, "no answer")


class SyslogCatcher(object):
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


# ---------------------------------------------------------------- 3: cache binding

def test_a_fixed_token_file_is_bound_to_url_user_and_password(sim_factory, clc, hostile):
    token_file = os.path.join(hostile.token_dir, "clc.token")
    assert hostile.run(hostile.params(clc, "status", token_file=token_file)).rc == 0

    result = hostile.run(hostile.params(clc, "off", token_file=token_file, passwd="wrong-password"))
    one_failure(result, "rejected the login")
    assert clc.server(PLUG)["powerState"] == "started"

    before = len(logins(clc))
    result = hostile.run(hostile.params(clc, "status", token_file=token_file, login=OTHER_USER,
                                        passwd=OTHER_PASSWORD))
    assert result.rc == 0, result
    assert len(logins(clc)) == before + 1

    other = sim_factory(config=fencing_world())
    result = hostile.run(hostile.params(other, "status", token_file=token_file))
    assert result.rc == 0, result
    first = other.requests()[0]
    assert first["path"].endswith("/authentication/login") and not first["bearer"], other.requests()
    hostile.assert_sane()


@pytest.mark.parametrize("field", ["binding", "token", "accountAlias"])
def test_a_cache_entry_with_non_ascii_text_means_a_new_login(clc, hostile, field):
    """The cache file is this user's own, but its text is not trusted:
    comparing a non-ASCII binding once raised TypeError (internal error)."""
    prime(hostile, clc)
    (path,) = token_files(hostile.token_dir)
    with open(path) as f:
        entry = json.load(f)
    entry[field] = "Pässwörd-\udcff"[:9] + entry[field]
    with open(path, "w") as f:
        json.dump(entry, f)
    before = len(logins(clc))
    result = hostile.run(hostile.params(clc, "status"))
    assert (result.rc, result.stdout) == (0, "Status: ON\n"), result
    assert len(logins(clc)) == before + 1, clc.requests()
    hostile.assert_sane()


def test_a_login_answer_with_a_non_ascii_token_is_one_clear_error(clc, hostile):
    clc.add_fault("body", path=LOGIN, status=200,
                  body=json.dumps({"bearerToken": "t\u00f6ken.x.y", "accountAlias": "ACCT"}))
    result = hostile.run(hostile.params(clc, "status"))
    one_failure(result, "bearerToken")
    hostile.assert_sane()


def test_a_user_and_password_that_join_alike_never_share_a_token(sim_factory, hostile):
    """The cache binding once joined URL, user and password with newlines:
    user 'u\\nx' with password 'y' rode on the token of user 'u' with
    password 'x\\ny' (issue 21)."""
    world = fencing_world()
    world["accounts"][0]["users"].append({"username": "two@acct", "password": "line1\nline-2-pw"})
    sim = sim_factory(config=world)
    hostile.secrets += ["line1\nline-2-pw", "line-2-pw"]
    result = hostile.run(hostile.params(sim, "status", login="two@acct", passwd="line1\nline-2-pw"),
                         "argv")
    assert (result.rc, result.stdout) == (0, "Status: ON\n"), result
    result = hostile.run(hostile.params(sim, "off", login="two@acct\nline1", passwd="line-2-pw"),
                         "argv")
    one_failure(result, "rejected the login")
    assert len(logins(sim)) == 2 and sim.server(PLUG)["powerState"] == "started", sim.requests()
    hostile.assert_sane()


# ---------------------------------------------------------------- 4: plain HTTP

def warnings(result):
    return [line for line in result.stderr.splitlines() if " WARNING: " in line]


@pytest.mark.parametrize("action", ["status", "validate-all"])
def test_plain_http_api_url_is_warned_once_per_run(clc, hostile, action):
    result = hostile.run(hostile.params(clc, action))
    assert result.rc == 0, result
    plain = [line for line in warnings(result) if "http://" in line or "plain HTTP" in line]
    assert len(plain) == 1 and "https" in plain[0], result


def test_https_api_url_has_no_plain_http_warning(clc_tls, hostile):
    result = hostile.run(hostile.params(clc_tls, "status"))
    assert result.rc == 0 and warnings(result) == [], result


# ---------------------------------------------------------------- 5: cycle after a confirmed off

@pytest.mark.parametrize("before", ["paused", "stopped"])
def test_cycle_whose_power_on_fails_after_a_confirmed_off_still_fences(clc, hostile, before):
    clc.set_server(PLUG, powerState=before)
    clc.add_fault("op_fail", path="/servers/powerOn")
    result = hostile.run(hostile.params(clc, "reboot", method="cycle"))
    assert (result.rc, result.stdout) == (0, "Success: Rebooted\n"), result
    assert "powerOn" in "".join(warnings(result)), result
    assert clc.server(PLUG)["powerState"] == "stopped"
    hostile.assert_sane()


# ---------------------------------------------------------------- 6: environment proxies

def test_no_proxy_in_the_environment_does_not_bypass_the_proxy(clc, hostile):
    proxy = closed_port_url()
    env = agent_env(True, {"no_proxy": "127.0.0.1,localhost", "NO_PROXY": "127.0.0.1,localhost"})
    result = hostile.run(hostile.params(clc, "status", proxy=proxy), env=env)
    one_failure(result, "proxy")
    assert clc.requests() == []


# ---------------------------------------------------------------- time bounds: DNS, password_script

# A name server that takes every question and never answers.
SILENT_NAME_SERVER = ("/usr/bin/python3 -c 'import socket, time\n"
                      "udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                      "udp.bind((\"127.0.0.1\", 53))\ntcp = socket.socket()\n"
                      "tcp.bind((\"127.0.0.1\", 53))\ntcp.listen(8)\ntime.sleep(3600)' &\n"
                      "sleep 0.5")


@pytest.mark.parametrize("action", ["off", "status"])
@pytest.mark.parametrize("where", ["api_url", "proxy"])
def test_dns_that_never_answers_ends_within_the_time_bound(clc, hostile, tmp_path, where, action):
    """libcurl's threaded resolver is waited for when a transfer times out:
    a lookup of 10 s x 3 tries per name outlived power_timeout."""
    require_root("a private network and resolv.conf")
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\noptions timeout:10 attempts:3\n")
    agent = namespaced_agent(str(tmp_path), binds=[(str(resolv), "/etc/resolv.conf")], net=True,
                             before=SILENT_NAME_SERVER)
    names = {"api_url": "https://clc-api.example:8443"} if where == "api_url" else \
        {"api_url": "https://127.0.0.1:8443", "proxy": "http://proxy.example:3128"}
    params = hostile.params(clc, action, power_timeout="3", login_timeout="10", **names)
    result = hostile.run(params, agent=agent)
    one_failure(result, "resolve", "DNS")
    assert result.seconds < 3 + 1 + 1.5, result
    hostile.assert_sane()


def live_processes_with(text):
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if text.encode() in f.read():
                    found.append(pid)
        except OSError:
            pass
    return found


@pytest.mark.parametrize("mode", ["stdin", "argv"])
def test_a_password_script_is_killed_at_power_timeout_with_one_clear_line(clc, hostile, mode):
    """The library waits for password_script as long as it runs; the
    README's worst case counts it in power_timeout."""
    marker = "9.%d" % os.getpid()  # sleep's own argument: finds it among the processes
    params = hostile.params(clc, "status", power_timeout="2")
    del params["passwd"]
    params["password_script"] = "sleep %s; echo %s" % (marker, SENTINEL_PASSWORD)
    result = hostile.run(params, mode)
    one_failure(result, "password_script", "power_timeout")
    assert result.seconds < 2 + 1 + 1.5, result
    assert clc.requests() == [] and live_processes_with("sleep\0" + marker) == []
    hostile.assert_sane()


@pytest.mark.parametrize("mode", ["stdin", "argv"])
def test_a_password_script_within_power_timeout_gives_the_password(clc, hostile, mode):
    params = hostile.params(clc, "off", power_timeout="4")
    del params["passwd"]
    params["passwd_script" if mode == "stdin" else "password_script"] = \
        "sleep 1; printf '%s \\n\\n'" % SENTINEL_PASSWORD
    result = hostile.run(params, mode)
    assert (result.rc, result.stdout) == (0, "Success: Powered OFF\n"), result
    assert result.seconds < 4 + 1 + 1.5, result
    hostile.assert_sane()


# ---------------------------------------------------------------- 7, 8, 9, 10: token cache

def test_repeated_401_on_the_power_post_logs_in_once(clc, hostile):
    prime(hostile, clc)
    clc.clear_requests()
    clc.add_fault("status", path=POWER_POST, method="POST", status=401)
    result = hostile.run(hostile.params(clc, "off"))
    one_failure(result, "401")
    assert len(logins(clc)) == 1, clc.requests()
    hostile.assert_sane()


def test_a_token_another_run_refreshed_survives_our_401(clc, hostile):
    """A 401 for the token we read must not throw away the newer token
    another run wrote meanwhile: the agent takes that one, and no login."""
    prime(hostile, clc)
    (path,) = token_files(hostile.token_dir)
    with open(path, "rb") as f:
        older = f.read()
    os.unlink(path)
    time.sleep(1.1)  # the simulator's tokens differ by their second of issue
    prime(hostile, clc)
    with open(path, "rb") as f:
        newer = f.read()
    assert json.loads(newer)["token"] != json.loads(older)["token"]
    with open(path, "wb") as f:
        f.write(older)
    clc.clear_requests()
    clc.configure(latency=1.5)  # time to swap the file while the agent waits
    clc.add_fault("status", path=SERVER, method="GET", status=401, count=1)
    params = hostile.params(clc, "status", shell_timeout="8", power_timeout="20")
    started = time.monotonic()
    proc = start_agent(params)
    proc.stdin.write(stdin_text(params))
    proc.stdin.close()
    wait_for_request(clc, lambda r: r["path"].startswith("/v2/servers/"))
    with open(path + ".new", "wb") as f:
        f.write(newer)
    os.chmod(path + ".new", 0o600)
    os.rename(path + ".new", path)
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.wait(timeout=HANG_AFTER)
    from agentrun import AgentResult
    result = AgentResult(proc.returncode, out, err, time.monotonic() - started)
    hostile.count(result)
    assert (result.rc, result.stdout) == (0, "Status: ON\n"), result
    assert logins(clc) == [], clc.requests()
    with open(path, "rb") as f:
        assert f.read() == newer
    hostile.assert_sane()


def test_a_valid_cached_token_is_used_while_another_run_holds_the_login_lock(clc, hostile):
    prime(hostile, clc)
    (path,) = token_files(hostile.token_dir)
    clc.clear_requests()
    with open(path + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = hostile.run(hostile.params(clc, "status"))
    assert (result.rc, result.stdout) == (0, "Status: ON\n"), result
    assert result.seconds < 5, result
    assert logins(clc) == []


@pytest.mark.parametrize("where", ["cache", "fixed token_file"])
def test_a_fifo_at_the_cache_path_does_not_hang_the_run(clc, hostile, where):
    if where == "cache":
        prime(hostile, clc)
        (path,) = token_files(hostile.token_dir)
        os.unlink(path)
        extra = {}
    else:
        os.makedirs(hostile.token_dir, mode=0o700)
        path = os.path.join(hostile.token_dir, "clc.token")
        extra = {"token_file": path}
    os.mkfifo(path, 0o600)
    result = hostile.run(hostile.params(clc, "status", **extra))
    assert (result.rc, result.stdout) == (0, "Status: ON\n"), result
    assert result.seconds < 10, result
    hostile.assert_sane()


def test_a_stuck_login_lock_holder_costs_one_run_a_wait_not_every_run(clc, hostile):
    """A run stopped (SIGSTOP, a hung NFS) while it holds the login lock: the
    first run after it waits for the lock, logs in without it and still
    caches its token, so the runs after it use that token at once (issue 21)."""
    os.makedirs(hostile.token_dir, mode=0o700)
    token_file = os.path.join(hostile.token_dir, "clc.token")
    params = hostile.params(clc, "off", token_file=token_file)
    with open(token_file + ".lock", "a") as stuck_holder:
        fcntl.flock(stuck_holder, fcntl.LOCK_EX)
        results = []
        for action in ("status", "off", "status"):
            params["action"] = action
            results.append(hostile.run(params))
    assert [result.rc for result in results] == [0, 0, 2], results
    assert len(logins(clc)) == 1, clc.requests()
    assert ["lock busy" in result.stderr for result in results] == [True, False, False], results
    hostile.assert_sane()


def test_runs_waiting_behind_a_stuck_lock_holder_take_the_first_ones_token(clc, hostile):
    """Runs that started waiting while the first one waited stop waiting
    once it has given up and cached its token: one wait, one login."""
    os.makedirs(hostile.token_dir, mode=0o700)
    token_file = os.path.join(hostile.token_dir, "clc.token")
    params = hostile.params(clc, "status", token_file=token_file, power_timeout="8")
    del params["debug_file"]  # shared by both runs
    started = time.monotonic()
    with open(token_file + ".lock", "a") as stuck_holder:
        fcntl.flock(stuck_holder, fcntl.LOCK_EX)
        first = start_agent(params)
        first.stdin.write(stdin_text(params))
        first.stdin.close()
        time.sleep(1)  # the first waits 4 s (half of power_timeout)
        second = start_agent(params)
        second.stdin.write(stdin_text(params))
        second.stdin.close()
        outputs = [(proc, proc.stdout.read(), proc.stderr.read()) for proc in (first, second)]
    from agentrun import AgentResult
    results = []
    for proc, out, err in outputs:
        proc.wait(timeout=HANG_AFTER)
        results.append(AgentResult(proc.returncode, out, err, time.monotonic() - started))
        hostile.count(results[-1])
    assert [(result.rc, result.stdout) for result in results] == [(0, "Status: ON\n")] * 2, results
    assert ["lock busy" in result.stderr for result in results] == [True, False], results
    assert len(logins(clc)) == 1, clc.requests()
    hostile.assert_sane()


def forged_token(exp):
    """A JWT-shaped token whose payload's exp is this JSON text."""
    import base64
    payload = base64.urlsafe_b64encode(('{"exp": %s}' % exp).encode()).decode().rstrip("=")
    return "eyJhbGciOiJub25lIn0.%s.c2lnbmF0dXJl" % payload


@pytest.mark.parametrize("exp", ["1e999", "-1e999"])
def test_a_cached_token_with_an_unreadable_expiry_never_breaks_a_run(clc, hostile, exp):
    """One odd token once poisoned the cache: every later run, fences
    included, ended in "internal error: OverflowError" (issue 21)."""
    prime(hostile, clc)
    (path,) = token_files(hostile.token_dir)
    with open(path) as f:
        entry = json.load(f)
    entry["token"] = forged_token(exp)
    with open(path, "w") as f:
        json.dump(entry, f)
    for action, shown in (("status", "Status: ON\n"), ("off", "Success: Powered OFF\n")):
        result = hostile.run(hostile.params(clc, action))
        assert (result.rc, result.stdout) == (0, shown), result
    assert len(logins(clc)) == 2, clc.requests()  # the priming one, and one to replace it
    hostile.assert_sane()


def test_missing_cache_parents_are_not_made_writable_by_others_under_umask_0(clc, hostile):
    """os.makedirs gives the parents it creates 0777 minus the umask: under
    umask 0 anyone could swap the cache directory (issue 21)."""
    top = str(hostile.tmp_path / "new")
    token_dir = os.path.join(top, "fence-agents", "fence_clc")
    old_umask = os.umask(0)
    try:
        result = hostile.run(hostile.params(clc, "status",
                                            token_file=os.path.join(token_dir, "[hash].token")))
    finally:
        os.umask(old_umask)
    assert (result.rc, result.stdout) == (0, "Status: ON\n"), result
    modes = {path: os.stat(path).st_mode & 0o777
             for path in (top, os.path.dirname(token_dir), token_dir)}
    assert not any(mode & 0o022 for mode in modes.values()), modes
    assert modes[token_dir] == 0o700 and len(token_files(token_dir)) == 1, modes
    hostile.assert_sane()


def test_a_nul_byte_in_token_file_is_a_warning_and_fencing_goes_on(clc, hostile):
    """Only stdin can carry it; it ended in "internal error: ValueError:
    embedded null byte" and no fence (issue 21)."""
    token_file = os.path.join(hostile.token_dir, "a\0b", "[hash].token")
    for action, rc, shown in (("validate-all", 0, ""), ("off", 0, "Success: Powered OFF\n")):
        params = hostile.params(clc, action, token_file=token_file)
        result = run_stdin_bytes(stdin_text(params).encode())
        hostile.count(result)
        assert (result.rc, result.stdout) == (rc, shown), result
        assert any("token_file" in line and "NUL" in line for line in warnings(result)), result
    assert clc.server(PLUG)["powerState"] == "stopped"
    hostile.assert_sane()


# ---------------------------------------------------------------- 11, 12, 13: what is read

def test_monitor_with_several_plugs_checks_each(clc, hostile):
    result = hostile.run(hostile.params(clc, "monitor", plug=PLUG + ",UC1ACCTWEB02"))
    assert result.rc == 0, result
    paths = [r["path"] for r in clc.requests() if r["path"].startswith("/v2/servers/")]
    assert paths == ["/v2/servers/ACCT/" + PLUG, "/v2/servers/ACCT/UC1ACCTWEB02"]
    result = hostile.run(hostile.params(clc, "monitor", plug=PLUG + ",UC1ACCTGONE01"))
    one_failure(result, "not found")
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
        {"id": PLUG.lower(), "name": PLUG, "status": "active", "details": {"powerState": "stopped"}}]}
    clc.add_fault("body", path="^" + re.escape(va1_group_path(clc)) + "$",
                  body=json.dumps(stopped_copy))

    def lies(result):
        return PLUG.lower() in checks.off_lines(result.stdout)
    result = hostile.run(hostile.params(clc, "list-status", plug=None), false_off=lies)
    assert result.rc == 0, result
    assert "%s,%s,UNKNOWN" % (PLUG.lower(), PLUG) in result.stdout.split(), result
    hostile.assert_sane()
    assert not hostile.tally.false_off


@pytest.mark.parametrize("record_id", ["uc1acctweb02", None, 42])
def test_a_record_of_another_server_is_an_error_not_a_state(clc, hostile, record_id):
    record = {"name": "UC1ACCTWEB02", "status": "active", "details": {"powerState": "stopped"}}
    if record_id is not None:
        record["id"] = record_id
    clc.add_fault("body", path=SERVER, method="GET", body=json.dumps(record))
    result = hostile.run(hostile.params(clc, "status"), false_off=says_off)
    one_failure(result, PLUG)
    hostile.assert_sane()
    assert not hostile.tally.false_off


@pytest.mark.parametrize("action", ["list", "list-status"])
def test_list_with_an_ascii_stdout_keeps_every_line_and_id_exact(clc, hostile, action):
    """RHEL 8's Python 3.6 writes ASCII under the C locale: the library then
    printed b'...' (a wrong target for Pacemaker) or failed. A name that
    cannot be written is escaped; an id never is; a name never breaks a line."""
    clc.set_server(PLUG, name="Wéb sérveur \u2603")
    clc.set_server("UC1ACCTWEB02", name="evil\nuc1acctdb01,UC1ACCTDB01")
    env = agent_env(True, {"PYTHONIOENCODING": "ascii", "LC_ALL": "C", "LANG": "C"})
    result = hostile.run(hostile.params(clc, action, plug=None), env=env)
    assert result.rc == 0 and "b'" not in result.stdout, result
    lines = result.stdout.splitlines()
    ids = [line.split(",", 1)[0] for line in lines]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 7, result  # ACCT's servers, once each
    web = [line for line in lines if line.startswith(PLUG.lower() + ",")]
    assert web and web[0].startswith(PLUG.lower() + ",W\\xe9b s\\xe9rveur \\u2603"), result
    hostile.assert_sane()


# ---------------------------------------------------------------- power requests that never left

class LosingRelay(object):
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
            self.listener.settimeout(0.05)
            try:
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
    assert len(power_posts(sim)) == 1 and sim.server(PLUG)["powerState"] == "stopped"
    assert "fate is unknown" not in result.stderr and "no answer" not in result.stderr, result
    if how == "connect timed out":
        assert "connect timeout" in result.stderr, result
    hostile.assert_sane()


# ---------------------------------------------------------------- memory

PEAK_RSS_LAUNCHER = """#!/usr/bin/python3
# Runs the agent and writes its peak RSS (KiB) to $PEAK_RSS_FILE: measured
# from this small process, since a child's peak is never below its parent's.
import os, resource, subprocess, sys
rc = subprocess.call([os.environ["AGENT"]] + sys.argv[1:])
with open(os.environ["PEAK_RSS_FILE"], "w") as f:
    f.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(rc)
"""
MEMORY_BOUND_MB = 300  # the README's figure


def run_measuring_memory(hostile, tmp_path, params):
    launcher, peak_file = tmp_path / "launcher", tmp_path / "peak-rss"
    launcher.write_text(PEAK_RSS_LAUNCHER)
    launcher.chmod(0o755)
    env = agent_env(True, {"AGENT": AGENT, "PEAK_RSS_FILE": str(peak_file)})
    result = hostile.run(params, env=env, agent=str(launcher))
    return result, int(peak_file.read_text()) / 1024.0


def json_of_size(megabytes, item):
    count = int(megabytes * 1e6 / (len(item) + 1))
    return "[" + ",".join([item] * count) + "]"


@pytest.mark.parametrize("megabytes, item", [(16, "{}"), (63, "{}"), (15.9, "[]"), (15.9, '"ab"'),
                                             (15.9, "1.5"), (15.9, '{"a":[]}'),
                                             (15.9, '"\\ud83d\\ude00"'), (15.9, '"abcde"'),
                                             (15.9, '{"id":"x","name":"abcdefghijklmnopq"}')])
def test_a_huge_or_hostile_json_answer_keeps_memory_bounded(clc, hostile, tmp_path, megabytes,
                                                            item):
    """A 63 MB JSON body took 1.77 GB of RSS, 16 MB 449 MB. The last ones
    are as costly as the value counts allow."""
    clc.add_fault("body", path=SERVER, method="GET", body=json_of_size(megabytes, item))
    result, peak_mb = run_measuring_memory(hostile, tmp_path, hostile.params(clc, "status"))
    one_failure(result, "MB" if megabytes > 16 else PLUG)
    assert peak_mb < MEMORY_BOUND_MB, "peak RSS %.0f MB: %r" % (peak_mb, result)
    hostile.assert_sane()


def test_a_5000_server_account_in_one_data_center_is_listed_within_the_memory_bound(
        sim_factory, hostile, tmp_path):
    from clcsim.world import generate_config
    world = generate_config(5000, datacenters=1, groups=200, username=USERNAME,
                            password=SENTINEL_PASSWORD)
    sim = sim_factory(config=world)
    result, peak_mb = run_measuring_memory(hostile, tmp_path,
                                           hostile.params(sim, "list", plug=None, power_timeout="20"))
    assert result.rc == 0 and len(result.stdout.splitlines()) == 5000, result

    assert peak_mb < MEMORY_BOUND_MB, "peak RSS %.0f MB" % peak_mb
    hostile.assert_sane()


# ---------------------------------------------------------------- 14: unknown fate of a 200

def test_a_non_json_200_to_power_off_is_an_unknown_fate_to_watch(clc, hostile):
    clc.add_fault("malformed", path=POWER_POST, method="POST", count=1)
    params = hostile.params(clc, "off")
    started = time.monotonic()
    proc = start_agent(params)
    proc.stdin.write(stdin_text(params))
    proc.stdin.close()
    wait_for_request(clc, lambda r: r["method"] == "POST" and "/servers/powerOff" in r["path"])
    clc.set_server(PLUG, powerState="stopped")  # the operation did run
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.wait(timeout=HANG_AFTER)
    from agentrun import AgentResult
    result = AgentResult(proc.returncode, out, err, time.monotonic() - started)
    hostile.count(result)
    assert (result.rc, result.stdout) == (0, "Success: Powered OFF\n"), result
    assert len(power_posts(clc)) == 1
    hostile.assert_sane()


# ---------------------------------------------------------------- 15: input that broke the agent

def non_ascii_world():
    world = fencing_world()
    world["accounts"][0]["users"].append({"username": "fénceur@acct", "password": "Pässwörd-ü1"})
    return world


def test_non_ascii_credentials_on_stdin_under_an_ascii_locale(sim_factory, hostile):
    """Python 3.6 under a C/POSIX locale reads stdin as ASCII; PYTHONIOENCODING
    does the same on newer Pythons."""
    sim = sim_factory(config=non_ascii_world())
    hostile.secrets.append("Pässwörd-ü1")
    env = agent_env(True, {"PYTHONIOENCODING": "ascii", "LC_ALL": "C", "LANG": "C"})
    params = hostile.params(sim, "status", login="fénceur@acct", passwd="Pässwörd-ü1")
    result = hostile.run(params, env=env)
    assert (result.rc, result.stdout) == (0, "Status: ON\n"), result
    hostile.assert_sane()


def test_a_username_with_an_invalid_utf8_byte_is_one_clear_line(clc, hostile):
    params = hostile.params(clc, "status", login=os.fsdecode(b"fencer\xff@acct"))
    for mode in ("argv", "stdin"):
        if mode == "stdin":
            result = run_stdin_bytes(stdin_text(params).encode("utf-8", "surrogateescape"))
            hostile.count(result)
        else:
            result = hostile.run(params, mode)
        one_failure(result, "UTF-8")
    assert clc.requests() == []
    hostile.assert_sane()


def run_stdin_bytes(data):
    from agentrun import AgentResult
    started = time.monotonic()
    proc = subprocess.run([AGENT], input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=agent_env(True), timeout=HANG_AFTER * 2)
    return AgentResult(proc.returncode, proc.stdout.decode("utf-8", "replace"),
                       proc.stderr.decode("utf-8", "replace"), time.monotonic() - started)


def test_an_empty_plug_separator_is_one_clear_line(clc, hostile):
    result = hostile.run(hostile.params(clc, "status", plug_separator=""), "argv")
    one_failure(result, "plug_separator")
    hostile.assert_sane()


EVERY_ACTION = ("validate-all", "status", "off", "on", "reboot", "monitor", "list")


def assert_refused_by_every_action(hostile, sim, mode, words, **params):
    """One clear line from validate-all and every action, and no request."""
    for action in EVERY_ACTION:
        one_failure(hostile.run(hostile.params(sim, action, **params), mode), *words)
    assert sim.requests() == []
    hostile.assert_sane()


@pytest.mark.parametrize("option, value", [
    ("retry_on", "0"), ("retry_on", "-1"), ("power_wait", "-1"), ("delay", "-2"),
    ("login_timeout", "-1"), ("shell_timeout", "-3"), ("power_timeout", "-60"),
    ("stonith_status_sleep", "-1"), ("power_wait", "1" + "0" * 20), ("delay", "99999999999")])
def test_a_number_option_out_of_range_is_refused_before_any_request(clc, hostile, option, value):
    """retry_on=0 made a reboot leave the VM off yet say "Rebooted"; a
    negative power_wait ended a successful off in an internal error; both
    passed validate-all (issue 21)."""
    assert_refused_by_every_action(hostile, clc, "stdin", [option], **{option: value})
    assert clc.server(PLUG)["powerState"] == "started"


@pytest.mark.parametrize("plug", [",", PLUG + ",", "," + PLUG, PLUG + ",,UC1ACCTWEB02"])
@pytest.mark.parametrize("mode", ["stdin", "argv"])
def test_an_empty_server_id_in_plug_is_refused_before_any_request(clc, hostile, mode, plug):
    """An empty plug once read /v2/servers/ACCT/ and failed as "server  not
    found" after validate-all had accepted it (issue 21)."""
    assert_refused_by_every_action(hostile, clc, mode, ["plug", "empty"], port=plug)


@pytest.mark.parametrize("mode", ["stdin", "argv"])
def test_an_empty_plug_is_refused_where_a_server_is_needed(clc, hostile, mode):
    for action in ("validate-all", "status", "off", "reboot"):
        one_failure(hostile.run(hostile.params(clc, action, port=""), mode), "plug", "empty")
    assert clc.requests() == []
    for action, shown in (("monitor", ""), ("list", PLUG.lower() + "," + PLUG)):
        result = hostile.run(hostile.params(clc, action, port=""), mode)
        assert result.rc == 0 and shown in result.stdout, result
    hostile.assert_sane()


def test_a_bom_before_the_action_is_ignored_never_a_reboot(clc, hostile):
    """A UTF-8 BOM made the first key '\\ufeffaction': ignored, so the
    default action, reboot, ran instead of status (issue 21)."""
    params = hostile.params(clc, "status")
    assert list(params)[0] == "action"
    result = run_stdin_bytes(b"\xef\xbb\xbf" + stdin_text(params).encode())
    hostile.count(result)
    assert (result.rc, result.stdout) == (0, "Status: ON\n"), result
    assert power_posts(clc) == [], clc.requests()
    hostile.assert_sane()


@pytest.mark.parametrize("line", [
    "\u200baction=status", "action =status", "ACTION=status", "act\u00adion=status",
    "acton=status", "actions=status", "operation=status"])
def test_a_stdin_line_that_may_be_the_action_is_refused_never_a_reboot(clc, hostile, line):
    """Without a readable action= line the library runs its default,
    reboot: an unknown key that may have meant the action is refused."""
    params = hostile.params(clc, "status")
    del params["action"]
    result = run_stdin_bytes((line + "\n" + stdin_text(params)).encode())
    hostile.count(result)
    one_failure(result, "action")
    assert "status" not in checks.failure_lines(result)[0], result  # names the key, not its value
    assert clc.requests() == []
    hostile.assert_sane()


def test_json_nested_100000_deep_is_not_json_to_the_agent(clc, hostile):
    clc.add_fault("body", path=SERVER, method="GET", body="[" * 100000 + "]" * 100000)
    result = hostile.run(hostile.params(clc, "status"))
    one_failure(result, "not JSON")
    hostile.assert_sane()


# ---------------------------------------------------------------- 16: short secrets, stdin lines, names

def test_a_short_password_echoed_by_the_api_is_masked(sim_factory, hostile):
    world = fencing_world()
    world["accounts"][0]["users"].append({"username": "short@acct", "password": "pw"})
    sim = sim_factory(config=world)
    sim.add_fault("body", path=LOGIN, status=400,
                  body=json.dumps({"message": "the password 'pw' is wrong for pwned user"}))
    result = hostile.run(hostile.params(sim, "status", login="short@acct", passwd="pw"))
    one_failure(result, "rejected the login", "password")
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


def test_cache_names_need_this_hosts_secret_key_and_stay_out_of_logs(clc, hostile, tmp_path):
    names = []
    for directory in ("a", "b"):
        token_dir = str(tmp_path / directory)
        params = hostile.params(clc, "status", token_file=os.path.join(token_dir, "[hash].token"))
        assert hostile.run(params).rc == 0
        (path,) = token_files(token_dir)
        names.append(os.path.basename(path))
        keys = [name for name in os.listdir(token_dir) if "key" in name]
        assert len(keys) == 1, os.listdir(token_dir)
        assert os.stat(os.path.join(token_dir, keys[0])).st_mode & 0o777 == 0o600
    assert names[0] != names[1]  # same URL, user and password: only the key differs
    os.chmod(path, 0o644)
    result = hostile.run(params)
    assert result.rc == 0 and "token cache" in result.stderr, result
    assert names[1][:-len(".token")] not in result.stderr + result.debug_text, result
    hostile.assert_sane()
