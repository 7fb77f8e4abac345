"""The test every HA admin runs before trusting a fence device, automated:
two Pacemaker/Corosync nodes fence each other's simulated CLC VM."""

import pytest

from stack import wait_until
from twonode import vm_of

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def test_pcs_stonith_fence_reboots_the_peer_through_fence_clc(cluster):
    sim = cluster.cloud.sim

    cluster.pcs("node1", "stonith", "fence", "node2")

    assert sim.power_posts(vm_of("node2")) == ["powerOff", "powerOn"]
    assert sim.power_posts(vm_of("node1")) == []
    assert [(node, state) for _t, node, state in cluster.power_log] == \
        [("node2", "stopped"), ("node2", "started")]
    assert "reboot of node2 successful" in cluster.nodes["node1"].history("node2")
    # The VM is on again, so node2 boots, rejoins and takes its resource back.
    wait_until(lambda: cluster.where("dummy-node2") == ["node2"], 60, interval=0.5,
               what="node2 back with its resource")
    assert cluster.where("dummy-node1") == ["node1"]
