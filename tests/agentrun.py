"""Run fence_clc as users do: a real process, its real fencing library,
options on the command line or as key=value lines on standard input."""

import contextlib
import os
import re
import socket
import subprocess
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AGENT = os.path.join(REPO, "fence_clc")
SYSTEM_PYTHON = "/usr/bin/python3"

# Every test logs in with this password; a scan of all output for it (and for
# the tokens the simulator issued) proves that no secret leaks.
SENTINEL_PASSWORD = "Sentinel-Passw0rd-7f3c9e"
USERNAME = "fencer@acct"

TRACEBACK = re.compile(r"Traceback \(most recent call last\)")

# Simulator timing for tests: power operations that take 0.35 s in all.
FAST_TIMING = {"op_duration": 0.3, "op_start_delay": 0.05}

# The server the tests fence (Pacemaker's plug, the seed's switch).
WEB = "UC1ACCTWEB01"

# The agent's timeouts in runs whose timing is not under test: short, so that
# a run that waits in vain fails fast.
FAST = {"power_timeout": "5", "shell_timeout": "3", "login_timeout": "2"}


class AgentResult:
    def __init__(self, rc, stdout, stderr, seconds, debug_text=""):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.seconds = seconds
        self.debug_text = debug_text

    @property
    def output(self):
        return self.stdout + self.stderr

    def error_lines(self):
        return [line for line in self.stderr.splitlines() if " ERROR: " in line]

    def __repr__(self):
        return "AgentResult(rc=%r, %.2fs, stdout=%r, stderr=%r)" % (
            self.rc, self.seconds, self.stdout, self.stderr)


def load_agent():
    """The agent as a module, in this process: for tests of its functions
    (milliseconds each) that whole runs reach only slowly."""
    import importlib.machinery
    import importlib.util
    loader = importlib.machinery.SourceFileLoader("fence_clc_agent", AGENT)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def agent_env(pacemaker=False, extra=None):
    """The environment of a run. pacemaker=True reproduces what
    pacemaker-fenced sets, which makes the library zero its timeouts."""
    env = dict(os.environ)
    env.pop("PCMK_service", None)
    if pacemaker:
        env["PCMK_service"] = "pacemaker-fenced"
    env.update(extra or {})
    return env


def closed_port_url(scheme="http"):
    """A loopback URL nobody listens on: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return "%s://127.0.0.1:%d" % (scheme, port)


@contextlib.contextmanager
def unconnectable_url():
    """A loopback URL whose listen queue is full: the kernel drops every
    SYN, so a connection is never made nor refused (a firewall dropping
    packets)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        with socket.create_connection(listener.getsockname()):  # fills the queue
            yield "http://127.0.0.1:%d" % listener.getsockname()[1]


def stdin_text(params):
    """key=value lines as pacemaker-fenced sends them."""
    return "".join("%s=%s\n" % (key, value) for key, value in params.items())


def run_agent(args=None, stdin=None, pacemaker=False, env=None, timeout=60,
              debug_file=None, agent=AGENT):
    """Run the agent once. args: list of command-line arguments, or None with
    stdin: dict of key=value parameters (the Pacemaker way)."""
    command = [agent] + list(args or [])
    text = stdin_text(stdin) if stdin is not None else None
    started = time.monotonic()
    proc = subprocess.run(command, input=text, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True,
                          env=env or agent_env(pacemaker), timeout=timeout)
    seconds = time.monotonic() - started
    debug_text = ""
    if debug_file and os.path.exists(debug_file):
        with open(debug_file) as f:
            debug_text = f.read()
    return AgentResult(proc.returncode, proc.stdout, proc.stderr, seconds, debug_text)


def cli_args(sim, token_dir, plug=None, action="status", extra=()):
    """Command-line options for a run against a simulator."""
    args = ["-o", action, "--api-url", sim.url, "-l", USERNAME, "-p", SENTINEL_PASSWORD,
            "--token-file", os.path.join(token_dir, "[hash].token")]
    if plug:
        args += ["-n", plug]
    if getattr(sim, "ca_file", None):
        args += ["--cacert", sim.ca_file]
    return args + list(extra)


