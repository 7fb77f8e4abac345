"""Hostile cases: what a hostile review tried against the agent (issue 13),
each as real agent runs against the simulator. Every run is judged as the
matrix judges it (traceback, leaked secret, false OFF, hang) and counted in
the report's totals as a hostile case."""

import fcntl
import json
import os
import re
import subprocess
import time

import pytest

from agentrun import (AGENT, SENTINEL_PASSWORD, TRACEBACK, agent_env, closed_port_url,
                      fencing_world, stdin_params, stdin_text)
from clcsim.client import SimClient
from support import logins, power_posts, require_commands

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
    started = time.monotonic()
    proc = subprocess.Popen(["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                             "--clear-groups", AGENT],
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
    from agentrun import AgentResult
    result = AgentResult(proc.returncode, out, err, time.monotonic() - started)
    hostile.count(result)
    assert proc_owner == 0, (proc_owner, result)
    one_failure(result, "no answer")
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
