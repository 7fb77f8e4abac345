"""Real Corosync + Pacemaker daemons in private namespaces, for tests.

Building blocks (each usable on its own, e.g. for a multi-node test):

Namespace
    ``unshare --mount --net --pid --fork`` around ``nsinit.py`` as PID 1:
    private tmpfs over /run, /dev/shm, /var/lib/pacemaker, /var/log,
    /var/lib/corosync, /etc/corosync and /var/lib/pcsd; the repository's
    agent visible as /usr/sbin/fence_clc (overlay, the host's /usr/sbin is
    never written); loopback up. Pacemaker's IPC uses abstract unix sockets,
    which belong to the network namespace, hence the private network.
    ``ns.run(argv...)`` runs a command inside (``nsenter``) and returns a
    CompletedProcess; ``ns.spawn(name, argv...)`` starts a background one
    whose output goes to ``ns.log_path(name)``; ``ns.path("/etc/x")`` is the
    host path of a file inside the private mounts; ``ns.workdir`` is a temp
    directory both sides see. ``ns.stop()`` closes PID 1's stdin: PID 1 exits,
    the kernel kills everything left in the namespace, the tmpfs mounts go
    with it, and the workdir is removed. A SIGKILLed test run also closes
    that pipe, so no daemon outlives it. To link several namespaces, create
    veth pairs from the host with ``ip link ... netns ns.pid``.

corosync_conf(cluster_name, nodes)
    corosync.conf text for knet over the given (name, address) nodes.

PacemakerNode(ns, name, nodes)
    ``start()`` writes corosync.conf and a seed CIB (``cibadmin --empty`` plus
    stonith-enabled and a short dc-deadtime), starts ``corosync -f`` and
    ``pacemakerd``, and waits for a DC and for the fencer (about 5 s).
    ``create_device(name, agent, params...)`` is ``pcs stonith create`` plus
    a wait for the fencer to register it; ``remove_all_devices()`` empties
    the resources and the fencing history; ``fence(action, target)`` runs
    stonith_admin (reboot|off|on, --tolerance 0); ``history(target)``;
    ``pcs(...)``; ``failed_operations(resource)`` (crm_mon's failures);
    ``mark_log()`` / ``log_text()`` read pacemaker.log from a point on.

SimulatorProcess(ns, world, port, host, extra_args)
    The CLC simulator (``python3 -m clcsim``) on a fixed port inside the
    namespace (the fencer can only reach addresses there), steered from the
    test through its /_sim/ endpoints with curl run inside: ``requests()``,
    ``power_posts()``, ``server(id)``, ``set_server(id, ...)``,
    ``add_fault(kind, ...)``, ``clear_faults()``, ``clear_requests()``,
    ``expire_tokens()`` (named like the in-process Simulator's), ``reset()``.

Tinyproxy(ns)
    A plain HTTP proxy on loopback inside the namespace; ``log_text()``
    shows what went through it.

agent_stdin_captured(ns)
    A context manager that puts a recording wrapper in front of the agent:
    what the fencer passes on stdin, one dict per agent run.

require_cluster()
    Fails the calling test when these tests cannot run here (not root, a
    Debian package missing), naming what to do.
"""

import contextlib
import glob
import json
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET

from agentrun import AGENT, REPO, SYSTEM_PYTHON
from support import TINYPROXY_CONF, power_posts, require_commands, require_root, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
NSINIT = os.path.join(HERE, "nsinit.py")

REQUIRED_COMMANDS = ("corosync", "pacemakerd", "stonith_admin", "cibadmin", "crm_resource",
                     "pcs", "tinyproxy", "curl", "unshare", "nsenter", "runuser", "ip")
# Commands inside get this environment, not the test runner's: the agent
# must work with what the fencer gives it.
INSIDE_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root"}


def require_cluster():
    require_root("runs Pacemaker and Corosync in private namespaces")
    require_commands(*REQUIRED_COMMANDS)


WORKDIR_PREFIX = "fence-clc-cluster-"


def remove_orphaned_workdirs():
    """Work directories of test runs that were killed (SIGKILL skips every
    cleanup): each records its owner's pid; a live owner's is left alone."""
    for workdir in glob.glob(os.path.join(tempfile.gettempdir(), WORKDIR_PREFIX + "*")):
        try:
            with open(os.path.join(workdir, "owner.pid")) as f:
                os.kill(int(f.read()), 0)
        except ProcessLookupError:
            shutil.rmtree(workdir, ignore_errors=True)
        except (OSError, ValueError):
            pass  # being created, or not ours to judge


