"""Fixtures for the two-node cluster tests: root, the cluster packages, and
the single-node harness of tests/cluster, whose pieces these tests reuse."""

import pytest

from cluster.stack import missing_requirements
from twonode import TwoNodeCluster


@pytest.fixture
def cluster():
    """Two running nodes, each fencing the other's VM through fence_clc.
    Torn down (every namespace, daemon and mount) whatever the test did."""
    reason = missing_requirements()
    if reason:
        pytest.skip(reason)
    with TwoNodeCluster() as running:
        yield running
        running.raise_errors()
