"""Two or three Pacemaker/Corosync nodes fencing each other's simulated CLC VM.

Private namespaces (see tests/cluster/stack.py) on one network that exists
only inside them:

    node1 (10.250.0.1) --veth-- br0 in "cloud" (10.250.0.254) --veth-- node2 (10.250.0.2)
                                         |
                                       veth-- node3 (10.250.0.3), when asked for

The cloud namespace runs the CLC simulator, which holds one VM per node.
Its power-change hook appends "SERVER STATE" lines to a file; a watcher
thread in the test process turns "stopped" into SIGKILL of the node's
PID 1 (every daemon of the node dies with it, its network goes away) and
"started" into a fresh node that joins the cluster again.
"""

import os
import re
import signal
import subprocess
import threading
import time
from xml.etree import ElementTree

from agentrun import SENTINEL_PASSWORD, USERNAME, fencing_world
from cluster.stack import Namespace, PacemakerNode, SimulatorProcess
from support import wait_until

SUBNET = "10.250.0.%d/24"
CLOUD_HOST = 254
SIM_PORT = 8480
BRIDGE_MAC = "02:00:0a:fa:00:fe"
# name -> (host number on the subnet, the CLC VM that runs the node)
NODES = {"node1": (1, "UC1ACCTWEB01"), "node2": (2, "UC1ACCTWEB02"), "node3": (3, "UC1ACCTDB01")}
# The agent's own deadlines: Pacemaker zeroes the library's.
AGENT_TIMEOUTS = {"power_timeout": "10", "shell_timeout": "3", "login_timeout": "2"}


def address(number):
    return SUBNET.split("/")[0] % number


def vm_of(node):
    return NODES[node][1]


def node_of(vm):
    return next(name for name, (_number, server) in NODES.items() if server == vm.upper())


def power_operations(sim, vm):
    """The power operations (powerOff, powerOn, reset, ...) asked of `vm`."""
    return [operation for operation, servers in sim.power_posts()
            if vm.upper() in [server.upper() for server in servers or []]]


class Cloud:
    """The cloud namespace: a bridge every node plugs into, and the simulator."""

    def __init__(self, op_duration=0.3):
        self.ns = Namespace()
        self.sim = None
        self.op_duration = op_duration  # seconds a power operation takes at "CLC"

    def start(self):
        self.ns.start()
        # A fixed MAC: by default a bridge takes the lowest of its ports', so
        # it would change whenever a node's port comes or goes, and the other
        # node would keep sending to the old one until its ARP entry expires.
        for argv in (("ip", "link", "add", "br0", "address", BRIDGE_MAC, "type", "bridge"),
                     ("ip", "addr", "add", SUBNET % CLOUD_HOST, "dev", "br0"),
                     ("ip", "link", "set", "br0", "up")):
            self.ns.run(*argv, check=True)
        hook = 'echo "$CLCSIM_SERVER_ID $CLCSIM_POWER_STATE" >> %s' % self.events_file()
        self.sim = SimulatorProcess(self.ns, fencing_world(), port=SIM_PORT, host=address(CLOUD_HOST),
                                    op_duration=self.op_duration,
                                    extra_args=["--on-power-change", hook]).start()
        return self

    def events_file(self):
        return os.path.join(self.ns.workdir, "power-events")

    def plug(self, node_ns, name):
        """A veth pair: one end on the bridge, the other as eth0 of the node."""
        port, number = "veth-" + name, NODES[name][0]
        self.ns.run("ip", "link", "del", port)  # the end left over from a previous boot, if any
        # Only the network namespace: the node's PID must be visible.
        subprocess.run(["nsenter", "--target", str(self.ns.pid), "--net", "--",
                        "ip", "link", "add", port, "type", "veth", "peer", "name", "eth0",
                        "netns", str(node_ns.pid)], check=True)
        self.ns.run("ip", "link", "set", port, "master", "br0", "up", check=True)
        node_ns.run("ip", "addr", "add", SUBNET % number, "dev", "eth0", check=True)
        node_ns.run("ip", "link", "set", "eth0", "up", check=True)

    def stop(self):
        self.ns.stop()


def seed_device_params(cloud):
    """The seed article's device parameters but the host list and switch,
    plus api_url (the simulator's) and the agent's short deadlines."""
    return (["account=ACCT", "login=" + USERNAME, "passwd=" + SENTINEL_PASSWORD,
             "api_url=" + cloud.sim.url] +
            ["%s=%s" % item for item in sorted(AGENT_TIMEOUTS.items())])


