"""The namespace harness itself: whatever happens to the test, nothing it
started inside survives, and the host's cluster state is never touched."""

import os
import shutil
import signal
import subprocess
import sys

import pytest

from support import wait_until

from .stack import HERE, Namespace

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.usefixtures("cluster_requirements"),
]

HOST_STATE = ("/var/lib/pacemaker/cib", "/etc/corosync", "/var/log/pacemaker")


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def host_listing():
    listing = {path: sorted(os.listdir(path)) for path in HOST_STATE}
    listing["agent installed"] = os.path.exists("/usr/sbin/fence_clc")
    return listing


def test_private_state_and_agent_stay_inside():
    before = host_listing()
    with Namespace() as ns:
        ns.write_file("/etc/corosync/corosync.conf", "# private\n")
        ns.write_file("/var/lib/pacemaker/cib/cib.xml", "<cib/>\n")
        inside = ns.run("ls", "/usr/sbin/fence_clc", "/etc/corosync/corosync.conf")
        assert inside.returncode == 0, inside
        assert len(ns.run("ip", "-o", "link").stdout.splitlines()) == 1  # loopback only
    assert host_listing() == before


def host_pids_in_pid_namespace_of(pid, command):
    """Host pids of the processes named `command` in the PID namespace of `pid`."""
    namespace = os.readlink("/proc/%d/ns/pid" % pid)
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open("/proc/%s/comm" % entry) as comm:
                if comm.read().strip() == command and \
                        os.readlink("/proc/%s/ns/pid" % entry) == namespace:
                    found.append(int(entry))
        except (OSError, ValueError):
            pass  # not a process, or gone meanwhile
    return found


def test_stop_kills_what_runs_inside_and_removes_the_workdir():
    ns = Namespace().start()
    ns.spawn("sleeper", "sleep", "600")
    workdir = ns.workdir
    wait_until(lambda: host_pids_in_pid_namespace_of(ns.pid, "sleep"), 10, what="sleep inside")
    (sleeper,) = host_pids_in_pid_namespace_of(ns.pid, "sleep")
    ns.stop()
    wait_until(lambda: not alive(sleeper), 10, what="the sleep inside to end")
    assert not os.path.exists(workdir)


TESTS_DIR = os.path.dirname(HERE)  # where agentrun and the cluster package are
HOLDER = """
import sys, time
sys.path.insert(0, %r)
from cluster.stack import Namespace
ns = Namespace().start()
ns.spawn("sleeper", "sleep", "600")
time.sleep(1)
print(ns.pid, ns.workdir, flush=True)
time.sleep(600)
"""


def test_a_killed_test_run_takes_the_namespace_with_it():
    """SIGKILL leaves no chance to clean up: PID 1 sees its stdin close and
    exits, and the kernel ends everything in the PID namespace."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER % TESTS_DIR], stdout=subprocess.PIPE,
                              universal_newlines=True)
    pid, workdir = holder.stdout.readline().split()
    init_pid = int(pid)
    try:
        assert alive(init_pid)
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        wait_until(lambda: not alive(init_pid), 10, what="the namespace to end")
        assert os.path.isdir(workdir)  # its logs: the dead holder could not remove them
        Namespace().start().stop()  # the next run does
        assert not os.path.exists(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
