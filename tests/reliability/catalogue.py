"""The faults of the matrix: what CLC, the network, the admin or the host
can get wrong, how to produce each, and which actions must fail under it.
Every other cell must succeed (and tell the truth)."""

import json
import os

from agentrun import SENTINEL_PASSWORD, closed_port_url

from .runner import ACTIONS, FAIL, OK, PLUG, POWER_ACTIONS

API_CALLS = r"^/v2/(servers|datacenters|groups|operations)/"
READS = r"^/v2/(servers|datacenters|groups)/"
SERVER = r"^/v2/servers/"
POWER_POST = r"^/v2/operations/[^/]+/servers/"
OP_STATUS = r"^/v2/operations/[^/]+/status/"
LOGIN = r"^/v2/authentication/login"
NOBODY = 65534
ALL_BUT_LISTS = tuple(a for a in ACTIONS if a not in ("list", "list-status"))
NEEDS_POWER_STATE = POWER_ACTIONS + ("status",)


class Fault:
    def __init__(self, name, *setup, fails=(), only=ACTIONS, sim=None, modes=("stdin",),
                 settle=0.0, xfail=None):
        self.name = name
        self.steps = setup
        self.fails = ACTIONS if fails == "all" else fails
        self.settle = settle  # seconds before judging: a lagging record catches up
        self.only = only
        self.sim_options = sim or {}
        self.modes = modes
        self.xfail = xfail or {}  # action -> reason: known agent bugs, as strict xfail cells

    def applies(self, action):
        return action in self.only

    def expected(self, action):
        return FAIL if action in self.fails else OK

    def setup(self, cell):
        for step in self.steps:
            step(cell)

    def __repr__(self):
        return self.name


# ---------------------------------------------------------------- setup steps

def api(kind, path=None, method=None, count=None, **params):
    def step(cell):
        cell.sim.add_fault(kind, path=path, method=method, count=count, **params)
    return step


def server(**fields):
    return lambda cell: cell.sim.set_server(PLUG, **fields)


def timing(**fields):
    return lambda cell: cell.sim.configure(**fields)


def option(**values):
    """Set agent parameters; a callable value is computed from the cell."""
    def step(cell):
        cell.params.update({name: value(cell) if callable(value) else value
                            for name, value in values.items()})
    return step


def without(name):
    return lambda cell: cell.params.pop(name, None)


def secret_password(password):
    def step(cell):
        cell.params["passwd"] = password
        cell.secrets.append(password)
    return step


def url_password(where, password):
    """api_url or proxy with a user and password in it (a secret)."""
    def step(cell):
        url = cell.sim.url if where == "api_url" else closed_port_url()
        cell.params[where] = url.replace("://", "://url-user:%s@" % password, 1)
        cell.secrets.append(password)
    return step


def prime_cache(cell):
    cell.prime_token_cache()


def expire_tokens(cell):
    cell.sim.expire_tokens()


def on_cache_files(change):
    def step(cell):
        for path in cell.token_files():
            change(path, cell)
    return step


def corrupt(path, cell):
    with open(path, "w") as f:
        f.write('{"token": "half')


def replace_by_symlink(path, cell):
    decoy = os.path.join(cell.workdir, "decoy.json")
    with open(decoy, "w") as f:
        json.dump({"token": "decoy", "accountAlias": "ACCT"}, f)
    os.unlink(path)
    os.symlink(decoy, path)


def already_in_target_state(cell):
    cell.sim.set_server(PLUG, powerState="started" if cell.action == "on" else "stopped")


def body(data):
    return json.dumps(data)


SERVER_SHAPE = {"id": PLUG.lower(), "name": PLUG, "status": "active", "details": {}}


def server_body(**changes):
    return body(dict(SERVER_SHAPE, **changes))


# ---------------------------------------------------------------- the faults

