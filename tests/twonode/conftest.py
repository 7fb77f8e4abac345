"""Fixtures for the two- and three-node cluster tests: root, the cluster
packages, and the single-node harness of tests/cluster, whose pieces these
tests reuse."""

import pytest

from cluster.stack import require_cluster
from twonode import Cluster


@pytest.fixture
def cluster():
    """Two running nodes, each fencing the other's VM through fence_clc.
    Torn down (every namespace, daemon and mount) whatever the test did."""
    require_cluster()
    with Cluster() as running:
        yield running
        running.raise_errors()


@pytest.fixture
def make_cluster():
    """make_cluster(names, devices) -> a running Cluster of those nodes with
    those fence devices (see twonode.Cluster); torn down like `cluster`."""
    require_cluster()
    started = []

    def start(*args, **kwargs):
        running = Cluster(*args, **kwargs)
        started.append(running)
        return running.start()
    yield start
    for running in started:
        running.stop()
    for running in started:
        running.raise_errors()
