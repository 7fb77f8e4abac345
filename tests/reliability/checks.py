"""What one agent run proves, judged against the simulator's own record:
pure functions over the agent's result, server snapshots and the request log."""

import os
import re

from agentrun import TRACEBACK, secrets_found
from support import POWER_POST

SERVER_GET = re.compile(r"^/v2/servers/[^/]+/[^/]+/?$", re.IGNORECASE)
REFUSALS = (429, 503)  # answers after which CLC certainly did not queue the POST
STATE_SHOWS_EFFECT = ("poweron", "poweroff")  # a reset leaves a running server running
HEADER_TEXTS = ("Authorization:", "Bearer ")
# A stack frame line: also printed, without "Traceback", for a SyntaxError.
STACK_FRAME = re.compile(r'^  File "[^"]+", line \d+', re.MULTILINE)


def crashed(result):
    """A traceback anywhere, or the agent's own one-line report of a bug."""
    texts = (result.stdout, result.stderr, result.debug_text)
    return any(TRACEBACK.search(text) or STACK_FRAME.search(text) for text in texts) \
        or "internal error" in result.stderr


def failure_lines(result):
    return [line for line in result.stderr.splitlines() if "ERROR: Failed:" in line]


def claims_success(result):
    return result.rc == 0 and "Success" in result.stdout


def is_stopped(snapshot):
    return snapshot is not None and snapshot["powerState"] == "stopped"


def stopped_during(snapshot, since):
    """Stopped at the start of the window, or a stop recorded in it."""
    history = snapshot["power_history"]
    state_at_start = [state for when, state in history if when < since][-1:]
    return state_at_start == ["stopped"] or any(
        state == "stopped" and when >= since for when, state in history)


def off_lines(stdout):
    """Server ids a list-status output calls off."""
    return [line.split(",", 1)[0].lower() for line in stdout.splitlines()
            if line.lower().endswith(",off")]


def false_off(action, result, plug, before, after, started_at):
    """The one lie a fence agent must never tell: OFF (or a successful off
    or reboot) for a server the simulator did not really stop."""
    server = plug.lower()
    if action == "status":
        says_off = result.rc == 2 or "Status: OFF" in result.stdout
        return says_off and not (is_stopped(before.get(server)) or is_stopped(after.get(server)))
    if action == "off":
        return claims_success(result) and not is_stopped(after.get(server))
    if action.startswith("reboot"):
        return claims_success(result) and not (
            server in after and stopped_during(after[server], started_at))
    if action == "list-status":
        return any(not is_stopped(after.get(server_id)) for server_id in off_lines(result.stdout))
    return False


def false_on(action, result, plug, after):
    """'on' reported done while the server is not running (paused counts
    as on for fencing: the guest is not stopped)."""
    snapshot = after.get(plug.lower())
    return action == "on" and claims_success(result) and (
        snapshot is None or snapshot["powerState"] not in ("started", "paused"))


def audit_posts(requests):
    """(duplicates, re-sent after refusal) among the power POSTs of one run.
    A run fences one server, so POSTs are told apart by operation. A repeat
    is legitimate only when the previous one was refused (429/503: certainly
    not queued) and, for operations whose effect the server's state shows,
    the server was read again in between; anything else is a duplicate."""
    duplicates = resent = 0
    previous = {}  # op -> [status of the last POST, server read since]
    for entry in requests:
        if entry["method"] == "GET" and SERVER_GET.match(entry["path"]):
            for record in previous.values():
                record[1] = True
        match = POWER_POST.match(entry["path"]) if entry["method"] == "POST" else None
        if match is None:
            continue
        op = match.group("op").lower()
        if op in previous:
            status, reread = previous[op]
            if status in REFUSALS and (reread or op not in STATE_SHOWS_EFFECT):
                resent += 1
            else:
                duplicates += 1
        previous[op] = [entry["status"], False]
    return duplicates, resent


def files_under(directory):
    for root, _dirs, names in os.walk(directory):
        for name in names:
            yield os.path.join(root, name)


def read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def token_dir_problems(directory):
    """The cache itself may hold the token, but only as 0600; its
    neighbours (lock, temporary files) must hold nothing secret."""
    problems, neighbour_texts = [], []
    if not directory or not os.path.isdir(directory):
        return problems, neighbour_texts
    for path in files_under(directory):
        if path.endswith(".token") and not os.path.islink(path):
            mode = os.stat(path).st_mode & 0o777
            if mode != 0o600:
                problems.append("token cache %s has mode %o" % (os.path.basename(path), mode))
        else:
            neighbour_texts.append(read_text(path))
    return problems, neighbour_texts


def leaked(texts, secrets):
    """Every secret, or header text, found in the texts."""
    found = secrets_found(texts, secrets)
    found += [header for header in HEADER_TEXTS if any(header in text for text in texts)]
    return found


class Tally:
    """What many runs of one test proved, summed for the report."""

    def __init__(self, name):
        self.name = name
        self.runs = self.false_off = self.traceback = self.hang = self.duplicate_posts = 0
        self.leaks = []

    def add(self, result, secrets, false_off=False, hang=False, extra_texts=()):
        self.runs += 1
        self.false_off += bool(false_off)
        self.traceback += crashed(result)
        self.hang += bool(hang)
        texts = [result.stdout, result.stderr, result.debug_text] + list(extra_texts)
        self.leaks += ["%s in run %d" % ("header text" if found in HEADER_TEXTS else "secret",
                                         self.runs)
                       for found in leaked(texts, secrets)]

    def record(self):
        return {"fault": self.name, "runs": self.runs, "false_off": self.false_off,
                "traceback": self.traceback, "hang": self.hang, "leaks": self.leaks,
                "duplicate_posts": self.duplicate_posts}
