"""Fixtures for the two-node cluster tests: root, the cluster packages, and
the single-node harness of tests/cluster, whose pieces these tests reuse."""

import os
import sys

import pytest

CLUSTER_HARNESS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "cluster")
if CLUSTER_HARNESS not in sys.path:
    sys.path.insert(0, CLUSTER_HARNESS)

from stack import missing_requirements  # noqa: E402  (needs the path above)
from twonode import TwoNodeCluster  # noqa: E402


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
