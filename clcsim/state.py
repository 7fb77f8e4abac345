"""The cloud's state and its power-operation state machine.

One lock guards everything here. Changes that happen with time (the server
record catching up with an operation) are kept in a heap of due events.
`advance` applies the due ones; every public method calls it first, and a
ticker thread calls it between requests so power-change callbacks fire on
time even when nobody is asking.
"""

import heapq
import hmac
import itertools
import queue
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Optional

from . import render
from .world import POWER_STATES, SERVER_STATUSES, builtin_group, normalize

POWER_OPERATIONS = ("powerOn", "powerOff", "shutDown", "reboot", "reset", "pause",
                    "startMaintenance", "stopMaintenance")
OPERATION_RESULTS = ("succeeded", "failed")

# errorMessage texts for isQueued:false answers. The first is CLC's documented one,
# also for a server already in the requested state (Behaviour.already_there_message).
NOT_QUEUEABLE = ("The operation cannot be queued because the server cannot be found "
                 "or it is not in a valid state.")
IN_MAINTENANCE = "The operation cannot be queued because the server is in maintenance mode."
ALREADY_IN_STATE = "already there"  # marker: NOT_QUEUEABLE, or no message at all

SETTABLE_FIELDS = {"name", "description", "status", "powerState", "inMaintenanceMode",
                   "details", "cpu", "memoryMB", "storageGB", "osType", "os", "ipAddress", "hostName"}


def utc_stamp():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class Timing:
    """Timing knobs, changeable at run time. Operations keep the values they were queued with."""
    latency: float = 0.0
    op_duration: float = 0.5
    op_start_delay: float = 0.05
    record_lag: float = 0.0
    op_result: str = "succeeded"

    def update(self, **fields):
        unknown = set(fields) - set(self.__dataclass_fields__)
        if unknown:
            raise ValueError("unknown timing fields: %s" % ", ".join(sorted(unknown)))
        if "op_result" in fields and fields["op_result"] not in OPERATION_RESULTS:
            raise ValueError("op_result must be one of %s" % (OPERATION_RESULTS,))
        for name, value in fields.items():
            if name != "op_result":
                value = float(value)
                if value < 0:
                    raise ValueError("%s must be >= 0" % name)
            setattr(self, name, value)


@dataclass
class Behaviour:
    """Where the real API's answers varied, the variant the simulator gives.

    answer_order: "unordered" (CLC's: power operation answers do not follow
    the request; here the first requested server comes last) or "request".
    already_there_message: a power operation on a server already in that
    state answers isQueued:false with NOT_QUEUEABLE (True) or no message.
    unauthorized_body: "empty" (CLC's 401 body was never recorded) or
    "message" ({"message": "Authorization has been denied for this request."}).
    """
    answer_order: str = "unordered"
    already_there_message: bool = True
    unauthorized_body: str = "empty"

    CHOICES = {"answer_order": ("unordered", "request"), "unauthorized_body": ("empty", "message")}

    def update(self, **fields):
        unknown = set(fields) - set(self.__dataclass_fields__)
        if unknown:
            raise ValueError("unknown behaviour fields: %s" % ", ".join(sorted(unknown)))
        for name, value in fields.items():
            if name in self.CHOICES and value not in self.CHOICES[name]:
                raise ValueError("%s must be one of %s" % (name, self.CHOICES[name]))
            if name == "already_there_message" and not isinstance(value, bool):
                raise ValueError("already_there_message must be true or false")
            setattr(self, name, value)


@dataclass
class Operation:
    id: str
    account: str
    name: str
    start_at: float
    end_at: float
    result: Optional[str]  # None: stuck executing forever
    record_lag: float = 0.0

    def status(self, now):
        if now < self.start_at:
            return "notStarted"
        if self.result is None or now < self.end_at:
            return "executing"
        return self.result


