"""--delay (the two-node cluster's fencing delay): no request reaches CLC
before it has passed, for off and reboot, from Pacemaker and by hand."""

import time

import pytest

from agentrun import SENTINEL_PASSWORD, stdin_params

from . import checks
from .runner import PLUG, run_as

DELAY = 2
TIMEOUTS = {"power_timeout": "10", "shell_timeout": "5", "login_timeout": "2"}


def first_request_after(sim, tmp_path, action, mode):
    """Seconds from the agent's start to the first request CLC saw."""
    params = stdin_params(sim, str(tmp_path / "tokens"), PLUG, action,
                          delay=str(DELAY), **TIMEOUTS)
    started_at = time.time()
    result = run_as(mode, params)
    requests = sim.requests()
    assert requests, result
    return requests[0]["time"] - started_at, result


@pytest.mark.parametrize("mode", ["stdin", "argv"])
@pytest.mark.parametrize("action", ["off", "reboot"])
def test_no_request_before_the_delay(clc, tmp_path, action, mode, record_run):
    waited, result = first_request_after(clc, tmp_path, action, mode)
    tally = checks.Tally("delay: %s --delay %d [%s]: first request after %.2f s"
                         % (action, DELAY, mode, waited))
    tally.add(result, [SENTINEL_PASSWORD] + clc.issued_tokens())
    record_run(tally.record(), kind="delay")
    assert result.rc == 0, result
    assert waited >= DELAY, result


@pytest.mark.parametrize("action", ["status", "monitor"])
def test_probes_are_not_delayed(clc, tmp_path, action):
    """Pacemaker passes the same delay to status and monitor; like the
    library, the agent delays only the actions that fence."""
    waited, result = first_request_after(clc, tmp_path, action, "stdin")
    assert result.rc == 0, result
    assert waited < DELAY, result
