"""Shared pytest fixtures: a CLC v2 API simulator per test."""

import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from clcsim import Simulator  # noqa: E402  (needs the repo root on sys.path)

# The reliability matrix's report: loaded here so that the controller process
# of a parallel run (which reads only this conftest) prints it.
pytest_plugins = ["reliability.report"]

FAST_TIMING = {"op_duration": 0.3, "op_start_delay": 0.05}


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
