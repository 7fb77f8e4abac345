"""Fault injection: rules that make matching requests misbehave.

Transport faults change how the HTTP exchange goes (error codes, hangs,
resets, broken bodies, delays). Operation faults change how power operations
queued by a matching request end (failed, or stuck executing).
"""

import itertools
import re
import threading

# kind -> (required params, optional params)
TRANSPORT_KINDS = {
    "status": ({"status"}, {"body", "retry_after"}),
    "hang": (set(), set()),
    "reset": (set(), {"after_headers"}),
    "malformed": (set(), {"body"}),
    "truncated": (set(), set()),
    "body": ({"body"}, {"status"}),
    "slow": ({"delay"}, set()),
}
OPERATION_KINDS = {
    "op_fail": (set(), set()),
    "op_stuck": (set(), set()),
}
ALL_KINDS = dict(TRANSPORT_KINDS, **OPERATION_KINDS)


class Fault:
    def __init__(self, fault_id, kind, path=None, method=None, count=None, **params):
        if kind not in ALL_KINDS:
            raise ValueError("unknown fault kind %r (known: %s)" % (kind, ", ".join(sorted(ALL_KINDS))))
        required, optional = ALL_KINDS[kind]
        missing = required - set(params)
        unknown = set(params) - required - optional
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

    def matches(self, method, path):
        return ((self.method is None or self.method == method.upper())
                and (self._path_re is None or self._path_re.search(path) is not None))

    def to_dict(self):
        return dict(self.params, id=self.id, kind=self.kind, path=self.path,
                    method=self.method, count=self.remaining)


class FaultRegistry:
    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []
        self._ids = itertools.count(1)

    def add(self, kind, path=None, method=None, count=None, **params):
        with self._lock:
            fault = Fault(next(self._ids), kind, path, method, count, **params)
            self._faults.append(fault)
            return fault.id

    def take(self, method, path, kinds):
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

    def remove(self, fault_id):
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def clear(self):
        with self._lock:
            self._faults = []

    def list(self):
        with self._lock:
            return [f.to_dict() for f in self._faults]
