"""Fault injection, in one place: the kinds, what each does, and the
release of hanging requests.

Transport faults change how the HTTP exchange goes (error codes, hangs,
resets, broken bodies, delays): each is a function of the exchange (the
request handler's send/serve/reset/hold_open) and the fault's params.
Operation faults change how power operations queued by a matching request
end (failed, or stuck executing).
"""

import itertools
import re
import threading
import time
from typing import Callable, NamedTuple, Optional

from .api import Response

DEFAULT_MESSAGES = {
    400: "The request is invalid.",
    401: "Authorization has been denied for this request.",
    403: "Forbidden.",
    404: "Not found.",
    429: "Too many requests. Please retry later.",
    500: "An error has occurred.",
    502: "Bad gateway.",
    503: "The service is temporarily unavailable.",
    504: "Gateway timeout.",
}
DEFAULT_MALFORMED_BODY = "<html><body><h1>oops</h1></body></html>"


# -- transport behaviours: (exchange, params, release) -> None ----------------------

def _status(exchange, params, release):
    status = params["status"]
    body = params.get("body")
    body = {"message": DEFAULT_MESSAGES.get(status, "Error %d." % status)} if body is None else body.encode()
    headers = {}
    if params.get("retry_after") is not None:
        headers["Retry-After"] = str(int(params["retry_after"]))
    exchange.send(Response(status, body, headers))


def _hang(exchange, params, release):
    exchange.hold_open(release)  # until clear() or release_hangs()


def _reset(exchange, params, release):
    if params.get("after_headers"):  # served, then cut mid-body
        exchange.send(exchange.serve(), cut_half=True)
    exchange.reset_connection()  # else: dropped before the request was served


def _malformed(exchange, params, release):
    exchange.send(Response(200, params.get("body", DEFAULT_MALFORMED_BODY).encode()))


def _truncated(exchange, params, release):
    # The request is really served (a power operation does get queued); only the answer breaks.
    exchange.send(exchange.serve(), cut_half=True)
    exchange.close_after()


def _body(exchange, params, release):
    exchange.send(Response(params.get("status", 200), params["body"].encode()))


def _slow(exchange, params, release):
    time.sleep(params["delay"])
    exchange.send(exchange.serve())


class Kind(NamedTuple):
    required: frozenset
    optional: frozenset
    transport: Optional[Callable] = None  # how the exchange misbehaves
    operation_result: Optional[str] = None  # operation faults: "failed", or None (stuck executing)


KINDS = {
    "status": Kind(frozenset({"status"}), frozenset({"body", "retry_after"}), _status),
    "hang": Kind(frozenset(), frozenset(), _hang),
    "reset": Kind(frozenset(), frozenset({"after_headers"}), _reset),
    "malformed": Kind(frozenset(), frozenset({"body"}), _malformed),
    "truncated": Kind(frozenset(), frozenset(), _truncated),
    "body": Kind(frozenset({"body"}), frozenset({"status"}), _body),
    "slow": Kind(frozenset({"delay"}), frozenset(), _slow),
    "op_fail": Kind(frozenset(), frozenset(), operation_result="failed"),
    "op_stuck": Kind(frozenset(), frozenset(), operation_result=None),
}
TRANSPORT_KINDS = frozenset(name for name, kind in KINDS.items() if kind.transport)
OPERATION_KINDS = frozenset(KINDS) - TRANSPORT_KINDS


class Fault:
    def __init__(self, fault_id, kind, path=None, method=None, count=None, **params):
        if kind not in KINDS:
            raise ValueError("unknown fault kind %r (known: %s)" % (kind, ", ".join(sorted(KINDS))))
        missing = KINDS[kind].required - set(params)
        unknown = set(params) - KINDS[kind].required - KINDS[kind].optional
        if missing or unknown:
            raise ValueError("fault %s: missing params %s, unknown params %s"
                             % (kind, sorted(missing), sorted(unknown)))
        if count is not None and int(count) < 1:
            raise ValueError("fault count must be >= 1 or null")
        self.id = fault_id
        self.kind = kind
        self.path = path
        self._path_re = re.compile(path) if path else None
        self.method = method.upper() if method else None
        self.remaining = None if count is None else int(count)
        self.params = params
        self._check_params()

    def _check_params(self):
        if self.kind in ("status", "body") and "status" in self.params:
            self.params["status"] = int(self.params["status"])
            if not 100 <= self.params["status"] <= 599:
                raise ValueError("status must be an HTTP status code")
        if self.kind == "slow":
            self.params["delay"] = float(self.params["delay"])
        if "body" in self.params and not isinstance(self.params["body"], str):
            raise ValueError("fault body must be a string (sent as-is)")

    @property
    def operation_result(self):
        return KINDS[self.kind].operation_result

    def matches(self, method, path):
        return ((self.method is None or self.method == method.upper())
                and (self._path_re is None or self._path_re.search(path) is not None))

    def to_dict(self):
        return dict(self.params, id=self.id, kind=self.kind, path=self.path,
                    method=self.method, count=self.remaining)


class FaultRegistry:
    """The active faults, and the event hanging requests wait on."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []
        self._ids = itertools.count(1)
        self._release = threading.Event()

    def add(self, kind, path=None, method=None, count=None, **params):
        with self._lock:
            fault = Fault(next(self._ids), kind, path, method, count, **params)
            self._faults.append(fault)
            return fault.id

    def take_transport(self, method, path):
        """The transport fault the request meets, or None."""
        return self._take(method, path, TRANSPORT_KINDS)

    def take_operation(self, method, path):
        """The operation fault for what the request queues, or None."""
        return self._take(method, path, OPERATION_KINDS)

    def _take(self, method, path, kinds):
        """The oldest fault of one of `kinds` matching the request, counted as used."""
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds and fault.matches(method, path):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def misbehave(self, fault, exchange):
        """Run a transport fault's behaviour on the exchange."""
        with self._lock:
            release = self._release
        KINDS[fault.kind].transport(exchange, fault.params, release)

    def remove(self, fault_id):
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def clear(self):
        """Drop every fault and let go of every hanging request."""
        with self._lock:
            self._faults = []
            released, self._release = self._release, threading.Event()
        released.set()

    def release_hangs(self):
        """Let go of every hanging request for good (the simulator stops)."""
        with self._lock:
            self._release.set()

    def list(self):
        with self._lock:
            return [f.to_dict() for f in self._faults]