FAULTS = [
    Fault("none (control)", modes=("stdin", "argv")),
    Fault("TLS, CA trusted (control)", sim={"tls": True}, modes=("stdin", "argv")),
    Fault("via a working proxy (control)", option(proxy=lambda cell: cell.proxy_url),
          modes=("stdin", "argv")),
    Fault("wrong password (400)", secret_password("Wrong-" + SENTINEL_PASSWORD), fails="all",
          modes=("stdin", "argv")),
    Fault("cached token expired/revoked (401)", prime_cache, expire_tokens),
    Fault("401 on every call", api("status", API_CALLS, status=401), fails="all"),
    Fault("unknown server (404)", option(port="UC1ACCTGONE01"), fails=ALL_BUT_LISTS),
    Fault("unknown account", option(account="NOPE"), fails="all"),
    # The agent refuses ids it would have to change to put them in a URL.
    Fault("plug with non-ASCII letters", option(port="UC1ACCTWEB01ă"), fails="all"),
    Fault("account with non-ASCII letters", option(account="ACCTă"), fails="all"),
    Fault("500 once per run", api("status", READS, count=1, status=500)),
    Fault("500 on every call", api("status", API_CALLS, status=500), fails="all"),
    Fault("500 on the power POST", api("status", POWER_POST, "POST", status=500),
          fails=POWER_ACTIONS, only=POWER_ACTIONS),
    Fault("503 on everything", api("status", status=503), fails="all"),
    Fault("503 on the power POST once", api("status", POWER_POST, "POST", count=1, status=503),
          only=POWER_ACTIONS),
    Fault("429 + Retry-After twice", api("status", count=2, status=429, retry_after=1)),
    Fault("429 + Retry-After on the power POST", api("status", POWER_POST, "POST", count=1,
                                                      status=429, retry_after=1),
          only=POWER_ACTIONS),
    Fault("hang (accepted, no answer)", api("hang", API_CALLS), fails="all"),
    Fault("hang on the power POST", api("hang", POWER_POST, "POST"),
          fails=POWER_ACTIONS, only=POWER_ACTIONS),
    Fault("connection refused", option(api_url=lambda cell: closed_port_url()), fails="all"),
    Fault("reset mid-body on a read", api("reset", READS, "GET", count=1, after_headers=True)),
    Fault("reset mid-body on the power POST", api("reset", POWER_POST, "POST", count=1,
                                                  after_headers=True),
          fails=("reboot-cycle",), only=POWER_ACTIONS),
    Fault("reset before the POST's answer", api("reset", POWER_POST, "POST", count=1),
          fails=POWER_ACTIONS, only=POWER_ACTIONS),
    Fault("truncated JSON on every read", api("truncated", READS), fails="all"),
    Fault("truncated answer to the power POST", api("truncated", POWER_POST, "POST", count=1),
          fails=("reboot-cycle",), only=POWER_ACTIONS),
    Fault("malformed JSON on every read", api("malformed", READS), fails="all"),
    Fault("login answer without a token", api("body", LOGIN, body=body({"userName": "x"})),
          fails="all"),
    Fault("server without details", server(details=False), fails=NEEDS_POWER_STATE),
    Fault("unexpected powerState", api("body", SERVER, "GET", body=server_body(
        details={"powerState": "hibernating"})), fails=NEEDS_POWER_STATE),
    Fault("server status is a list", api("body", SERVER, "GET", body=server_body(
        status=["active"], details={"powerState": "stopped"})), fails=NEEDS_POWER_STATE),
    Fault("operation status is a list", api("body", OP_STATUS, "GET",
                                            body=body([{"status": "succeeded"}])),
          fails=POWER_ACTIONS, only=POWER_ACTIONS),
    Fault("operation failed", api("op_fail", POWER_POST), fails=POWER_ACTIONS, only=POWER_ACTIONS),
    Fault("operation stuck executing", api("op_stuck", POWER_POST),
          fails=POWER_ACTIONS, only=POWER_ACTIONS),
    Fault("server record lags the operation", timing(record_lag=1.5), only=POWER_ACTIONS,
          settle=2.0),
    Fault("slow API (0.3 s a request)", timing(latency=0.3)),
    Fault("maintenance mode", server(inMaintenanceMode=True), fails=POWER_ACTIONS),
    Fault("paused", server(powerState="paused")),
    Fault("under construction", server(status="underConstruction"), fails=NEEDS_POWER_STATE),
    # CLC powers on only active servers; a reboot of a confirmed-off one has fenced it.
    Fault("archived (stopped)", server(status="archived", powerState="stopped"), fails=("on",)),
    Fault("already in the requested state", already_in_target_state, only=("on", "off")),
    Fault("proxy down", option(proxy=lambda cell: closed_port_url()), fails="all",
          modes=("stdin", "argv")),
    Fault("TLS CA not trusted", without("cacert"), sim={"tls": True}, fails="all"),
    Fault("TLS wrong host name", sim={"tls": True, "host": "127.0.0.2"}, fails="all"),
    Fault("DNS failure", option(api_url="https://clc-api.invalid"), fails="all"),
    Fault("proxy password holding '?'", url_password("proxy", "Qm?rk-pass-1a"), fails="all"),
    Fault("api_url password holding '#'", url_password("api_url", "Hash#pass-2b"), fails="all"),
    Fault("password_script hangs", without("passwd"),
          option(password_script="sleep 30; echo " + SENTINEL_PASSWORD), fails="all"),
    Fault("17 MB answer to every read", api("body", READS, body="[" + "0," * 8500000 + "0]"),
          fails="all"),
    Fault("token cache corrupt", prime_cache, on_cache_files(corrupt)),
    Fault("token cache of another owner", prime_cache,
          on_cache_files(lambda path, cell: os.chown(path, NOBODY, NOBODY))),
    Fault("token cache mode 0644", prime_cache,
          on_cache_files(lambda path, cell: os.chmod(path, 0o644))),
    Fault("token cache a symlink", prime_cache, on_cache_files(replace_by_symlink)),
    Fault("token cache dir unwritable", option(token_file="/dev/null/x/[hash].token"),
          modes=("stdin", "argv")),
]


def cells():
    """(fault, action, mode) of every cell that applies."""
    return [(fault, action, mode) for fault in FAULTS for mode in fault.modes
            for action in ACTIONS if fault.applies(action)]
