"""One cell of the fault matrix: a fresh simulator, one fault, one agent run
started the way Pacemaker (stdin) or an admin (argv) starts it, and a record
of what really happened."""

import os
import subprocess
import threading
import time

from agentrun import (FAST_TIMING, SENTINEL_PASSWORD, WEB, AgentResult, fencing_world, run_agent,
                      stdin_params)
from clcsim import Simulator
from support import power_posts

from . import checks

PLUG = WEB  # the server every cell fences
POWER_ACTIONS = ("on", "off", "reboot-onoff", "reboot-cycle")
READ_ACTIONS = ("status", "list", "list-status", "monitor")
ACTIONS = POWER_ACTIONS + READ_ACTIONS
OK, FAIL = "ok", "fail"

# Short timeouts keep the matrix fast; under Pacemaker the library zeroes
# them, so the agent must keep these values itself.
POWER_TIMEOUT, SHELL_TIMEOUT, LOGIN_TIMEOUT = 4, 2, 1
TIMEOUT_PARAMS = {"power_timeout": str(POWER_TIMEOUT), "shell_timeout": str(SHELL_TIMEOUT),
                  "login_timeout": str(LOGIN_TIMEOUT)}
# Every action has one deadline, the power timeout; a request started just
# before it may take one more second (the README's worst case per action).
LAST_REQUEST = 1.0
STARTUP_SLACK = 3.0  # process start on a loaded 2-core machine
KILL_AFTER = 45.0    # a run still going then is a hang beyond doubt
ARGV_NAMES = {"login": "--username", "passwd": "--password", "port": "--plug"}
FLAGS = ("verbose",)


def hang_bound(action):
    return POWER_TIMEOUT + LAST_REQUEST + STARTUP_SLACK


def agent_action(action):
    return "reboot" if action.startswith("reboot") else action


def argv_of(params):
    """The command line an admin would type for the same parameters."""
    args = []
    for name, value in params.items():
        option = ARGV_NAMES.get(name, "--" + name.replace("_", "-"))
        args.append(option if name in FLAGS else "%s=%s" % (option, value))
    return args


def run_as(mode, params, **kwargs):
    """One agent run with `params` passed as pacemaker-fenced passes them
    (mode "stdin", in the fencer's environment) or as an admin types them
    ("argv"); kwargs go to run_agent."""
    if mode == "stdin":
        return run_agent(stdin=params, pacemaker=True, **kwargs)
    return run_agent(argv_of(params), **kwargs)


def stop_soon(sim):
    """Stopping waits for the server's poll loop (~0.5 s): do it aside."""
    threading.Thread(target=sim.stop, daemon=True).start()


class Cell:
    """The agent's parameters and surroundings for one run; fault setups
    change them before the run."""

    def __init__(self, sim, action, mode, workdir, proxy_url=None):
        self.sim = sim
        self.action = action
        self.mode = mode
        self.proxy_url = proxy_url
        self.workdir = workdir
        self.token_dir = os.path.join(workdir, "tokens")
        os.makedirs(self.token_dir, mode=0o700, exist_ok=True)
        self.debug_file = os.path.join(workdir, "debug.log")
        self.params = stdin_params(sim, self.token_dir, PLUG, agent_action(action),
                                   verbose="1", debug_file=self.debug_file, **TIMEOUT_PARAMS)
        if action.startswith("reboot-"):
            self.params["method"] = action.split("-", 1)[1]
        self.secrets = [SENTINEL_PASSWORD]

    @property
    def plug(self):
        return self.params.get("port", PLUG)

    def run(self, params=None):
        params = params or self.params
        try:
            return run_as(self.mode, params, timeout=KILL_AFTER, debug_file=self.debug_file)
        except subprocess.TimeoutExpired as ex:
            return AgentResult(None, decoded(ex.stdout), decoded(ex.stderr), KILL_AFTER,
                               checks.read_text(self.debug_file))

    def prime_token_cache(self):
        """One clean run that leaves a token in the cache."""
        result = self.run(dict(self.params, action="monitor"))
        assert result.rc == 0 and self.token_files(), result
        os.unlink(self.debug_file)

    def token_files(self):
        return [os.path.join(self.token_dir, name) for name in os.listdir(self.token_dir)
                if name.endswith(".token")]


def decoded(output):
    if isinstance(output, bytes):
        return output.decode("utf-8", "replace")
    return output or ""