class State:
    def __init__(self, config, timing, behaviour=None):
        world = normalize(config)
        self.timing = timing
        self.behaviour = behaviour or Behaviour()
        self.lock = threading.RLock()
        self._wakeup = threading.Condition(self.lock)
        self._events = []  # heap of (due, seq, server key, action, value)
        self._seq = itertools.count()
        self._op_numbers = itertools.count(12345)
        self.notifications = queue.Queue()  # (server id, new power state)
        self.accounts = {acct["alias"].lower(): acct for acct in world["accounts"]}
        self.datacenters = {dc["id"]: dc for dc in world["datacenters"]}
        self.groups = {}
        self.root_groups = {}  # (alias lower, dc id) -> group key
        self.builtin_groups = {}  # (alias lower, dc id, "archive"|"default"|"templates") -> group key
        self.servers = {}
        self.operations = {}
        self._build_groups(world["groups"])
        self._build_servers(world["servers"])

    # -- building -----------------------------------------------------------

    def _build_groups(self, configured):
        """Every account gets CLC's tree in every data center: a root group
        "<DC> Hardware" holding Archive, Default Group and Templates; the
        configured groups without a parent go under the root."""
        for acct in self.accounts.values():
            for dc in self.datacenters.values():
                alias = acct["alias"]
                root = self._add_group(dict(builtin_group(alias, dc["id"], "root"), parent=None))
                self.root_groups[(alias.lower(), dc["id"])] = root
                for kind in ("archive", "default", "templates"):
                    key = self._add_group(dict(builtin_group(alias, dc["id"], kind), parent=root))
                    self.builtin_groups[(alias.lower(), dc["id"], kind)] = key
        for grp in configured:
            self._add_group(dict(grp, type="default"))
        roots = set(self.root_groups.values())
        for key, grp in self.groups.items():
            if key in roots:
                continue
            parent = (grp["parent"] or "").lower() or self.root_groups[(grp["account"].lower(), grp["datacenter"])]
            if self.groups[parent]["account"] != grp["account"]:
                raise ValueError("group %s: parent belongs to another account" % grp["id"])
            grp["parent"] = parent
            self.groups[parent]["children"].append(key)
        for grp in self.groups.values():  # CLC listed subgroups by name
            grp["children"].sort(key=lambda child: self.groups[child]["name"])

    def _add_group(self, grp):
        key = grp["id"].lower()
        if key in self.groups:
            raise ValueError("duplicate group id %s" % grp["id"])
        self.groups[key] = dict(grp, children=[], servers=[])
        return key

    def _build_servers(self, configured):
        now = time.time()
        for number, srv in enumerate(configured):
            home = "archive" if srv["status"] in ("archived", "queuedForRestore") else "default"
            group_key = (srv["group"] or "").lower() or \
                self.builtin_groups[(srv["account"].lower(), srv["datacenter"], home)]
            group = self.groups[group_key]
            if group["account"] != srv["account"] or group["datacenter"] != srv["datacenter"]:
                raise ValueError("server %s: group %s is in another account or data center"
                                 % (srv["id"], group["id"]))
            key = srv["id"].lower()
            self.servers[key] = dict(
                srv, group=group["id"], modifiedDate=utc_stamp(),
                ipAddress=srv["ipAddress"] or "10.%d.%d.%d" % (number // 62500 % 256, number // 250 % 250, number % 250 + 2),
                power_history=[[now, srv["powerState"]]])
            group["servers"].append(key)

    # -- time ---------------------------------------------------------------

    @contextmanager
    def _current(self):
        """Hold the lock with every due event applied."""
        with self.lock:
            self.advance()
            yield time.monotonic()

    def advance(self):
        with self.lock:
            now = time.monotonic()
            while self._events and self._events[0][0] <= now:
                _, _, key, action, value = heapq.heappop(self._events)
                self._apply(self.servers[key], action, value)

    def _apply(self, srv, action, value):
        if action == "power":
            self._set_power(srv, value)
        elif action == "history":  # a cycle the record never shows (reboot)
            srv["power_history"].append([time.time(), value])
        elif action == "maintenance":
            srv["inMaintenanceMode"] = value
            srv["modifiedDate"] = utc_stamp()

    def _set_power(self, srv, state):
        if srv["powerState"] == state:
            return
        srv["powerState"] = state
        srv["modifiedDate"] = utc_stamp()
        srv["power_history"].append([time.time(), state])
        self.notifications.put((srv["id"], state))

    def run_ticker(self, stopping):
        """Apply events as they fall due until `stopping` (an Event) is set."""
        with self.lock:
            while not stopping.is_set():
                self.advance()
                wait = 0.5
                if self._events:
                    wait = min(wait, max(0.0, self._events[0][0] - time.monotonic()))
                self._wakeup.wait(wait)

    def wake_ticker(self):
        with self.lock:
            self._wakeup.notify_all()

    # -- accounts -----------------------------------------------------------

    def authenticate(self, username, password):
        """(user name, account record) for good credentials, else None."""
        with self.lock:
            for acct in self.accounts.values():
                for user in acct["users"]:
                    if user["username"].lower() == username.lower() and \
                            hmac.compare_digest(user["password"].encode(), password.encode()):
                        return user["username"], acct
        return None

    def may_access(self, own_alias, alias):
        """A user may use their own account and its sub-accounts, at any depth."""
        with self.lock:
            acct = self.accounts.get(alias.lower())
            while acct is not None:
                if acct["alias"].lower() == own_alias.lower():
                    return True
                acct = self.accounts.get((acct["parent"] or "").lower())
        return False

    # -- API views ----------------------------------------------------------

    def server_json(self, alias, server_id):
        with self._current():
            srv = self._server_in(alias, server_id)
            return None if srv is None else render.server_json(srv)

    def _server_in(self, alias, server_id):
        srv = self.servers.get(server_id.lower())
        return srv if srv is not None and srv["account"].lower() == alias.lower() else None

    def datacenters_json(self, alias, group_links):
        with self._current():
            return [self._datacenter_json(alias, dc, group_links) for dc in self.datacenters.values()]

    def datacenter_json(self, alias, dc_id, group_links):
        with self._current():
            dc = self.datacenters.get(dc_id.lower())
            return None if dc is None else self._datacenter_json(alias, dc, group_links)

    def _datacenter_json(self, alias, dc, group_links):
        root = self.groups[self.root_groups[(alias.lower(), dc["id"])]] if group_links else None
        return render.datacenter_json(alias, dc, root)

    def group_json(self, alias, group_id, detailed):
        with self._current():
            group = self.groups.get(group_id.lower())
            if group is None or group["account"].lower() != alias.lower():
                return None
            return render.group_json(group, self.groups, self.servers, detailed)

    def operation_status(self, alias, status_id):
        with self._current() as now:
            op = self.operations.get(status_id.lower())
            if op is None or op.account.lower() != alias.lower():
                return None
            return op.status(now)

    # -- power operations ---------------------------------------------------

    def queue_operation(self, alias, name, server_ids, take_fault=lambda: None):
        """Queue `name` on each distinct server; one CLC answer element per server.

        `take_fault` is called once if anything gets queued; it returns an
        operation fault (op_fail/op_stuck) or None.
        """
        with self._current() as now:
            answers, seen, op = [], set(), None
            for server_id in server_ids:
                key = server_id.lower()
                if key in seen:
                    continue
                seen.add(key)
                queueable, message = self._check_queueable(alias, key, name)
                if not queueable:
                    answer = {"server": key, "isQueued": False}
                    if message == ALREADY_IN_STATE:
                        message = NOT_QUEUEABLE if self.behaviour.already_there_message else None
                    if message:
                        answer["errorMessage"] = message
                    answers.append(answer)
                    continue
                if op is None:
                    op = self._new_operation(alias, name, self.servers[key]["datacenter"], now, take_fault())
                self._schedule_effects(op, key)
                answers.append({"server": key, "isQueued": True, "links": [{
                    "rel": "status", "href": "/v2/operations/%s/status/%s" % (alias.lower(), op.id),
                    "id": op.id}]})
            self._wakeup.notify_all()
            if self.behaviour.answer_order == "unordered":
                answers = answers[1:] + answers[:1]
            return answers

    def _check_queueable(self, alias, key, name):
        """(True, None) when the operation can be queued, else (False, errorMessage)."""
        srv = self._server_in(alias, key)
        if srv is None or srv["status"] != "active":
            return False, NOT_QUEUEABLE
        maintenance = srv["inMaintenanceMode"]
        if name == "startMaintenance":
            return (False, ALREADY_IN_STATE) if maintenance else (True, None)
        if name == "stopMaintenance":
            return (True, None) if maintenance else (False, ALREADY_IN_STATE)
        if maintenance:
            return False, IN_MAINTENANCE
        power = srv["powerState"]
        already = {"powerOff": "stopped", "shutDown": "stopped", "powerOn": "started", "pause": "paused"}
        if already.get(name) == power:
            return False, ALREADY_IN_STATE
        # A guest OS can't shut down or reboot while paused or off; only a started VM can pause.
        invalid = {"shutDown": {"paused"}, "reboot": {"stopped", "paused"},
                   "reset": {"stopped", "paused"}, "pause": {"stopped"}}
        if power in invalid.get(name, ()):
            return False, NOT_QUEUEABLE
        return True, None

    def _new_operation(self, alias, name, datacenter, now, fault):
        """An operation, its id prefixed by the data center of the (first) server it runs on."""
        timing = self.timing
        start = now + timing.op_start_delay
        op = Operation(id="%s-%d" % (datacenter, next(self._op_numbers)),
                       account=alias.upper(), name=name, start_at=start,
                       end_at=start + timing.op_duration, result=timing.op_result,
                       record_lag=timing.record_lag)
        if fault is not None:
            op.result = fault.operation_result
        self.operations[op.id] = op
        return op

    def _schedule_effects(self, op, key):
        """Queue the changes the server record shows after the operation succeeds."""
        if op.result != "succeeded":
            return
        done = op.end_at + op.record_lag
        halfway = (op.start_at + op.end_at) / 2 + op.record_lag
        effects = {
            "powerOff": [(done, "power", "stopped")],
            "shutDown": [(done, "power", "stopped")],
            "powerOn": [(done, "power", "started")],
            "pause": [(done, "power", "paused")],
            "reset": [(halfway, "power", "stopped"), (done, "power", "started")],
            "reboot": [(halfway, "history", "stopped"), (done, "history", "started")],
            "startMaintenance": [(done, "maintenance", True)],
            "stopMaintenance": [(done, "maintenance", False)],
        }[op.name]
        for due, action, value in effects:
            heapq.heappush(self._events, (due, next(self._seq), key, action, value))

    # -- test control -------------------------------------------------------

    def snapshot(self, server_id):
        """A copy of a server's record; KeyError when unknown."""
        with self._current():
            srv = self.servers[server_id.lower()]
            return dict(srv, power_history=[list(entry) for entry in srv["power_history"]])

    def update_server(self, server_id, **fields):
        unknown = set(fields) - SETTABLE_FIELDS
        if unknown:
            raise ValueError("fields not settable: %s" % ", ".join(sorted(unknown)))
        if "status" in fields and fields["status"] not in SERVER_STATUSES:
            raise ValueError("status must be one of %s" % (SERVER_STATUSES,))
        if "powerState" in fields and fields["powerState"] not in POWER_STATES:
            raise ValueError("powerState must be one of %s" % (POWER_STATES,))
        with self._current():
            srv = self.servers[server_id.lower()]
            for name, value in fields.items():
                if name == "powerState":
                    self._set_power(srv, value)
                elif name in ("inMaintenanceMode", "details"):
                    srv[name] = bool(value)
                else:
                    srv[name] = value
            srv["modifiedDate"] = utc_stamp()
