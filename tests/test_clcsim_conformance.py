"""clcsim against real CLC traffic: each recorded exchange in
tests/data/clc-recordings (extracted by tools/extract_recordings.py from the
SDK teams' public recordings) is replayed against the simulator's default
world, in the same situation, and the answers compared: status, the headers
that matter, and the JSON shape - keys, value types, the case of ids, link
rels and hrefs, whether `details` is there and what it holds, error bodies.

Ids differ between the recorded account (ALTD) and the simulated one
(ACCT), so hrefs are compared as templates: `/v2/servers/{alias}/{server}`.
"""

import gzip
import json
import os
import re

import pytest

from support import wait_until

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "clc-recordings", "exchanges.json")
with open(DATA) as data_file:
    EXCHANGES = {exchange["name"]: exchange for exchange in json.load(data_file)["exchanges"]}

POWER_OPERATIONS = ("powerOn", "powerOff", "shutDown", "reboot", "reset", "pause",
                    "startMaintenance", "stopMaintenance")
BATCH = ["UC1ACCTWEB01", "UC1ACCTWEB02", "UC1ACCTDB01"]
CASE_KEYS = {"id", "server", "groupId", "locationId", "accountAlias", "locationAlias"}
BUILTIN_GROUPS = {"Archive", "Default Group", "Templates"}


# -- the simulated side of each exchange ---------------------------------------

def root_group(api, dc):
    dcs = api.get("/v2/datacenters/ACCT?groupLinks=true").json()
    return next(link["id"] for d in dcs if d["id"] == dc for link in d["links"] if link["rel"] == "group")


def group_named(api, name, dc="uc1"):
    pending = [api.get("/v2/groups/ACCT/%s" % root_group(api, dc)).json()]
    while pending:
        group = pending.pop()
        if group["name"] == name:
            return group["id"]
        pending.extend(group["groups"])
    raise KeyError(name)


def get_server(server_id, **fields):
    def replay(api, sim, headers):
        if fields:
            sim.set_server(server_id, **fields)
        return api.call("GET", "/v2/servers/ACCT/%s" % server_id, headers=headers)
    return replay


def power(operation):
    """The recorded batches were all queued: put the servers where `operation` applies."""
    before = {"powerOn": {"powerState": "stopped"}, "stopMaintenance": {"inMaintenanceMode": True}}

    def replay(api, sim, headers):
        for server_id in BATCH:
            sim.set_server(server_id, **before.get(operation, {}))
        ids = BATCH + BATCH if operation == "reboot" else BATCH  # the recorded reboot repeated its ids
        return api.call("POST", "/v2/operations/ACCT/servers/%s" % operation, ids, headers=headers)
    return replay


def operation_status(api, sim, headers):
    status_id = api.power("powerOff", ["UC1ACCTWEB01"]).json()[0]["links"][0]["id"]
    wait_until(lambda: api.status(status_id).json()["status"] == "succeeded", 5, interval=0.02,
               what="the operation to succeed")
    return api.call("GET", "/v2/operations/ACCT/status/%s" % status_id, headers=headers)


def login(username, password):
    def replay(api, sim, headers):
        return api.call("POST", "/v2/authentication/login", {"username": username, "password": password},
                        token="", headers=headers)
    return replay


def get_group(find, detailed):
    def replay(api, sim, headers):
        query = "?serverDetail=detailed" if detailed else ""
        return api.call("GET", "/v2/groups/ACCT/%s%s" % (find(api), query), headers=headers)
    return replay


def transient_500(api, sim, headers):
    sim.add_fault("status", path="/v2/groups/", status=500, count=1)
    return api.call("GET", "/v2/groups/ACCT/%s?serverDetail=detailed" % root_group(api, "uc1"), headers=headers)


