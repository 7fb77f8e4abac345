"""The platforms fence_clc supports, and how to run the agent on each.

A row pairs a fencing library with the Python its distribution ships:
- library rows put an upstream fencing.py (../shared/fencing-libs/vX, or
  $FENCE_CLC_FENCING_LIBS) first on PYTHONPATH, under the matching Python;
- root rows run the agent inside a real Debian root built with mmdebstrap
  (tools/roots.py), with that root's own fence-agents, Python and pycurl.

Each row's runner has run(args, stdin, pacemaker, share) -> AgentResult, as
tests/agentrun.py's run_agent, and metadata_rng() -> the schema that
platform validates agent metadata with (a host path).

Rows whose material is missing in a user's clone (../shared, a Python 3.6)
are skipped by name, unless FENCE_CLC_REQUIRE_PLATFORMS=1 (CI) makes that a
failure. FENCE_CLC_AGENT runs the rows against another agent file (e.g. an
older fence_clc, to watch a new check fail).
"""

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

from agentrun import AGENT, REPO, SYSTEM_PYTHON, AgentResult, stdin_text

from . import python36

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(os.path.dirname(REPO), "shared")
FENCING_LIBS = os.environ.get("FENCE_CLC_FENCING_LIBS", os.path.join(SHARED, "fencing-libs"))
UPSTREAM_TARBALL = os.environ.get(
    "FENCE_CLC_UPSTREAM_TARBALL", os.path.join(SHARED, "upstream", "fence-agents-main.tar.gz"))
HOST_RNG = "/usr/share/cluster/relaxng/metadata.rng"
ROOT_RNG = "/usr/share/cluster/relaxng/metadata.rng"

# What the agent sees: the fencer's environment is small, never the test runner's.
BASE_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root"}

AGENT_UNDER_TEST = os.path.abspath(os.environ.get("FENCE_CLC_AGENT", AGENT))

# Inside a root (read-only): the repository (the Pacemaker stack test), the
# agent under test, an upstream library, a run's raw stdin.
SRC_IN_ROOT = "/opt/fence-clc-src"
AGENT_IN_ROOT = "/opt/fence-clc-agent/fence_clc"
LIB_IN_ROOT = "/opt/fencing-lib"
STDIN_IN_ROOT = "/opt/fence-clc-stdin"

# The packages a user installs (see README), plus curl and iproute2 for the
# cluster test's harness (tests/cluster/stack.py), never recommends.
STACK = ["python3-pycurl", "pacemaker", "pacemaker-cli-utils", "corosync", "pcs",
         "curl", "iproute2"]
DEBIAN_PACKAGES = {
    "bullseye": ["fence-agents"] + STACK,
    # fence-agents is a metapackage of ~70 agents with cloud SDKs on trixie:
    # the library is fence-agents-common (+ pexpect, which it imports).
    "trixie": ["fence-agents-common", "python3-pexpect"] + STACK,
}


def roots_module():
    tools = os.path.join(REPO, "tools")
    if tools not in sys.path:
        sys.path.insert(0, tools)
    import roots
    return roots


# Debian 11 is past its support: mirrors list security updates in
# bullseye-security that their pool no longer serves (404). Its release and
# point-release updates are what the root is built from.
POCKETS = {"bullseye": ("", "-updates")}


def debian_recipe(suite):
    return roots_module().Recipe("platform-" + suite, suite, DEBIAN_PACKAGES[suite],
                                 pockets=POCKETS.get(suite))


def required():
    return os.environ.get("FENCE_CLC_REQUIRE_PLATFORMS") == "1"


class Unavailable(Exception):
    """The row cannot run in this clone (what is missing, and how to get it)."""


def env_for(pacemaker, pythonpath=None, extra=None):
    env = dict(BASE_ENV)
    if pacemaker:
        env["PCMK_service"] = "pacemaker-fenced"  # the library zeroes its timeouts
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    env.update(extra or {})
    return env


def stdin_bytes(stdin):
    """A run's standard input: key=value lines from a dict, or raw bytes."""
    return stdin if isinstance(stdin, bytes) else stdin_text(stdin).encode("utf-8")


def library_dir(version):
    path = os.path.join(FENCING_LIBS, version)
    if not os.path.isfile(os.path.join(path, "fencing.py")):
        raise Unavailable("fencing library %s not found in %s (the project's shared "
                          "fencing-libs; set FENCE_CLC_FENCING_LIBS)" % (version, FENCING_LIBS))
    return path


@functools.lru_cache(maxsize=None)
def upstream_rng():
    """lib/metadata.rng of upstream fence-agents (the library rows' schema)."""
    if not os.path.isfile(UPSTREAM_TARBALL):
        raise Unavailable("upstream fence-agents tarball not found: " + UPSTREAM_TARBALL)
    workdir = tempfile.mkdtemp(prefix="fence-clc-rng-")
    atexit.register(shutil.rmtree, workdir, True)
    target = os.path.join(workdir, "metadata.rng")
    with tarfile.open(UPSTREAM_TARBALL) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("/lib/metadata.rng"))
        with tar.extractfile(member) as src, open(target, "wb") as dst:
            dst.write(src.read())
    return target


def as_text(output):
    """Output captured as bytes, read as UTF-8 (a stray byte shows as U+FFFD)."""
    return output.decode("utf-8", "replace") if isinstance(output, bytes) else output


