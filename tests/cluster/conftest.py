"""One real one-node Pacemaker stack per test module, with the CLC simulator
and a proxy beside it, cleaned between tests."""

import pytest

from agentrun import SENTINEL_PASSWORD, USERNAME
from clcsim import generate_config

from .stack import Namespace, PacemakerNode, SimulatorProcess, Tinyproxy, require_cluster

# Many servers over two data centers and nested groups: the dynamic host
# list has to find its target among them.
WORLD = generate_config(300, datacenters=2, groups=12, username=USERNAME,
                        password=SENTINEL_PASSWORD)


class Cluster:
    def __init__(self, ns, node, sim, proxy):
        self.ns = ns
        self.node = node
        self.sim = sim
        self.proxy = proxy

    def reset(self):
        """No devices, no fencing history, no cached token, a clean simulator."""
        self.node.remove_all_devices()
        self.ns.run("rm", "-rf", "/run/fence-agents/fence_clc")
        self.sim.reset()
        self.node.mark_log()

    def device_params(self, **params):
        """key=value arguments for pcs: our simulator and account, short timeouts."""
        base = {"api_url": self.sim.url, "login": USERNAME, "passwd": SENTINEL_PASSWORD,
                "power_timeout": "5", "shell_timeout": "5", "login_timeout": "3"}
        base.update(params)
        return ["%s=%s" % item for item in base.items()]


@pytest.fixture
def cluster_requirements():
    """Root and the cluster packages, or the test fails saying which."""
    require_cluster()


@pytest.fixture(scope="module")
def running_cluster():
    require_cluster()
    ns = Namespace().start()
    try:
        node = PacemakerNode(ns).start()
        sim = SimulatorProcess(ns, WORLD).start()
        proxy = Tinyproxy(ns).start()
        yield Cluster(ns, node, sim, proxy)
    finally:
        ns.stop()


@pytest.fixture
def cluster(running_cluster):
    running_cluster.reset()
    return running_cluster
