"""One real fence inside a distribution root (run there by test_debian_stack
through tools/roots.run_in_root, in private mount, PID and network
namespaces): the root's own Corosync and Pacemaker on one node, the CLC
simulator under the root's own python3, the seed's `pcs stonith create`,
then `stonith_admin --reboot` of a node that is that device's VM, a
recurring monitor over an API that starts hanging, and one over an API
that no connection reaches.

Reuses the cluster tests' harness (tests/cluster/stack.py, nsinit.py) from
inside: commands run directly instead of through nsenter. Prints one JSON
object: what pcs, the fencer and the simulator said. Everything it starts
dies with the root's PID namespace.
"""

import json
import os
import signal
import sys
import tempfile
import traceback

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path[:0] = [os.path.join(SRC, "tests"), SRC]

from agentrun import (AGENT, SENTINEL_PASSWORD, USERNAME, fencing_world,  # noqa: E402
                      unconnectable_url)
from cluster import nsinit  # noqa: E402
from cluster.stack import Namespace, PacemakerNode, SimulatorProcess  # noqa: E402
from support import wait_until  # noqa: E402

NODE = "web01"          # fenced: not a member of the one-node cluster
VM = "UC1ACCTWEB01"     # its CLC server (the seed's switch)
OTHER_VM = "UC1ACCTWEB02"


class HereNamespace(Namespace):
    """stack.Namespace for a process already inside its namespaces."""

    def start(self):
        nsinit.prepare(self.agent)
        self.workdir = tempfile.mkdtemp(prefix="fence-clc-stack-")
        os.chmod(self.workdir, 0o755)  # daemons running as hacluster read configs here
        self.pid = os.getpid()
        return self

    def _enter(self, argv):
        return list(argv)

    def path(self, inside):
        return inside

    def stop(self):
        for child in self._spawned:
            if child.poll() is None:
                child.send_signal(signal.SIGKILL)
            child.wait()
        self._spawned = []


def seed_command(api_url):
    """The seed article's pcs command (no proxy: left out), api_url added."""
    return ["pcmk_host_check=static-list", "pcmk_host_list=" + NODE, "account=ACCT",
            "login=" + USERNAME, "passwd=" + SENTINEL_PASSWORD, "switch=" + VM,
            "api_url=" + api_url]


def completed(result):
    return {"rc": result.returncode, "stdout": result.stdout, "stderr": result.stderr}


def version(ns, *argv):
    result = ns.run(*argv)
    return (result.stdout + result.stderr).strip().splitlines()[0]


def fence_once(ns, report):
    node = PacemakerNode(ns).start()
    sim = SimulatorProcess(ns, fencing_world(), op_duration=0.3).start()
    report["versions"] = {
        "pacemaker": version(ns, "pacemakerd", "--version"),
        "corosync": version(ns, "corosync", "-v"),
        "pcs": version(ns, "pcs", "--version"),
        "python": sys.version.split()[0],
    }
    report["create"] = completed(node.create_device("seed", "fence_clc", *seed_command(sim.url)))
    report["fence"] = completed(node.fence("reboot", NODE, timeout=60))
    report["history"] = node.history(NODE)
    report["power_posts"] = sim.power_posts()
    report["vm_states"] = [state for _t, state in sim.server(VM)["power_history"]]
    report["other_vm_states"] = [state for _t, state in sim.server(OTHER_VM)["power_history"]]
    return node, sim


def monitor_over_a_hanging_api(node, sim, report):
    """A recurring monitor, default timeouts, whose API starts hanging: how
    the root's cluster records the failure."""
    node.remove_all_devices()
    sim.reset()
    params = ["pcmk_host_map=%s:%s" % (NODE, VM), "login=" + USERNAME,
              "passwd=" + SENTINEL_PASSWORD, "api_url=" + sim.url]
    node.create_device("watched", "fence_clc", *params, "op", "monitor", "interval=5s")
    wait_until(lambda: len([entry for entry in sim.requests()
                            if entry["path"] == "/v2/datacenters/ACCT"]) >= 2, 20,
               what="two monitor runs (start and a recurring one)")
    sim.add_fault("hang", path="^/v2/")
    report["monitor_failures"] = wait_until(lambda: node.failed_operations("watched"), 45,
                                            what="crm_mon to show the failed monitor")
    sim.clear_faults()


def monitor_that_cannot_connect(node, report):
    """A device, default timeouts, whose API drops the node's packets (no
    connection is made, nor refused): how the root's cluster records its
    first failed monitor, and the agent's line in the fencer's log."""
    node.remove_all_devices()
    with unconnectable_url() as url:
        node.create_device("unreachable", "fence_clc", "pcmk_host_map=%s:%s" % (NODE, VM),
                           "login=" + USERNAME, "passwd=" + SENTINEL_PASSWORD, "api_url=" + url,
                           "op", "monitor", "interval=5s")
        report["unreachable_failures"] = wait_until(
            lambda: node.failed_operations("unreachable"), 45,
            what="crm_mon to show the failed operation")
    with open("/var/log/pacemaker/pacemaker.log") as log:
        report["unreachable_lines"] = [line for line in log if "cannot connect to the CLC API" in line]


def main():
    report = {}
    ns = HereNamespace(AGENT)
    try:
        ns.start()
        node, sim = fence_once(ns, report)
        monitor_over_a_hanging_api(node, sim, report)
        monitor_that_cannot_connect(node, report)
    except Exception:
        report["error"] = traceback.format_exc()
        if ns.workdir:
            report["logs"] = {name: ns.log_text(name)[-4000:]
                              for name in ("corosync", "pacemakerd", "clcsim")}
            try:
                with open("/var/log/pacemaker/pacemaker.log") as log:
                    report["logs"]["pacemaker.log"] = log.read()[-6000:]
            except OSError:
                pass
    finally:
        ns.stop()
    sys.stdout.write(json.dumps(report) + "\n")
    return 1 if "error" in report else 0


if __name__ == "__main__":
    sys.exit(main())