def device_per_node(cluster, extra=None):
    """The seed article's `pcs stonith create` for each node's VM, kept off
    the node it fences; extra: {node: [more parameters of its device]}."""
    for name in cluster.names:
        cluster.pcs(cluster.names[0], "stonith", "create", "fence-" + name, "fence_clc",
                    "pcmk_host_check=static-list", "pcmk_host_list=" + name,
                    "switch=" + vm_of(name), *(seed_device_params(cluster.cloud) +
                                               (extra or {}).get(name, [])))
        cluster.pcs(cluster.names[0], "constraint", "location", "fence-" + name, "avoids", name)


def mapped_device(cluster, *extra):
    """One device for every node, mapping each to its VM (no switch)."""
    host_map = ";".join("%s:%s" % (name, vm_of(name)) for name in cluster.names)
    cluster.pcs(cluster.names[0], "stonith", "create", "fence-clc", "fence_clc",
                "pcmk_host_map=" + host_map, *(seed_device_params(cluster.cloud) + list(extra)))


class Cluster:
    """Nodes `names` (from NODES), each with a Dummy resource that prefers
    it; `devices(cluster)` creates the fence devices (one per node unless
    told otherwise); a power operation takes `op_duration` seconds."""

    def __init__(self, names=("node1", "node2"), devices=device_per_node, op_duration=0.3):
        self.names = list(names)
        self.members = [(name, address(NODES[name][0])) for name in self.names]
        self.devices = devices
        self.cloud = Cloud(op_duration)
        self.last_logs = {}  # node -> its Pacemaker log as its VM went off
        self.nodes = {}  # name -> PacemakerNode, only while its VM runs
        self.power_log = []  # (wall time, node, state) as the watcher acted on them
        self.errors = []
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._watcher = None
        # One event per node of the first boot, set when its boot thread ends.
        # Not Thread.join: in Python 3.11 a join that Ctrl-C interrupts marks
        # the thread as ended while it runs on, and every later join returns
        # at once (bpo-45274): its namespace would outlive the demo.
        self._booting = []

    # -- life cycle ---------------------------------------------------------

    def start(self):
        try:
            self.cloud.start()
            self._watcher = threading.Thread(target=self._watch_power, daemon=True)
            self._watcher.start()
            for name in self.names:
                booted = threading.Event()
                threading.Thread(target=self._boot_safely, args=(name, booted)).start()
                self._booting.append(booted)
            for booted in self._booting:
                booted.wait()
            self.raise_errors()
            wait_until(lambda: self.online_nodes(self.names[0]) == set(self.names), 60,
                       interval=0.3, what="every node online")
            self.configure()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        self._stopping.set()
        for booted in self._booting:  # each stops its node once booted
            booted.wait()
        if self._watcher is not None:
            self._watcher.join(timeout=30)
        with self._lock:
            for name in list(self.nodes):
                self.power_off(name)
        self.cloud.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def boot(self, name):
        """Start a node from scratch (empty /run, CIB, logs) and join it."""
        ns = Namespace().start()
        try:
            self.cloud.plug(ns, name)
            node = PacemakerNode(ns, name, self.members, cluster_name="clc%dnode" % len(self.names))
            node.start(timeout=60)
        except BaseException:
            ns.stop()
            raise
        with self._lock:
            if self._stopping.is_set():  # stop() came while it booted (Ctrl-C)
                ns.stop()
                return None
            self.nodes[name] = node
        return node

    def _boot_safely(self, name, booted):
        try:
            self.boot(name)
        except Exception as err:
            self.errors.append("booting %s: %r" % (name, err))
        finally:
            booted.set()

    def power_off(self, name):
        """What a VM power-off does to the node: every process dies at once."""
        with self._lock:
            node = self.nodes.pop(name, None)
        if node is None:
            return
        try:
            self.last_logs[name] = node.log_text()
        except OSError:
            pass  # its Pacemaker had not logged yet
        os.kill(node.ns.pid, signal.SIGKILL)  # PID 1: the kernel kills the rest
        node.ns.stop()

    def _watch_power(self):
        """Act on the simulator's power-change hook, in order."""
        seen = 0
        while not self._stopping.wait(0.05):
            lines = self._read_events()
            for line in lines[seen:]:
                vm, state = line.split()
                self._apply_power(node_of(vm), state)
            seen = len(lines)

    def _read_events(self):
        try:
            with open(self.cloud.events_file()) as events:
                return [line for line in events.read().splitlines() if line.strip()]
        except OSError:
            return []

    def _apply_power(self, name, state):
        self.power_log.append((time.time(), name, state))
        try:
            if state == "stopped":
                self.power_off(name)
            elif state == "started" and name not in self.nodes and not self._stopping.is_set():
                self.boot(name)
        except Exception as err:
            self.errors.append("%s after %s: %r" % (name, state, err))

    def cut(self, one, other):
        """The two nodes lose each other, but each keeps its link to the
        cloud (the API): a route to nowhere for the peer's address, on both
        sides. Returns the wall time of the cut."""
        for here, there in ((one, other), (other, one)):
            self.nodes[here].ns.run("ip", "route", "add", "blackhole",
                                    address(NODES[there][0]) + "/32", check=True)
        return time.time()

    def isolate(self, name):
        """`name` loses every other node; everyone keeps the API."""
        cut_at = time.time()
        for other in self.names:
            if other != name:
                self.cut(name, other)
        return cut_at

    def raise_errors(self):
        if self.errors:
            raise AssertionError("cluster harness: " + "; ".join(self.errors))

    # -- configuration ------------------------------------------------------

    def configure(self):
        """On the first node: the fence devices, and a Dummy resource that
        prefers each node."""
        self.devices(self)
        for name in self.names:
            self.pcs(self.names[0], "resource", "create", "dummy-" + name, "ocf:pacemaker:Dummy",
                     "op", "monitor", "interval=5s")
            self.pcs(self.names[0], "constraint", "location", "dummy-" + name, "prefers",
                     name + "=100")
        wait_until(lambda: all(self.where("dummy-" + name, on=self.names[0]) == [name]
                               for name in self.names), 60,
                   interval=0.3, what="each Dummy resource running on its node")

    def pcs(self, on, *args):
        result = self.nodes[on].pcs(*args)
        if result.returncode != 0:
            raise AssertionError("pcs %s on %s failed: %s%s"
                                 % (" ".join(args), on, result.stdout, result.stderr))
        return result

    def crm(self, on, *args):
        """crmsh on node `on`, non-interactive; its home (history, cache)
        in the node's work directory, never the host's."""
        node = self.nodes[on]
        home = os.path.join(node.ns.workdir, "crm-home")
        os.makedirs(home, exist_ok=True)
        result = node.ns.run("crm", *args, env={"HOME": home})
        if result.returncode != 0:
            raise AssertionError("crm %s on %s failed: %s%s"
                                 % (" ".join(args), on, result.stdout, result.stderr))
        return result

    # -- observation --------------------------------------------------------

    def crm_mon_xml(self, on):
        """Node `on`'s view of the cluster; None when it is off or has none."""
        node = self.nodes.get(on)
        if node is None:
            return None
        result = node.ns.run("crm_mon", "--one-shot", "--output-as=xml", timeout=20)
        if result.returncode != 0:
            return None
        return ElementTree.fromstring(result.stdout)

    def online_nodes(self, on):
        status = self.crm_mon_xml(on)
        if status is None:
            return set()
        return {n.get("name") for n in status.iter("node") if n.get("online") == "true"}

    def where(self, resource, on="node1"):
        """The nodes `on` believes run `resource` (active, not just placed)."""
        status = self.crm_mon_xml(on)
        if status is None:
            return []
        return sorted(n.get("name") for r in status.iter("resource") if r.get("id") == resource
                      and r.get("active") == "true" for n in r.iter("node"))


