"""crmsh, the shell of SUSE and many Debian users: the README's crm form
of the seed command creates working devices, `crm ra info` describes the
agent, and `crm node fence` fences through it."""

import pytest

from support import require_commands, wait_until
from twonode import power_operations, seed_device_params, vm_of

DELAY = "5s"

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def crm_device_per_node(cluster):
    """`crm configure primitive ... stonith:fence_clc params ...` with the
    seed article's parameters, kept off the node each device fences; the
    README's two-device recipe: the device fencing node1 waits."""
    for name in cluster.names:
        delay = ["pcmk_delay_base=" + DELAY] if name == "node1" else []
        cluster.crm(cluster.names[0], "configure", "primitive", "fence-" + name,
                    "stonith:fence_clc", "params", "pcmk_host_check=static-list",
                    "pcmk_host_list=" + name, "switch=" + vm_of(name),
                    *(seed_device_params(cluster.cloud) + delay))
        cluster.crm(cluster.names[0], "configure", "location", "fence-%s-avoids" % name,
                    "fence-" + name, "-inf:", name)


def cib_value(cluster, *query):
    return cluster.nodes["node1"].ns.run(*query, check=True).stdout.strip()


def assert_crm_recipes_reach_the_cib(cluster):
    """The README's crm lines for the fence race give the CIB what the pcs
    lines give it (test_race.py proves what those values do)."""
    host_map = "node1:%s;node2:%s" % (vm_of("node1"), vm_of("node2"))
    cluster.crm("node1", "configure", "primitive", "fence-clc", "stonith:fence_clc", "params",
                "pcmk_host_map=" + host_map, "pcmk_delay_base=node1:%s;node2:0s" % DELAY,
                *seed_device_params(cluster.cloud))
    cluster.crm("node1", "configure", "property", "priority-fencing-delay=" + DELAY)
    cluster.crm("node1", "resource", "meta", "dummy-node1", "set", "priority", "10")

    def parameter(resource, name, *meta):
        return cib_value(cluster, "crm_resource", "--resource", resource, *meta,
                         "--get-parameter", name, "--quiet")
    assert parameter("fence-node1", "pcmk_delay_base") == DELAY
    assert parameter("fence-clc", "pcmk_host_map") == host_map
    assert parameter("fence-clc", "pcmk_delay_base") == "node1:%s;node2:0s" % DELAY
    assert parameter("dummy-node1", "priority", "--meta") == "10"
    assert cib_value(cluster, "crm_attribute", "--type", "crm_config", "--name",
                     "priority-fencing-delay", "--query", "--quiet") == DELAY


def test_crm_configures_describes_fences_and_sets_the_race_recipes(make_cluster):
    require_commands("crm")
    cluster = make_cluster(("node1", "node2"), devices=crm_device_per_node)
    sim = cluster.cloud.sim
    registered = cluster.nodes["node1"].registered_devices()
    assert "fence-node2" in registered and "fence-node1" not in registered, registered

    described = cluster.crm("node1", "ra", "info", "stonith:fence_clc").stdout
    for parameter in ("api_url", "account", "login", "passwd", "switch", "proxy"):
        assert parameter in described

    sim.clear_requests()
    cluster.crm("node1", "-F", "node", "fence", "node2")  # -F: no confirmation question

    wait_until(lambda: "reboot of node2 successful" in cluster.nodes["node1"].history("node2"),
               60, interval=0.3, what="node2 fenced")
    assert power_operations(sim, vm_of("node2")) == ["powerOff", "powerOn"]
    assert power_operations(sim, vm_of("node1")) == []
    wait_until(lambda: cluster.where("dummy-node2") == ["node2"], 60, interval=0.5,
               what="node2 back with its resource")

    assert_crm_recipes_reach_the_cib(cluster)
