"""Shared pytest fixtures: a CLC v2 API simulator per test."""

import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from clcsim import Simulator  # noqa: E402  (needs the repo root on sys.path)
from clcsim.client import SimClient  # noqa: E402
from agentrun import FAST_TIMING  # noqa: E402

# The reliability matrix's report: loaded here so that the controller process
# of a parallel run (which reads only this conftest) prints it.
pytest_plugins = ["reliability.report"]


@pytest.fixture
def sim_factory():
    """Start simulators: sim_factory(**Simulator kwargs) -> started Simulator.

    Fast operation timing unless overridden; all are stopped at teardown.
    """
    started = []

    def start(**kwargs):
        sim = Simulator(**dict(FAST_TIMING, **kwargs)).start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(sim_factory):
    """A plain-HTTP simulator of the default world with fast operations."""
    return sim_factory()


@pytest.fixture
def api(sim):
    """A logged-in client of `sim`; operations run fast where timing is not
    under test, and a request that hangs gives up after 3 s."""
    sim.configure(op_duration=0.05, op_start_delay=0.0)
    client = SimClient(sim, timeout=3)
    client.login()
    return client