# -- what node1's Pacemaker log says about fencing a node -------------------

LOG_STAMP = re.compile(r"^(\w{3} +\d+ \d\d:\d\d:\d\d\.\d{3}) ")
MILESTONES = (
    ("lost", r"pacemaker-controld.*Node {target} state is now lost"),
    ("requested", r"pacemaker-controld.*Requesting fencing \(\w+\) of node {target}"),
    ("fenced", r"pacemaker-fenced.*Operation '\w+' targeting {target} by \S+ for \S+: OK"),
)


def log_time(line, year):
    """Wall-clock seconds of a Pacemaker log line (local time, no year)."""
    stamp = LOG_STAMP.match(line).group(1)
    whole, millis = stamp.rsplit(".", 1)
    parsed = time.strptime("%d %s" % (year, whole), "%Y %b %d %H:%M:%S")
    return time.mktime(parsed) + int(millis) / 1000.0


def fencing_milestones(log_text, target, since):
    """{milestone: wall time} of the first lines after `since` that show the
    peer lost (Corosync's verdict), fencing requested (Pacemaker's decision)
    and fencing done (the agent's success)."""
    year = time.localtime(since).tm_year
    found = {}
    for line in log_text.splitlines():
        if not LOG_STAMP.match(line):
            continue
        for name, pattern in MILESTONES:
            if name not in found and re.search(pattern.format(target=target), line):
                when = log_time(line, year)
                if when >= since - 0.01:  # the log has millisecond resolution
                    found[name] = when
    return found


def log_time_of(log_text, pattern, since):
    """Wall time of the first Pacemaker log line after `since` that matches
    `pattern`, or None."""
    year = time.localtime(since).tm_year
    for line in log_text.splitlines():
        if LOG_STAMP.match(line) and re.search(pattern, line):
            when = log_time(line, year)
            if when >= since - 0.01:
                return when
    return None
