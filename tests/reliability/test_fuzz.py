"""Bad input: arbitrary API answers (status codes and bodies, through the
simulator's body fault) and arbitrary option values (on the command line and
on stdin). Whatever comes in: no traceback, no false OFF, no leaked secret,
an exit code the fencing library defines."""

import json
import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from agentrun import REPO, SENTINEL_PASSWORD, fencing_world, stdin_params

from . import checks
from .catalogue import LOGIN, OP_STATUS, SERVER
from .runner import PLUG, run_as

# Hypothesis caches Unicode tables on disk: keep them out of the source tree.
set_hypothesis_home_dir(os.path.join(REPO, "build", "hypothesis"))
# FUZZ_EXAMPLES=500 make reliability digs deeper than the CI default.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
FUZZ_TIMEOUTS = {"power_timeout": "2", "shell_timeout": "2", "login_timeout": "1"}
EXIT_CODES = (0, 1, 2)
KILL_AFTER = 30
HANG_AFTER = 15

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8)


def loosely(*choices):
    """Mostly the values CLC uses, sometimes anything JSON."""
    return st.sampled_from(choices) | json_values


server_objects = st.fixed_dictionaries({}, optional={
    "id": loosely(PLUG.lower(), PLUG),
    "status": loosely("active", "archived", "underConstruction", "deleted", "queuedForDelete"),
    "details": st.fixed_dictionaries({}, optional={
        "powerState": loosely("started", "stopped", "paused", "Stopped", "off", ""),
        "inMaintenanceMode": json_values}) | json_values})
operation_objects = st.fixed_dictionaries({}, optional={
    "status": loosely("notStarted", "executing", "succeeded", "failed", "resumed", "unknown")})
login_objects = st.fixed_dictionaries({}, optional={
    "bearerToken": loosely("a.b.c", ""), "accountAlias": loosely("ACCT", "acct", "")})


def bodies(objects):
    """JSON of the right shape, of any shape, cut short, or not JSON at all."""
    return st.one_of(objects.map(json.dumps), json_values.map(json.dumps),
                     objects.map(lambda value: json.dumps(value)[:-1]), st.text(max_size=60))


http_statuses = st.sampled_from([200, 200, 200, 204, 400, 401, 403, 404, 429, 500, 503]) \
    | st.integers(200, 599)


def said_stopped(status, body):
    """Whether an answer really claimed the server is stopped."""
    try:
        data = json.loads(body)
    except ValueError:
        return False
    details = data.get("details") if isinstance(data, dict) else None
    return status == 200 and isinstance(details, dict) and details.get("powerState") == "stopped"


def says_off(result):
    return result.rc == 2 or "Status: OFF" in result.stdout


@pytest.fixture
def fuzz_sim(sim_factory):
    return sim_factory(config=fencing_world())


@pytest.fixture
def tally(request, record_run):
    """A Tally for the test, handed to the report even when the test fails."""
    tally = checks.Tally("fuzz: " + request.node.name)
    yield tally
    record_run(tally.record(), kind="fuzz")


def fuzz_run(sim, tmp_path, params, mode="stdin"):
    debug_file = str(tmp_path / "debug.log")
    params = dict(params, debug_file=debug_file, verbose="1")
    if os.path.exists(debug_file):
        os.unlink(debug_file)
    return run_as(mode, params, debug_file=debug_file, timeout=KILL_AFTER)


def one_answer_fault(sim, path, method, status, body):
    """Only the next matching request gets the odd answer (a retry gets a
    real one), which keeps retries and backoff short."""
    sim.clear_faults()
    sim.add_fault("body", path=path, method=method, count=1, status=status, body=body)


def assert_sane(result, tally, sim, false_off=False):
    secrets = [SENTINEL_PASSWORD] + sim.issued_tokens()
    tally.add(result, secrets, false_off=false_off, hang=result.seconds > HANG_AFTER)
    assert result.rc in EXIT_CODES, result
    assert not checks.crashed(result), result
    assert not false_off, result
    assert result.rc != 1 or checks.failure_lines(result) or "ERROR:" in result.stderr, result
    assert not tally.leaks, tally.leaks


