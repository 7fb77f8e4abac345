"""Shared by the packaging tests: run the Makefile's targets, look at trees."""

import os
import subprocess

from agentrun import REPO

METADATA = os.path.join(REPO, "tests", "data", "metadata", "fence_clc.xml")
# How pcs and the man page introduce the agent (its shortdesc).
SHORTDESC = "fence_clc - Fence agent for CenturyLink Cloud (CLC)"


def run_make(*args):
    """make TARGET VAR=value... in the repository; fails the test with the
    output when make fails."""
    proc = subprocess.run(["make", "-C", REPO, "--no-print-directory"] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=120)
    assert proc.returncode == 0, "make %s failed:\n%s" % (" ".join(args), proc.stdout)
    return proc.stdout


def run(command, **kwargs):
    """A command's CompletedProcess, text output, stderr apart."""
    options = dict(stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                   universal_newlines=True, timeout=60)
    options.update(kwargs)
    return subprocess.run(command, **options)


def files_under(root, skip=()):
    """Relative paths of the files below root, directories in skip left out."""
    found = []
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = [d for d in subdirs
                      if os.path.relpath(os.path.join(directory, d), root) not in skip]
        found += [os.path.relpath(os.path.join(directory, name), root) for name in names]
    return sorted(found)


# What the .deb depends on, as installed on this Debian host.
DEPENDENCIES = ["fence-agents", "python3", "python3-pycurl"]


def dpkg_scratch_root(path, installed=()):
    """An empty system for dpkg --root whose database says the given host
    packages are installed (their status copied from the host's)."""
    admin = path / "var/lib/dpkg"
    (admin / "info").mkdir(parents=True)
    (admin / "updates").mkdir()
    (admin / "available").write_text("")
    status = run(["dpkg-query", "-s"] + list(installed)).stdout if installed else ""
    (admin / "status").write_text(status)
    for package in installed:
        (admin / "info" / (package + ".list")).write_text("")
    return str(path)


def dpkg(root, *args):
    return run(["dpkg", "--root=" + root] + list(args))
