#!/usr/bin/python3
"""A two-node Pacemaker cluster fencing through fence_clc, watched live.

Starts the CLC API simulator and two Corosync/Pacemaker nodes, each in its
own private namespaces (nothing on this machine's cluster configuration is
touched), with the README's two-node recipe: one fence_clc device mapping
each node to its VM, and a fencing delay for node1, the preferred node.
Then the two nodes lose each other while both still reach the API, and a
timeline shows what happens: who lost whom, which node asks to fence, the
agent's API requests, the VM going off, the resource moving to the
survivor. Everything is removed at the end, also on Ctrl-C. As root.
"""

import os
import re
import signal
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "tests"), os.path.join(REPO, "tests", "twonode"), REPO]

from support import missing_packages  # noqa: E402
from cluster.stack import REQUIRED_COMMANDS  # noqa: E402
from twonode import (LOG_STAMP, NODES, Cluster, address, log_time,  # noqa: E402
                     mapped_device, node_of, vm_of)

DELAY = "5s"
RECIPE = "pcmk_delay_base=node1:%s;node2:0s" % DELAY

# What a line of a node's pacemaker.log means, in a sentence ({0}: the node).
LOG_EVENTS = [
    (r"pacemaker-controld.*Node (\S+) state is now lost", "{0} lost {1} (Corosync membership)"),
    (r"pacemaker-controld.*Requesting fencing \((\w+)\) of node (\S+)", "{0} asks to fence {2} ({1})"),
    (r"pacemaker-fenced.*Delaying '\w+' action targeting (\S+) using \S+ for (\w+)",
     "{0}'s fencer waits {2} before fencing {1} (pcmk_delay_base)"),
    (r"pacemaker-fenced.*Operation '(\w+)' targeting (\S+) by (\S+) for \S+: OK",
     "{0} learns: {2} fenced by {3} ({1}: OK)"),
    (r"pacemaker-controld.*Result of start operation for (\S+) on (\S+): ok", "{2} started {1}"),
]


def say(since, who, text, when=None):
    """One line of the timeline: seconds since the link cut (now, or when)."""
    seconds = ((when or time.time()) - since) if since else 0.0
    print("%+7.2f s  %-6s %s" % (seconds, who, text), flush=True)