class Namespace:
    def __init__(self, agent=AGENT):
        self.agent = agent
        self.workdir = None
        self.pid = None
        self._unshare = None
        self._spawned = []

    def start(self):
        remove_orphaned_workdirs()
        self.workdir = tempfile.mkdtemp(prefix=WORKDIR_PREFIX)
        os.chmod(self.workdir, 0o755)  # daemons running as hacluster read configs here
        with open(os.path.join(self.workdir, "owner.pid"), "w") as f:
            f.write(str(os.getpid()))
        ready = os.path.join(self.workdir, "ns-ready")
        with open(self.log_path("nsinit"), "w") as log:
            self._unshare = subprocess.Popen(
                ["unshare", "--mount", "--net", "--pid", "--fork", "--mount-proc",
                 "--propagation", "private", "--kill-child",
                 SYSTEM_PYTHON, NSINIT, self.agent, ready],
                stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, env=INSIDE_ENV)
        try:
            wait_until(lambda: os.path.exists(ready) or self._unshare.poll() is not None,
                       10, what="the namespace")
            if self._unshare.poll() is not None:
                raise RuntimeError("namespace setup failed:\n" + self.log_text("nsinit"))
            self.pid = self._child_of(self._unshare.pid)
        except BaseException:
            self.stop()
            raise
        return self

    @staticmethod
    def _child_of(parent):
        with open("/proc/%d/task/%d/children" % (parent, parent)) as children:
            return int(children.read().split()[0])

    def stop(self):
        """Kill everything inside (by ending PID 1) and remove the workdir."""
        if self._unshare is not None:
            self._unshare.stdin.close()
            try:
                self._unshare.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._unshare.kill()  # --kill-child takes PID 1 with it
                self._unshare.wait()
            self._unshare = None
        for child in self._spawned:
            child.wait()
        self._spawned = []
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def _enter(self, argv):
        return ["nsenter", "--target", str(self.pid), "--mount", "--net", "--pid", "--"] + list(argv)

    def run(self, *argv, **kwargs):
        """Run a command inside; returns a CompletedProcess with text output.
        Keyword arguments: timeout (default 60), input, env (added)."""
        env = dict(INSIDE_ENV, **kwargs.pop("env", {}))
        kwargs.setdefault("timeout", 60)
        return subprocess.run(self._enter(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, env=env, **kwargs)

    def spawn(self, name, *argv):
        """Start a background command inside; output in log_path(name)."""
        with open(self.log_path(name), "w") as log:
            child = subprocess.Popen(self._enter(argv), stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, env=INSIDE_ENV)
        self._spawned.append(child)
        return child

    def path(self, inside):
        """The host path of `inside` as the namespace sees it."""
        return "/proc/%d/root%s" % (self.pid, inside)

    def write_file(self, inside, text, owner=None, mode=0o644):
        host = self.path(inside)
        with open(host, "w") as f:
            f.write(text)
        os.chmod(host, mode)
        if owner:
            user = pwd.getpwnam(owner)
            os.chown(host, user.pw_uid, user.pw_gid)

    def log_path(self, name):
        return os.path.join(self.workdir, name + ".log")

    def log_text(self, name):
        try:
            with open(self.log_path(name)) as log:
                return log.read()
        except OSError:
            return ""


def corosync_conf(cluster_name, nodes):
    """knet, no crypto, one ring; nodes: [(name, address)], ids from 1."""
    node_blocks = "".join(
        "    node {\n        name: %s\n        nodeid: %d\n        ring0_addr: %s\n    }\n"
        % (name, number, address) for number, (name, address) in enumerate(nodes, 1))
    return (
        "totem {\n    version: 2\n    cluster_name: %s\n    transport: knet\n"
        "    crypto_cipher: none\n    crypto_hash: none\n    token: 1000\n}\n"
        "nodelist {\n%s}\n"
        "quorum {\n    provider: corosync_votequorum\n%s}\n"
        "logging {\n    to_stderr: yes\n    to_logfile: no\n    to_syslog: no\n    timestamp: on\n}\n"
        % (cluster_name, node_blocks, "    two_node: 1\n" if len(nodes) == 2 else ""))


CIB_PATH = "/var/lib/pacemaker/cib/cib.xml"
SEED_PROPERTIES = {"stonith-enabled": "true", "dc-deadtime": "2s", "stonith-timeout": "60s"}


class PacemakerNode:
    def __init__(self, ns, name="node1", nodes=(("node1", "127.0.0.1"),), cluster_name="fenceclc"):
        self.ns = ns
        self.name = name
        self.nodes = list(nodes)
        self.cluster_name = cluster_name
        self._log_start = 0

    def start(self, timeout=30):
        self.ns.write_file("/etc/corosync/corosync.conf",
                           corosync_conf(self.cluster_name, self.nodes))
        self.seed_cib()
        self.ns.spawn("corosync", "corosync", "-f")
        self.ns.spawn("pacemakerd", "pacemakerd")
        wait_until(self.dc, timeout, interval=0.3, what="a Pacemaker DC")
        wait_until(self.fencer_is_up, timeout, interval=0.3, what="the fencer")
        return self

    def seed_cib(self):
        """cibadmin --empty (matches the installed Pacemaker) plus properties."""
        empty = self.ns.run("cibadmin", "--empty", check=True).stdout
        self.ns.write_file(CIB_PATH, empty, owner="hacluster", mode=0o600)
        for name, value in SEED_PROPERTIES.items():
            self.ns.run("crm_attribute", "--type", "crm_config", "--name", name,
                        "--update", value, env={"CIB_file": CIB_PATH}, check=True)

    def dc(self):
        """The DC's node name, or None (crmadmin would block until there is one)."""
        found = re.search(r"Current DC: (\S+)", self.ns.run("crm_mon", "--one-shot").stdout)
        return found.group(1) if found and found.group(1) != "NONE" else None

    def fencer_is_up(self):
        return self.ns.run("stonith_admin", "--list-registered", timeout=10).returncode == 0

    def registered_devices(self):
        """The fencing devices the fencer knows (it reads them from the CIB)."""
        result = self.ns.run("stonith_admin", "--list-registered")
        return [line.split()[0] for line in result.stdout.splitlines()
                if line.strip() and "devices found" not in line]

    def create_device(self, name, agent, *params, **kwargs):
        """pcs stonith create, then wait until the fencer has the device."""
        result = self.pcs("stonith", "create", name, agent, *params, **kwargs)
        if result.returncode == 0:
            wait_until(lambda: name in self.registered_devices(), 15,
                       what="the fencer to register " + name)
        return result

    def remove_all_devices(self):
        self.ns.run("cibadmin", "--replace", "--scope", "resources",
                    "--xml-text", "<resources/>", check=True)
        try:
            wait_until(lambda: not self.registered_devices(), 15, what="devices to go")
        except TimeoutError:
            # The fencer keeps a removed device while it has operations
            # pending (a previous test's failing fence may still be retried).
            for device in self.registered_devices():
                self.ns.run("stonith_admin", "--deregister", device)
            wait_until(lambda: not self.registered_devices(), 15,
                       what="devices to go after deregistering %s" % self.registered_devices())
        self.ns.run("crm_resource", "--cleanup")
        self.ns.run("stonith_admin", "--cleanup", "--history", "*")

    def pcs(self, *args, **kwargs):
        return self.ns.run("pcs", *args, **kwargs)

    def fence(self, action, target, timeout=30):
        """stonith_admin for action reboot|off|on, no tolerance of recent fencing."""
        flag = {"reboot": "--reboot", "off": "--fence", "on": "--unfence"}[action]
        return self.ns.run("stonith_admin", flag, target, "--tolerance", "0",
                           "--timeout", str(timeout), timeout=timeout + 30)

    def history(self, target):
        return self.ns.run("stonith_admin", "--history", target, "--verbose").stdout

    def failed_operations(self, resource):
        """The failed operations of `resource` as crm_mon reports them (dicts
        of op_key, status, exitstatus, exitreason, exec, ...)."""
        xml = self.ns.run("crm_mon", "--one-shot", "--output-as=xml").stdout
        return [failure.attrib for failure in ET.fromstring(xml).iter("failure")
                if failure.get("op_key", "").startswith(resource + "_")]

    def mark_log(self):
        """From now on, log_text() shows only what Pacemaker logs after this."""
        self._log_start = os.path.getsize(self.pacemaker_log_path())

    def log_text(self):
        with open(self.pacemaker_log_path()) as log:
            log.seek(self._log_start)
            return log.read()

    def pacemaker_log_path(self):
        return self.ns.path("/var/log/pacemaker/pacemaker.log")


class SimulatorProcess:
    """The CLC simulator inside the namespace, driven through /_sim/ with
    methods named like the in-process Simulator's."""

    def __init__(self, ns, world, port=8480, op_duration=0.3, host="127.0.0.1", extra_args=()):
        self.ns = ns
        self.world = world
        self.port = port
        self.op_duration = op_duration
        self.host = host
        self.extra_args = list(extra_args)  # more clcsim options, e.g. --on-power-change
        self.url = "http://%s:%d" % (host, port)

    def start(self):
        config = os.path.join(self.ns.workdir, "world.json")
        ready = os.path.join(self.ns.workdir, "clcsim-ready")
        with open(config, "w") as f:
            json.dump(self.world, f)
        self.ns.spawn("clcsim", "env", "PYTHONPATH=" + REPO, SYSTEM_PYTHON, "-m", "clcsim",
                      "--host", self.host, "--port", str(self.port), "--config", config,
                      "--ready-file", ready, "--op-duration", str(self.op_duration),
                      "--op-start-delay", "0.05", *self.extra_args)
        wait_until(lambda: os.path.exists(ready), 15, what="the simulator")
        return self

    def admin(self, method, path, body=None):
        argv = ["curl", "--silent", "--show-error", "--fail", "--max-time", "10",
                "--request", method, self.url + "/_sim/" + path]
        if body is not None:
            argv += ["--header", "Content-Type: application/json", "--data", json.dumps(body)]
        result = self.ns.run(*argv)
        if result.returncode != 0:
            raise RuntimeError("simulator %s %s: %s" % (method, path, result.stderr))
        return json.loads(result.stdout or "null")

    def requests(self):
        return self.admin("GET", "requests")

    def power_posts(self):
        """[(operation, [server ids])] of every power POST, in order."""
        return [(entry["path"].rsplit("/", 1)[1], entry.get("body"))
                for entry in power_posts(self.requests())]

    def server(self, server_id):
        return self.admin("GET", "servers/" + server_id)

    def set_server(self, server_id, **fields):
        return self.admin("PATCH", "servers/" + server_id, fields)

    def add_fault(self, kind, **params):
        return self.admin("POST", "faults", dict(params, kind=kind))

    def clear_faults(self):
        self.admin("DELETE", "faults")

    def clear_requests(self):
        self.admin("DELETE", "requests")

    def expire_tokens(self):
        self.admin("POST", "tokens/expire")

    def reset(self):
        """No faults and an empty request log (issued tokens stay valid)."""
        self.clear_faults()
        self.clear_requests()


# A plain HTTP proxy on loopback that logs each request (the reliability
# suite runs one on the host with the same configuration).
class Tinyproxy:
    def __init__(self, ns, port=8488):
        self.ns = ns
        self.port = port
        self.url = "http://127.0.0.1:%d" % port
        self.log = os.path.join(ns.workdir, "tinyproxy-access.log")

    def start(self):
        conf = os.path.join(self.ns.workdir, "tinyproxy.conf")
        with open(conf, "w") as f:
            f.write(TINYPROXY_CONF.format(port=self.port, log=self.log))
        self.ns.spawn("tinyproxy", "tinyproxy", "-d", "-c", conf)
        wait_until(self._listening, 10, what="tinyproxy")
        return self

    def _listening(self):
        return self.ns.run("curl", "--silent", "--max-time", "2", "-o", "/dev/null",
                           self.url).returncode == 0

    def log_text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ""


WRAPPER = """#!/bin/sh
# Records what the fencer passes on stdin, then runs the real agent with it.
call=$(mktemp -p {capture_dir} call.XXXXXX)
cat > "$call"
exec {python} {real_agent} "$@" < "$call"
"""


@contextlib.contextmanager
def agent_stdin_captured(ns):
    """While active, every run of /usr/sbin/fence_clc inside `ns` leaves its
    standard input in a file; yields a function returning them as dicts."""
    capture_dir = tempfile.mkdtemp(prefix="agent-stdin-", dir=ns.workdir)
    os.chmod(capture_dir, 0o1777)  # metadata runs as hacluster
    real_dir = "/run/real-agent"
    os.makedirs(ns.path(real_dir), exist_ok=True)
    installed = ns.path("/usr/sbin/fence_clc")
    shutil.copy2(installed, ns.path(real_dir + "/fence_clc"))  # keeps the name: metadata uses it
    ns.write_file("/usr/sbin/fence_clc", WRAPPER.format(
        capture_dir=capture_dir, python=SYSTEM_PYTHON, real_agent=real_dir + "/fence_clc"),
        mode=0o755)

    def calls():
        found = []
        for name in sorted(os.listdir(capture_dir), key=lambda n: os.stat(
                os.path.join(capture_dir, n)).st_mtime):
            with open(os.path.join(capture_dir, name)) as f:
                found.append(dict(line.split("=", 1) for line in f.read().splitlines() if "=" in line))
        return found
    try:
        yield calls
    finally:
        shutil.copy2(ns.path(real_dir + "/fence_clc"), installed)