def snapshots(sim, server_ids):
    return {server_id.lower(): sim.server(server_id) for server_id in server_ids}


def run_cell(fault, action, mode, workdir, proxy_url=None):
    """Run one (fault, action, input mode) cell; returns its record."""
    world = fencing_world()
    server_ids = [server["id"] for server in world["servers"]]
    sim_options = dict(FAST_TIMING, **fault.sim_options)
    sim = Simulator(config=world, **sim_options).start()
    try:
        cell = Cell(sim, action, mode, workdir, proxy_url)
        sim.set_server(PLUG, powerState="stopped" if action == "on" else "started")
        fault.setup(cell)
        sim.clear_requests()
        before = snapshots(sim, server_ids)
        started_at = time.time()
        result = cell.run()
        time.sleep(fault.settle)
        after = snapshots(sim, server_ids)
        return judge(fault, cell, result, before, after, started_at,
                     sim.requests(), sim.issued_tokens())
    finally:
        stop_soon(sim)


def expected_rc(expected, action, before, plug):
    if expected == FAIL:
        return 1
    return 2 if action == "status" and checks.is_stopped(before.get(plug.lower())) else 0


def judge(fault, cell, result, before, after, started_at, requests, tokens):
    action, plug = cell.action, cell.plug
    expected = fault.expected(action)
    want_rc = expected_rc(expected, action, before, plug)
    errors = checks.failure_lines(result)
    duplicates, resent = checks.audit_posts(requests)
    bound = hang_bound(action)
    token_problems, neighbours = checks.token_dir_problems(cell.token_dir)
    secrets = cell.secrets + tokens
    found = checks.leaked([result.stdout, result.stderr, result.debug_text] + neighbours, secrets)
    record = {
        "fault": fault.name, "action": action, "mode": cell.mode, "expected": expected,
        "rc": result.rc, "expected_rc": want_rc, "seconds": round(result.seconds, 2),
        "bound": bound,
        "false_off": checks.false_off(action, result, plug, before, after, started_at),
        "traceback": checks.crashed(result),
        "leaks": [secret_label(secret, cell.secrets) for secret in found] + token_problems,
        "hang": result.rc is None or result.seconds > bound,
        # Pacemaker 2.0 takes "timed out" in a failed agent's stderr for a
        # timeout of its own: it then neither runs the agent again nor lets
        # another node try, and a monitor loses the agent's reason. (The
        # library's "Timed out waiting to power ON" ends a successful reboot.)
        "says_timed_out": result.rc not in (0, None) and "timed out" in result.stderr.lower(),
        "duplicate_posts": duplicates, "resent_after_refusal": resent,
        "power_posts": len(power_posts(requests)),
        "logins": sum(1 for r in requests if r["path"].endswith("/authentication/login")),
        "stdout": redact(result.stdout, secrets)[-300:],
        "stderr": redact("\n".join(errors) or result.stderr, secrets)[-300:],
    }
    record["problems"] = problems_of(record, errors, checks.false_on(action, result, plug, after))
    return record


def problems_of(record, errors, false_on):
    problems = []
    if record["rc"] != record["expected_rc"]:
        problems.append("exit code %s, expected %s" % (record["rc"], record["expected_rc"]))
    if record["expected_rc"] == 1 and len(errors) != 1:
        problems.append("%d 'ERROR: Failed:' lines, expected 1" % len(errors))
    if record["expected_rc"] != 1 and errors:
        problems.append("error line on success: %s" % errors[0])
    for flag, text in (("false_off", "false OFF"), ("traceback", "traceback or internal error"),
                       ("hang", "ran %.1f s, bound %.0f s" % (record["seconds"], record["bound"]))):
        if record[flag]:
            problems.append(text)
    if false_on:
        problems.append("claims ON but the server is not running")
    if record["says_timed_out"]:
        problems.append("says 'timed out', which Pacemaker 2.0 takes for its own timeout")
    if record["leaks"]:
        problems.append("leaked: %s" % ", ".join(record["leaks"]))
    if record["duplicate_posts"]:
        problems.append("%d duplicate power POSTs" % record["duplicate_posts"])
    return problems


def secret_label(secret, own_secrets):
    """Names a found secret without repeating it."""
    if secret in own_secrets:
        return "password #%d" % own_secrets.index(secret)
    return secret if secret in checks.HEADER_TEXTS else "bearer token"


def redact(text, secrets):
    for secret in secrets:
        text = text.replace(secret, "<secret>")
    return text
