"""Fixtures for the two-node cluster tests: root, the cluster packages, and
the single-node harness of tests/cluster, whose pieces these tests reuse."""

import pytest

from cluster.stack import require_cluster
from twonode import TwoNodeCluster


@pytest.fixture
def cluster():
    """Two running nodes, each fencing the other's VM through fence_clc.
    Torn down (every namespace, daemon and mount) whatever the test did."""
    require_cluster()
    with TwoNodeCluster() as running:
        yield running
        running.raise_errors()
