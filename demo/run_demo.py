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

from agentrun import AGENT, SENTINEL_PASSWORD, USERNAME, fencing_world  # noqa: E402

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
    import ssl
    import urllib.request
    context = ssl.create_default_context(cafile=sim["ca_file"])
    with urllib.request.urlopen(sim["url"] + "/_sim/servers/" + VM, context=context) as answer:
        return json.load(answer)["powerState"]


def shown(args):
    return " ".join("'********'" if arg == SENTINEL_PASSWORD else arg for arg in args)


def run(title, args, sim, stdin=None):
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


def main():
    workdir = tempfile.mkdtemp(prefix="fence-clc-demo-")
    proc, sim = start_simulator(workdir)
    try:
        print("CLC API simulator listening on %s (self-signed CA %s)" % (sim["url"], sim["ca_file"]))
        common = ["--api-url", sim["url"], "--cacert", sim["ca_file"], "-l", USERNAME,
                  "-p", SENTINEL_PASSWORD, "--token-file", os.path.join(workdir, "[hash].token")]
        codes = [
            run("every server of the account", ["-o", "list"] + common, sim),
            run("is the VM on?", ["-o", "status", "-n", VM] + common, sim),
            run("fence it: power off, confirmed by CLC", ["-o", "off", "-n", VM] + common, sim),
            run("status of a stopped VM (exit 2 means OFF)", ["-o", "status", "-n", VM] + common, sim),
            run("power it back on", ["-o", "on", "-n", VM] + common, sim),
            run("reboot with one CLC reset", ["-o", "reboot", "-m", "cycle", "-n", VM] + common, sim),
            run("as Pacemaker calls it: key=value lines on stdin, the seed's option names", [], sim,
                stdin="action=reboot\nnodename=node1\nport=node1\nswitch=%s\nlogin=%s\npasswd=%s\n"
                      "api_url=%s\ncacert=%s\ntoken_file=%s\n"
                      % (VM, USERNAME, SENTINEL_PASSWORD, sim["url"], sim["ca_file"],
                         os.path.join(workdir, "[hash].token"))),
            run("a wrong password gets one clear line and exit 1",
                ["-o", "status", "-n", VM, "--api-url", sim["url"], "--cacert", sim["ca_file"],
                 "-l", USERNAME, "-p", "not-the-password", "--token-file", "none"], sim),
        ]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    expected = [0, 0, 0, 2, 0, 0, 0, 1]
    print("\nDemo %s." % ("finished as expected" if codes == expected else
                          "FAILED: exit codes %s, expected %s" % (codes, expected)))
    return 0 if codes == expected else 1


if __name__ == "__main__":
    sys.exit(main())
