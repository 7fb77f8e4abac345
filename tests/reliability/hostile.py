"""The hostile cases' fixture (a pytest plugin, loaded by tests/conftest.py):
`hostile` runs the agent for one case of a hostile review, judges every run
as the matrix judges it (traceback, leaked secret, false OFF, hang) and
counts it in the report's totals as a hostile case; and the helpers those
cases share."""

import os
import subprocess
import time

import pytest

from agentrun import (AGENT, FAST, SENTINEL_PASSWORD, WEB, AgentResult, agent_env, stdin_params)

from support import wait_until

from . import checks
from .runner import run_as

OTHER_USER, OTHER_PASSWORD = "admin@acct", "s3cret-Passw0rd"
HANG_AFTER = 20
HERE = os.path.dirname(os.path.abspath(__file__))


def pytest_collection_modifyitems(items):
    """Mark this package's tests and the hostile cases (in the behaviour
    suites) `reliability`: `make reliability` runs them with -m."""
    for item in items:
        if "hostile" in item.fixturenames or str(item.fspath).startswith(HERE + os.sep):
            item.add_marker(pytest.mark.reliability)


class Hostile:
    """Runs the agent for one hostile case and counts every run."""

    def __init__(self, tmp_path, name):
        self.tmp_path = tmp_path
        self.token_dir = str(tmp_path / "tokens")
        self.debug_file = str(tmp_path / "debug.log")
        self.tally = checks.Tally("hostile: " + name)
        self.sims = []
        self.secrets = [SENTINEL_PASSWORD]

    def params(self, sim, action="status", plug=WEB, **extra):
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
    text = lambda out: out.decode("utf-8", "replace") if isinstance(out, bytes) else (out or "")
    return AgentResult(None, text(ex.stdout), text(ex.stderr), HANG_AFTER * 2)


@pytest.fixture
def hostile(request, tmp_path, record_run):
    case = Hostile(tmp_path, request.node.name)
    yield case
    record_run(case.tally.record(), kind="hostile")


def prime(hostile, sim, **extra):
    result = hostile.run(hostile.params(sim, "monitor", **extra))
    assert result.rc == 0, result
    return result


def says_off(result):
    return result.rc == 2 or "Status: OFF" in result.stdout


def warnings(result):
    return [line for line in result.stderr.splitlines() if " WARNING: " in line]


def wait_for_request(sim, predicate, timeout=15):
    wait_until(lambda: any(predicate(r) for r in sim.requests()), timeout, interval=0.02,
               what="the request the case waits for")


def start_agent(params):
    return subprocess.Popen([AGENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True,
                            env=agent_env(pacemaker=True))


def run_stdin_bytes(data):
    started = time.monotonic()
    proc = subprocess.run([AGENT], input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=agent_env(True), timeout=HANG_AFTER * 2)
    return AgentResult(proc.returncode, proc.stdout.decode("utf-8", "replace"),
                       proc.stderr.decode("utf-8", "replace"), time.monotonic() - started)