REPLAYS = {
    "login_200": login("admin@acct", "s3cret-Passw0rd"),
    "login_400": login("admin@acct", "wrong"),
    "server_started": get_server("UC1ACCTWEB01"),
    "server_stopped": get_server("UC1ACCTWEB01", powerState="stopped"),
    "server_paused": get_server("UC1ACCTWEB01", powerState="paused"),
    "server_archived": get_server("UC1ACCTOLD01"),
    "server_under_construction": get_server("UC1ACCTWEB02", status="underConstruction"),
    "server_unknown": get_server("UC1ACCTNOPE99"),
    "operation_status": operation_status,
    "datacenters_group_links": lambda api, sim, headers: api.call(
        "GET", "/v2/datacenters/ACCT?groupLinks=true", headers=headers),
    "error_500": transient_500,
    "group_plain_root": get_group(lambda api: root_group(api, "uc1"), detailed=False),
    "group_detailed_root": get_group(lambda api: root_group(api, "va1"), detailed=True),
    "group_detailed_active": get_group(lambda api: group_named(api, "Databases"), detailed=True),
    "group_detailed_archive": get_group(lambda api: group_named(api, "Archive"), detailed=True),
    "group_detailed_restoring": get_group(lambda api: group_named(api, "Archive"), detailed=True),
}
REPLAYS.update({"power_" + operation: power(operation) for operation in POWER_OPERATIONS})


# -- shapes --------------------------------------------------------------------

def href_template(href):
    """/v2/servers/altd/ca1altdpwrops01/statistics -> /v2/servers/{alias}/{server}/statistics.
    Only lowercase aliases and ids match, so a case slip shows as a difference."""
    def segment(part):
        for pattern, name in ((r"altd|acct", "{alias}"), (r"[0-9a-f]{32}", "{id}"),
                              (r"[a-z]{2}\d-\d+", "{operation}"), (r"[a-z]{2}\d", "{dc}"),
                              (r"[a-z]{2}\d(altd|acct)[a-z0-9-]+", "{server}")):
            if re.fullmatch(pattern, part):
                return name
        return part
    return "/".join(segment(part) for part in href.split("/"))


def case_of(text):
    if text == text.lower() and text != text.upper():
        return "lower"
    if text == text.upper() and text != text.lower():
        return "upper"
    return "mixed" if text.strip() else "empty"


def scalar_shape(key, value):
    kind = {bool: "bool", int: "int", float: "float", str: "str", type(None): "null"}[type(value)]
    if key in CASE_KEYS and isinstance(value, str):
        kind += ":" + case_of(value)
    return kind


def link_shape(link):
    return (link.get("rel"), href_template(link.get("href", "")), tuple(sorted(link)),
            tuple(link.get("verbs", ())))


def element_kind(element):
    """How list elements are told apart, so that like is compared with like."""
    if "serversCount" in element:
        return "group " + (element["name"] if element["name"] in BUILTIN_GROUPS else "(user)")
    if "osType" in element:
        return "server " + element["status"]
    if "isQueued" in element:
        return "isQueued %s" % element["isQueued"]
    return "element"


def shape(value, key=None, server_links=None):
    """A comparable picture of a JSON value. Server links of a group tree
    are gathered in `server_links` (plain listings put them in whichever
    group holds a server; detailed ones have none)."""
    if isinstance(value, dict):
        return {k: shape(v, k, server_links) for k, v in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(e, dict) and "rel" in e for e in value):
            if server_links is not None:
                server_links.update(link_shape(e) for e in value if e["rel"] == "server")
            return ("links", frozenset(link_shape(e) for e in value if e["rel"] != "server"))
        if value and all(isinstance(e, dict) for e in value):
            kinds = {}
            for element in value:
                kinds.setdefault(element_kind(element), shape(element, None, server_links))
            return ("kinds", kinds)
        return ("list", frozenset(scalar_shape(key, e) for e in value))
    return scalar_shape(key, value)


def body_shape(body):
    server_links = set()
    picture = shape(body, None, server_links)
    return {"body": picture, "server links": frozenset(server_links)}


