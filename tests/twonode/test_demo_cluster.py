"""`make demo-cluster`, the README's next step after `make demo`: it tells
the fence race's story and leaves nothing running or mounted, even when
it is killed half-way."""

import os
import signal
import subprocess

import pytest

from agentrun import REPO, SENTINEL_PASSWORD, SYSTEM_PYTHON
from support import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

DEMO = os.path.join(REPO, "demo", "run_cluster_demo.py")


def start_demo(tmp_path):
    """The demo with its temporary files (namespace work directories) under
    tmp_path, so that what it leaves behind can be told from other tests'."""
    return subprocess.Popen([SYSTEM_PYTHON, DEMO], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True, env=dict(os.environ, TMPDIR=str(tmp_path)))


def left_behind(tmp_path):
    """Processes whose command line names the demo's files (each namespace's
    PID 1 does: when it is gone, so is everything in its namespace) and
    mounts under them."""
    processes = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                command = f.read()
            with open("/proc/%s/stat" % pid) as f:
                state = f.read().rsplit(")", 1)[1].split()[:2]  # state, parent
        except OSError:
            continue
        if str(tmp_path).encode() in command:
            processes.append("%s %s (state %s, parent %s)" % (
                pid, command.replace(b"\0", b" ")[:200].decode(errors="replace"), *state))
    with open("/proc/self/mountinfo") as f:
        mounts = [line for line in f if str(tmp_path) in line]
    return processes + mounts


def test_demo_cluster_tells_the_race_and_cleans_up(tmp_path):
    demo = start_demo(tmp_path)
    output, _ = demo.communicate(timeout=180)

    assert demo.returncode == 0, output
    for line in ("node1 lost node2", "node2 lost node1", "node1 asks to fence node2",
                 "POST /v2/operations/ACCT/servers/powerOff [UC1ACCTWEB02 = node2's VM] -> 200",
                 "UC1ACCTWEB02 (node2) is now stopped", "node1 started dummy-node2",
                 "1 power operation reached CLC: powerOff of UC1ACCTWEB02.",
                 "Demo finished as expected."):
        assert line in output, output
    assert SENTINEL_PASSWORD not in output
    assert left_behind(tmp_path) == []
    assert os.listdir(str(tmp_path)) == []


def test_demo_cluster_killed_half_way_leaves_nothing_running(tmp_path):
    demo = start_demo(tmp_path)
    for line in demo.stdout:
        if line.startswith("Cutting the link"):
            break
    assert demo.poll() is None, "the demo ended before the link cut"

    demo.send_signal(signal.SIGKILL)  # no cleanup code of the demo runs
    demo.wait()

    wait_until(lambda: left_behind(tmp_path) == [], 20, interval=0.2,
               what="the demo's namespaces to go")


def test_demo_cluster_interrupted_while_booting_removes_everything(tmp_path):
    """Ctrl-C while the nodes boot: the nodes still booting are stopped too,
    and their work directories removed."""
    demo = start_demo(tmp_path)
    demo.stdout.readline()  # "Starting ..."
    wait_until(lambda: len(os.listdir(str(tmp_path))) >= 3, 20, interval=0.1,
               what="the cloud's and both nodes' namespaces")

    demo.send_signal(signal.SIGINT)
    output, _ = demo.communicate(timeout=90)

    assert "interrupted (everything was removed)" in output, output
    assert "Traceback" not in output, output
    assert left_behind(tmp_path) == []
    assert os.listdir(str(tmp_path)) == []