def stdin_params(sim, token_dir, plug=None, action="status", **extra):
    """The same as cli_args, in the names Pacemaker uses on stdin."""
    params = {"action": action, "api_url": sim.url, "login": USERNAME,
              "passwd": SENTINEL_PASSWORD,
              "token_file": os.path.join(token_dir, "[hash].token")}
    if plug:
        params["port"] = plug
    if getattr(sim, "ca_file", None):
        params["cacert"] = sim.ca_file
    params.update(extra)
    return params


def long_options(params):
    """stdin parameters as command-line options: {"power_timeout": "5"} ->
    ["--power-timeout", "5"]."""
    args = []
    for name, value in params.items():
        args += ["--" + name.replace("_", "-"), value]
    return args


# FAST as command-line options.
FAST_ARGS = long_options(FAST)


def agent(sim, token_dir, action, plug=WEB, extra=(), **kwargs):
    """A run as an admin types it: command-line options, FAST timeouts."""
    return run_agent(cli_args(sim, token_dir, plug, action, FAST_ARGS + list(extra)), **kwargs)


def states(sim, server_id=WEB):
    """The power states the simulator's server went through, in order."""
    return [state for _, state in sim.server(server_id)["power_history"]]


def assert_one_clear_error(result, *words):
    """Exit 1, one error line naming the problem (each of words), no
    traceback, and no word of OFF or success."""
    assert result.rc == 1, result
    assert not TRACEBACK.search(result.output), result
    errors = result.error_lines()
    assert len(errors) == 1, result
    for word in words:
        assert word.lower() in errors[0].lower(), result
    assert "Status: OFF" not in result.stdout and "Success" not in result.stdout, result


def token_files(token_dir):
    """The paths of the token cache files in token_dir."""
    return [os.path.join(token_dir, name) for name in os.listdir(token_dir)
            if name.endswith(".token")]


def secrets_found(texts, secrets):
    """Which secrets appear in any of the texts (tokens also by their
    signature part, which is what identifies them)."""
    found = set()
    for secret in secrets:
        pieces = [secret]
        if secret.count(".") == 2:
            pieces.append(secret.rsplit(".", 1)[1])
        for text in texts:
            if any(piece and piece in text for piece in pieces):
                found.add(secret)
    return sorted(found)


def fencing_world(extra_servers=()):
    """The simulator's default world, with the sentinel user able to log in
    to account ACCT (and so to its sub-account)."""
    from clcsim.world import default_config
    world = default_config()
    world["accounts"][0]["users"].append({"username": USERNAME, "password": SENTINEL_PASSWORD})
    world["servers"].extend(extra_servers)
    return world


def namespaced_agent(directory, binds=(), net=False, syslog_socket=None, before=""):
    """A script that runs the agent in private namespaces, as root, leaving
    the host untouched: `binds` [(source, system path)] are bind-mounted over
    system files or directories; with net, a network namespace with only
    loopback (and a PID namespace: what the shell line `before` starts in
    the background dies with the agent); syslog_socket becomes /dev/log. Pass
    the script as run_agent(agent=...)."""
    lines = ["set -e"]
    if net:
        lines.append("ip link set lo up")
    lines += ["mount --bind '%s' '%s'" % pair for pair in binds]
    if syslog_socket:  # a private /dev with what the agent needs, and /dev/log
        old_dev = os.path.join(directory, "host-dev")
        os.makedirs(old_dev, exist_ok=True)
        lines += ["mount --bind /dev '%s'" % old_dev, "mount -t tmpfs tmpfs /dev"]
        for name in ("null", "zero", "full", "random", "urandom"):
            lines += ["touch /dev/%s" % name, "mount --bind '%s/%s' /dev/%s" % (old_dev, name, name)]
        lines += ["ln -s /proc/self/fd /dev/fd", "ln -s '%s' /dev/log" % syslog_socket]
    if before:
        lines.append(before)
    lines.append('exec "%s" "$@"' % AGENT)
    inner = os.path.join(directory, "inner.sh")
    with open(inner, "w") as f:
        f.write("\n".join(lines) + "\n")
    namespaces = "--mount --propagation private" + (" --net --pid --fork" if net else "")
    script = os.path.join(directory, "fence_clc")
    with open(script, "w") as f:
        f.write('#!/bin/sh\nexec unshare %s -- /bin/sh "%s" "$@"\n' % (namespaces, inner))
    os.chmod(script, 0o755)
    return script