class Timeline(object):
    """Prints, as they happen, what the nodes' logs, the simulator's request
    log and its power changes say, with times relative to the link cut."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.since = None
        self.offsets = {}  # node -> bytes of its Pacemaker log already shown
        self.gone = set()  # nodes whose last log lines have been shown
        self.requests_seen = 0
        self.power_seen = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.follow, daemon=True)

    def start(self, since):
        self.since = since
        for name, node in self.cluster.nodes.items():
            self.offsets[name] = os.path.getsize(node.pacemaker_log_path())
        self.cluster.cloud.sim.clear_requests()
        self.thread.start()

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=10)
        self.show(self.collect())

    def follow(self):
        while not self.stopping.wait(0.2):
            self.show(self.collect())

    def collect(self):
        events = []
        for name in self.cluster.names:
            events.extend(self.log_events(name, self.unread_log(name)))
        for entry in self.cluster.cloud.sim.requests()[self.requests_seen:]:
            self.requests_seen += 1
            events.append((entry["time"], self.sender(entry), self.describe_request(entry)))
        for when, name, state in self.cluster.power_log[self.power_seen:]:
            self.power_seen += 1
            events.append((when, "CLC", "%s (%s) is now %s%s" % (
                vm_of(name), name, state,
                ": %s is gone with its VM" % name if state == "stopped" else "")))
        return sorted(events)

    def unread_log(self, name):
        """What node `name`'s Pacemaker logged since the last look. A node
        whose VM went off is gone with its files: its last lines come from
        the copy the harness kept as it powered the node off."""
        start = self.offsets.get(name, 0)
        node = self.cluster.nodes.get(name)
        if node is not None:
            try:
                with open(node.pacemaker_log_path(), "rb") as log:
                    log.seek(start)
                    data = log.read()
            except OSError:
                return ""  # going off right now: next time from the copy
        elif name in self.cluster.last_logs and name not in self.gone:
            self.gone.add(name)
            data = self.cluster.last_logs[name].encode()[start:]
        else:
            return ""
        data = data[:data.rfind(b"\n") + 1]  # whole lines only
        self.offsets[name] = start + len(data)
        return data.decode(errors="replace")

    def log_events(self, name, text):
        year = time.localtime().tm_year
        found = []
        for line in text.splitlines():
            if not LOG_STAMP.match(line):
                continue
            for pattern, sentence in LOG_EVENTS:
                match = re.search(pattern, line)
                if match:
                    found.append((log_time(line, year), name, sentence.format(name, *match.groups())))
        return found

    @staticmethod
    def sender(entry):
        """The node whose fence_clc sent a request (by its address)."""
        for name, (number, _vm) in NODES.items():
            if entry.get("client") == address(number):
                return name
        return "?"

    @staticmethod
    def describe_request(entry):
        servers = ""
        if isinstance(entry.get("body"), list):
            servers = " [%s]" % ", ".join("%s = %s's VM" % (vm, node_of(vm)) for vm in entry["body"])
        return "fence_clc -> CLC: %s %s%s -> %s" % (entry["method"], entry["path"], servers,
                                                    entry["status"])

    def show(self, events):
        for when, who, text in events:
            say(self.since, who, text, when)


def settled(cluster):
    return list(cluster.nodes) == ["node1"] and all(
        cluster.where("dummy-" + name, on="node1") == ["node1"] for name in ("node1", "node2"))


def main():
    if os.geteuid() != 0:
        sys.exit("make demo-cluster runs Corosync and Pacemaker in private namespaces: run it as root")
    missing = missing_packages(*REQUIRED_COMMANDS)
    if missing:
        sys.exit("Debian packages missing: %s (run make deps)" % " ".join(missing))
    # SIGTERM cleans up like Ctrl-C; a SIGKILL leaves nothing running either
    # (each namespace's first process dies with this one, and all of it).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))

    print("Starting the CLC API simulator and two Pacemaker nodes, each in private "
          "namespaces (about 15 s)...", flush=True)
    cluster = Cluster(("node1", "node2"), devices=lambda c: mapped_device(c, RECIPE))
    started = time.time()
    try:
        cluster.start()
        print("Up in %.0f s. node1 runs dummy-node1, node2 runs dummy-node2; one fence device:"
              % (time.time() - started))
        print("    pcs stonith create fence-clc fence_clc pcmk_host_map=\"node1:%s;node2:%s\" \\\n"
              "        pcmk_delay_base=\"%s\" login=... passwd=... api_url=%s"
              % (vm_of("node1"), vm_of("node2"), RECIPE.split("=", 1)[1], cluster.cloud.sim.url))
        print("    pcs property set stonith-action=off   # the fenced VM stays off")
        cluster.pcs("node1", "property", "set", "stonith-action=off")
        print("\nCutting the link between node1 and node2 (both still reach the API):\n", flush=True)
        timeline = Timeline(cluster)
        cut_at = time.time()
        timeline.start(cut_at)
        cluster.cut("node1", "node2")
        say(cut_at, "test", "link between node1 and node2 cut")
        try:
            deadline = time.time() + 90
            while not settled(cluster):
                if time.time() > deadline:
                    sys.exit("the cluster did not settle within 90 s")
                time.sleep(0.3)
        finally:
            timeline.stop()
        say(cut_at, "test", "node1 runs dummy-node1 and dummy-node2")
        posts = cluster.cloud.sim.power_posts()
        print("\nnode1 (the preferred node) survived and runs both resources; %d power "
              "operation reached CLC: %s." % (len(posts), ", ".join(
                  "%s of %s" % (op, " ".join(servers)) for op, servers in posts)))
        cluster.raise_errors()
    finally:
        print("Cleaning up (every namespace, daemon and mount)...", flush=True)
        cluster.stop()
    print("Demo finished as expected.")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted (everything was removed)")