def finished(proc, started):
    return AgentResult(proc.returncode, as_text(proc.stdout), as_text(proc.stderr),
                       time.monotonic() - started)


class HostRunner:
    """The agent under a host interpreter, with a library first on PYTHONPATH."""

    def __init__(self, python, library=None, rng=HOST_RNG):
        self.python = python
        self.library = library
        self.rng = rng

    def run(self, args=None, stdin=None, pacemaker=False, share=(), env=None, timeout=60):
        started = time.monotonic()
        proc = subprocess.run(
            [self.python, AGENT_UNDER_TEST] + list(args or []),
            input=stdin_bytes(stdin) if stdin is not None else None,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env_for(pacemaker, self.library, env), timeout=timeout)
        return finished(proc, started)

    def python_code(self, code):
        return subprocess.run([self.python, "-c", code], stdout=subprocess.PIPE,
                              universal_newlines=True, env=env_for(False, self.library),
                              check=True).stdout.strip()

    def metadata_rng(self):
        return self.rng() if callable(self.rng) else self.rng


class RootRunner:
    """The agent inside a Debian root (a throwaway copy per run), reaching the
    host's simulator on loopback; `share` directories (token caches, CA
    files) are bound at the same path inside. Raw-bytes stdin comes from a
    file (the root harness pipes text only)."""

    def __init__(self, recipe, library=None, rng=None):
        self.recipe = recipe
        self.library = library
        self.rng = rng
        self.root = roots_module().cached_root(recipe)

    def binds(self, share):
        binds = [(AGENT_UNDER_TEST, AGENT_IN_ROOT, True)]
        if self.library:
            binds.append((self.library, LIB_IN_ROOT, True))
        return binds + [(path, path, False) for path in share]

    def run(self, args=None, stdin=None, pacemaker=False, share=(), env=None, timeout=60):
        argv = ["/usr/bin/python3", AGENT_IN_ROOT] + list(args or [])
        if not isinstance(stdin, bytes):
            text = stdin_text(stdin) if stdin is not None else None
            return self.run_argv(argv, self.binds(share), text, pacemaker, env, timeout)
        with tempfile.NamedTemporaryFile(prefix="fence-clc-stdin-") as raw:
            raw.write(stdin)
            raw.flush()
            redirected = ["/bin/sh", "-c", 'exec "$@" < ' + STDIN_IN_ROOT, "sh"] + argv
            binds = self.binds(share) + [(raw.name, STDIN_IN_ROOT, True)]
            return self.run_argv(redirected, binds, None, pacemaker, env, timeout)

    def run_argv(self, argv, binds, text, pacemaker, env, timeout):
        started = time.monotonic()
        proc = roots_module().run_in_root(
            self.recipe, argv, binds=binds, input=text, timeout=timeout,
            env=env_for(pacemaker, LIB_IN_ROOT if self.library else None, env))
        return finished(proc, started)

    def python_code(self, code):
        proc = roots_module().run_in_root(
            self.recipe, ["/usr/bin/python3", "-c", code], binds=self.binds(()),
            env=env_for(False, LIB_IN_ROOT if self.library else None), timeout=120)
        if proc.returncode != 0:
            raise RuntimeError("python3 in %s: %s" % (self.recipe.name, proc.stderr))
        return proc.stdout.strip()

    def metadata_rng(self):
        if self.rng:
            return self.rng()
        return os.path.join(self.root, ROOT_RNG.lstrip("/"))


def rhel8():
    python, version = python36.find_python36()
    if python is None:
        raise Unavailable(version)
    library = library_dir("v4.2.1")
    return HostRunner(python36.cached_venv(python, version), library, upstream_rng)


def rhel9():
    return RootRunner(debian_recipe("bullseye"), library_dir("v4.10.0"), upstream_rng)


def debian11():
    return RootRunner(debian_recipe("bullseye"))


def debian12():
    return HostRunner(SYSTEM_PYTHON)


def debian13():
    return RootRunner(debian_recipe("trixie"))


def upstream_main():
    return HostRunner(SYSTEM_PYTHON, library_dir("main"), upstream_rng)


class Row:
    def __init__(self, name, title, library, python, make_runner):
        self.name = name
        self.title = title
        self.library = library
        self.python = python
        self.make_runner = make_runner

    def __repr__(self):
        return self.name


ROWS = [
    Row("rhel8", "RHEL 8 / Rocky 8 / Alma 8", "4.2.1", "3.6 (pyenv)", rhel8),
    Row("rhel9", "RHEL 9 / Rocky 9 / Alma 9", "4.10.0", "3.9 (Debian 11 root)", rhel9),
    Row("debian11", "Debian 11, Ubuntu 22.04", "4.7.1", "3.9", debian11),
    Row("debian12", "Debian 12, Ubuntu 24.04", "4.12.1", "3.11", debian12),
    Row("debian13", "Debian 13", "4.16.0", "3.13", debian13),
    Row("main", "ClusterLabs main", "main", "3.11", upstream_main),
]
ROOT_ROWS = ["debian11", "debian13"]

# What each row reports about itself (printed at the end of the run).
VERSIONS_CODE = (
    "import sys; sys.path.append('/usr/share/fence'); import fencing, pycurl, platform; "
    "print('Python %s, fencing library %s, %s' % (platform.python_version(), "
    "fencing.RELEASE_VERSION, pycurl.version.split()[0]))")
