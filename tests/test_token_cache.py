"""The token cache: one login reused across runs, bound to URL, user and password, safe
against a hostile or broken cache, concurrent runs and stuck lock holders.

Real agent processes against the CLC simulator over real HTTP(S). The cases
taking the `hostile` fixture came from a hostile review: each run is also
judged as the reliability matrix judges it and counted in its totals."""

import fcntl
import json
import os
import time

import pytest

from agentrun import (FAST_ARGS, SENTINEL_PASSWORD, TRACEBACK, WEB, agent, assert_one_clear_error,
                      cli_args, fencing_world, run_agent, stdin_text, token_files)
from reliability.catalogue import LOGIN, POWER_POST, SERVER
from reliability.hostile import (HANG_AFTER, OTHER_PASSWORD, OTHER_USER, prime, run_stdin_bytes,
                                 start_agent, wait_for_request, warnings)
from support import logins


# ---------------------------------------------------------------- token cache

def test_token_is_cached_0600_and_reused(clc, token_dir):
    agent(clc, token_dir, "status")
    agent(clc, token_dir, "status")
    assert len(logins(clc)) == 1
    (path,) = token_files(token_dir)
    assert os.stat(path).st_mode & 0o777 == 0o600


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
    (path,) = token_files(token_dir)
    with open(path, "w") as f:
        f.write("{not json")
    result = agent(clc, token_dir, "status")
    assert result.rc == 0 and not TRACEBACK.search(result.output), result
    assert len(logins(clc)) == 2
    with open(path) as f:
        assert json.load(f)["accountAlias"] == "ACCT"


def test_a_cache_file_of_the_wrong_mode_is_named_once_with_the_way_out(clc, token_dir):
    agent(clc, token_dir, "status")
    (path,) = token_files(token_dir)
    os.chmod(path, 0o644)
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
        args = cli_args(clc, token_dir, WEB, "status", FAST_ARGS)
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
    args = cli_args(clc, token_dir, WEB, "status", FAST_ARGS)
    args[args.index(SENTINEL_PASSWORD)] = "not-the-password"
    assert_one_clear_error(run_agent(args), "rejected the login")


# ---------------------------------------------------------------- cache binding

def test_a_fixed_token_file_is_bound_to_url_user_and_password(sim_factory, clc, hostile):
    token_file = os.path.join(hostile.token_dir, "clc.token")
    assert hostile.run(hostile.params(clc, "status", token_file=token_file)).rc == 0

    result = hostile.run(hostile.params(clc, "off", token_file=token_file, passwd="wrong-password"))
    assert_one_clear_error(result, "rejected the login")
    assert clc.server(WEB)["powerState"] == "started"

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
    assert_one_clear_error(result, "bearerToken")
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
    assert_one_clear_error(result, "rejected the login")
    assert len(logins(sim)) == 2 and sim.server(WEB)["powerState"] == "started", sim.requests()
    hostile.assert_sane()


# ---------------------------------------------------------------- concurrent runs, odd files

def test_repeated_401_on_the_power_post_logs_in_once(clc, hostile):
    prime(hostile, clc)
    clc.clear_requests()
    clc.add_fault("status", path=POWER_POST, method="POST", status=401)
    result = hostile.run(hostile.params(clc, "off"))
    assert_one_clear_error(result, "401")
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
    assert clc.server(WEB)["powerState"] == "stopped"
    hostile.assert_sane()


# ---------------------------------------------------------------- cache file names

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