def fuzz_answers(sim, tmp_path, tally, params, path, method, objects, lie):
    """Odd answers to one kind of request; lie(result, status, body) tells
    whether the agent's output was a false OFF given what it was told."""
    @FUZZ
    @given(status=http_statuses, body=bodies(objects))
    def check(status, body):
        one_answer_fault(sim, path, method, status, body)
        result = fuzz_run(sim, tmp_path, params)
        assert_sane(result, tally, sim, lie(result, status, body))
    check()


def test_any_server_answer(fuzz_sim, tmp_path, tally):
    params = stdin_params(fuzz_sim, str(tmp_path / "tokens"), PLUG, "status", **FUZZ_TIMEOUTS)
    fuzz_answers(fuzz_sim, tmp_path, tally, params, SERVER, "GET", server_objects,
                 lambda result, status, body: says_off(result) and not said_stopped(status, body))


def test_any_login_answer(fuzz_sim, tmp_path, tally):
    params = stdin_params(fuzz_sim, str(tmp_path), PLUG, "status", token_file="none", **FUZZ_TIMEOUTS)
    fuzz_answers(fuzz_sim, tmp_path, tally, params, LOGIN, "POST", login_objects,
                 lambda result, status, body: says_off(result))


def test_any_operation_status(fuzz_sim, tmp_path, tally):
    """off with odd answers from the operation's status link: success only
    when the server really stopped."""
    params = stdin_params(fuzz_sim, str(tmp_path / "tokens"), PLUG, "off", **FUZZ_TIMEOUTS)

    @settings(FUZZ, max_examples=max(1, EXAMPLES * 3 // 8))
    @given(status=http_statuses, body=bodies(operation_objects))
    def check(status, body):
        fuzz_sim.set_server(PLUG, powerState="started")
        time.sleep(0.4)  # the previous example's operation has landed
        fuzz_sim.set_server(PLUG, powerState="started")
        one_answer_fault(fuzz_sim, OP_STATUS, "GET", status, body)
        result = fuzz_run(fuzz_sim, tmp_path, params)
        stopped = fuzz_sim.server(PLUG)["powerState"] == "stopped"
        assert_sane(result, tally, fuzz_sim, checks.claims_success(result) and not stopped)
    check()


# Any text an admin or a CIB can hold, except what cannot travel in argv or
# in one stdin line.
option_text = st.text(st.characters(blacklist_categories=("Cs",),
                                    blacklist_characters="\x00\n\r"), max_size=24)
# Network options stay on loopback: never a random address.
SAFE_PROXIES = ("none", "off", "", "http://127.0.0.1:1", "socks5://127.0.0.1:1", "ftp://127.0.0.1:1",
                "http://user:pw@127.0.0.1:1", "127.0.0.1:1")
odd_options = st.fixed_dictionaries({}, optional={
    "port": option_text | st.sampled_from([PLUG, PLUG.lower(), "UC1ACCTGONE01"]),
    "account": option_text | st.sampled_from(["ACCT", "SUBA", "suba"]),
    "method": option_text | st.sampled_from(["onoff", "cycle"]),
    "power_timeout": option_text | st.integers(-5, 10 ** 12).map(str),
    "shell_timeout": option_text | st.integers(-5, 10 ** 12).map(str),
    "login_timeout": option_text | st.integers(-5, 10 ** 12).map(str),
    "monitor_timeout": option_text | st.integers(-5, 10 ** 12).map(str),
    "token_file": option_text,
    "cacert": option_text,
    "login": option_text,
    "separator": option_text,
    "proxy": st.sampled_from(SAFE_PROXIES),
})


def test_any_option_values(fuzz_sim, tmp_path, tally):
    base = stdin_params(fuzz_sim, str(tmp_path / "tokens"), PLUG, "status", **FUZZ_TIMEOUTS)

    @FUZZ
    @given(options=odd_options, action=st.sampled_from(["status", "monitor", "list-status"]),
           mode=st.sampled_from(["stdin", "argv"]))
    def check(options, action, mode):
        params = dict(base, action=action, **options)
        if "token_file" in options:  # only ever under the test's own directory
            params["token_file"] = os.path.join(str(tmp_path), "t", options["token_file"])
        result = fuzz_run(fuzz_sim, tmp_path, params, mode)
        false_off = says_off(result) or any(  # the world's archived servers are truly off
            fuzz_sim.server(server_id)["powerState"] != "stopped" for server_id in checks.off_lines(result.stdout))
        assert_sane(result, tally, fuzz_sim, false_off)
    check()