def differences(recorded, simulated, where="$"):
    if isinstance(recorded, dict) and isinstance(simulated, dict):
        found = []
        for key in sorted(set(recorded) | set(simulated)):
            if key not in simulated:
                found.append("%s.%s: recorded, missing here" % (where, key))
            elif key not in recorded:
                found.append("%s.%s: here, not recorded" % (where, key))
            else:
                found += differences(recorded[key], simulated[key], "%s.%s" % (where, key))
        return found
    if isinstance(recorded, tuple) and isinstance(simulated, tuple) and recorded[0] == simulated[0] == "kinds":
        found = []
        for kind, picture in recorded[1].items():
            if kind not in simulated[1]:
                found.append("%s[%s]: recorded, none here (here: %s)" % (where, kind, sorted(simulated[1])))
            else:
                found += differences(picture, simulated[1][kind], "%s[%s]" % (where, kind))
        return found
    if isinstance(recorded, tuple) and isinstance(simulated, tuple) and recorded[0] == simulated[0] == "links":
        return ["%s: link %s recorded only" % (where, link) for link in sorted(recorded[1] - simulated[1])] + \
            ["%s: link %s here only" % (where, link) for link in sorted(simulated[1] - recorded[1])]
    if empty_list(recorded) or empty_list(simulated):
        # An empty list fits any element type, except where servers are listed.
        if not where.endswith(".servers") or recorded == simulated:
            return []
    if recorded != simulated:
        return ["%s: recorded %s, here %s" % (where, recorded, simulated)]
    return []


def empty_list(picture):
    return isinstance(picture, tuple) and not picture[1]


def decoded_body(reply):
    data = reply.data
    if reply.headers.get("Content-Encoding") == "gzip":
        data = gzip.decompress(data)
    return json.loads(data) if data else None


# -- the test ------------------------------------------------------------------

def test_every_recorded_exchange_has_a_replay():
    assert set(REPLAYS) == set(EXCHANGES)


@pytest.mark.parametrize("name", sorted(EXCHANGES))
def test_simulator_answers_like_the_recording(name, api, sim):
    recorded = EXCHANGES[name]
    response = recorded["response"]
    gzipped = response["headers"].get("Content-Encoding") == "gzip"
    reply = REPLAYS[name](api, sim, {"Accept-Encoding": "gzip"} if gzipped else {})
    source = "%(repo)s@%(commit)s:%(path)s" % recorded["source"]

    assert reply.status == response["status"], source
    for header in ("Content-Type", "Content-Encoding"):
        assert reply.headers.get(header) == response["headers"].get(header), (header, source)
    body = decoded_body(reply)
    if response["body"] is None:
        assert body is None and reply.headers.get("Content-Length") == "0", source
        return
    assert differences(body_shape(response["body"]), body_shape(body)) == [], source


def test_power_answers_follow_neither_request_order_nor_duplicates():
    """The recorded answers: ids lowercase, one per distinct server, not in
    request order. The simulator's replay answers the same way."""
    for operation in POWER_OPERATIONS:
        recorded = EXCHANGES["power_" + operation]
        requested = [server_id.lower() for server_id in recorded["request"]["body"]]
        answered = [answer["server"] for answer in recorded["response"]["body"]]
        assert sorted(answered) == sorted(set(requested)) and answered != sorted(set(requested), key=requested.index)


def test_power_answers_here_are_not_in_request_order_either(api, sim):
    answered = [answer["server"] for answer in power("reboot")(api, sim, {}).json()]
    assert sorted(answered) == sorted(server_id.lower() for server_id in BATCH)
    assert answered != [server_id.lower() for server_id in BATCH]


def test_shape_comparison_can_fail():
    """The comparison sees a missing key, a wrong type, a changed link and an uppercase alias."""
    recorded = EXCHANGES["server_started"]["response"]["body"]
    changed = json.loads(json.dumps(recorded))
    del changed["details"]["powerState"]
    changed["details"]["cpu"] = "1"
    changed["links"][0]["href"] = changed["links"][0]["href"].replace("altd", "ALTD")
    found = differences(body_shape(recorded), body_shape(changed))
    assert any("powerState" in line for line in found)
    assert any("cpu" in line for line in found)
    assert any("ALTD" in line for line in found)
