#!/usr/bin/python3
"""A demonstration of fence_clc against the bundled CLC API simulator.

Starts the simulator over HTTPS with a few VMs, then runs the agent as an
admin would - list, status, off, on, reboot, and the way Pacemaker calls it -
printing each command, its output and what the simulated cloud now says."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests"))
sys.path.insert(0, REPO)

from agentrun import AGENT, SENTINEL_PASSWORD, USERNAME, fencing_world, stdin_text  # noqa: E402
from clcsim.client import SimClient  # noqa: E402

VM = "UC1ACCTWEB01"


def start_simulator(workdir):
    """The simulator as its own process, like a remote cloud."""
    config = os.path.join(workdir, "world.json")
    with open(config, "w") as f:
        json.dump(fencing_world(), f)
    ready = os.path.join(workdir, "ready.json")
    proc = subprocess.Popen([sys.executable, "-m", "clcsim", "--tls", "--config", config,
                             "--op-duration", "1.0", "--latency", "0.02", "--ready-file", ready],
                            cwd=REPO, stdout=subprocess.DEVNULL)
    for _ in range(100):
        if os.path.exists(ready):
            with open(ready) as f:
                return proc, json.load(f)
        if proc.poll() is not None:
            sys.exit("the simulator did not start")
        time.sleep(0.1)
    proc.kill()
    sys.exit("the simulator did not start within 10 s")


def power_state(sim):
    """What the simulated cloud says, through its admin endpoint."""
    admin = SimClient(sim["url"], ca_file=sim["ca_file"])
    return admin.get("/_sim/servers/" + VM).json()["powerState"]


def shown(args):
    return " ".join("'********'" if arg == SENTINEL_PASSWORD else arg for arg in args)


def run(title, args, sim, stdin=None):
    """Run the agent as the admin would, show what it printed; its exit code."""
    print("\n== %s" % title)
    if stdin:
        print("$ fence_clc <<EOF\n%sEOF" % stdin.replace(SENTINEL_PASSWORD, "********"))
    else:
        print("$ fence_clc " + shown(args))
    started = time.monotonic()
    proc = subprocess.run([AGENT] + args, input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True)
    for line in proc.stdout.splitlines():
        print("  " + line)
    print("  (exit %d, %.1f s; the cloud says %s is %s)"
          % (proc.returncode, time.monotonic() - started, VM, power_state(sim)))
    return proc.returncode


def steps(sim, token_file):
    """(title, command-line arguments, stdin text, expected exit code) of each step."""
    common = ["--api-url", sim["url"], "--cacert", sim["ca_file"], "-l", USERNAME,
              "-p", SENTINEL_PASSWORD, "--token-file", token_file]
    pacemaker_stdin = stdin_text({
        "action": "reboot", "nodename": "node1", "port": "node1", "switch": VM,
        "login": USERNAME, "passwd": SENTINEL_PASSWORD, "api_url": sim["url"],
        "cacert": sim["ca_file"], "token_file": token_file})
    return [
        ("every server of the account", ["-o", "list"] + common, None, 0),
        ("is the VM on?", ["-o", "status", "-n", VM] + common, None, 0),
        ("fence it: power off, confirmed by CLC", ["-o", "off", "-n", VM] + common, None, 0),
        ("status of a stopped VM (exit 2 means OFF)", ["-o", "status", "-n", VM] + common,
         None, 2),
        ("power it back on", ["-o", "on", "-n", VM] + common, None, 0),
        ("reboot with one CLC reset", ["-o", "reboot", "-m", "cycle", "-n", VM] + common,
         None, 0),
        ("as Pacemaker calls it: key=value lines on stdin, the original article's option names", [],
         pacemaker_stdin, 0),
        ("a wrong password gets one clear line and exit 1",
         ["-o", "status", "-n", VM, "--api-url", sim["url"], "--cacert", sim["ca_file"],
          "-l", USERNAME, "-p", "not-the-password", "--token-file", "none"], None, 1),
    ]


def main():
    workdir = tempfile.mkdtemp(prefix="fence-clc-demo-")
    proc, sim = start_simulator(workdir)
    try:
        print("CLC API simulator listening on %s (self-signed CA %s)" % (sim["url"], sim["ca_file"]))
        plan = steps(sim, os.path.join(workdir, "[hash].token"))
        codes = [run(title, args, sim, stdin) for title, args, stdin, _ in plan]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    expected = [code for _, _, _, code in plan]
    print("\nDemo %s." % ("finished as expected" if codes == expected else
                          "FAILED: exit codes %s, expected %s" % (codes, expected)))
    return 0 if codes == expected else 1


if __name__ == "__main__":
    sys.exit(main())
