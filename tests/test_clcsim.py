"""The simulator's CLC v2 API and state machine, over real HTTP."""

import base64
import gzip
import json
import time

import pytest

from clcsim import Simulator, default_config
from clcsim.client import SimClient
from support import wait_until

BAD_CREDENTIALS = "We didn't recognize the username or password you entered. Please try again."
UNAUTHORIZED = "Authorization has been denied for this request."
NOT_QUEUEABLE = ("The operation cannot be queued because the server cannot be found "
                 "or it is not in a valid state.")




def claims_of(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def wait_for_status(api, status_id, wanted, timeout=3.0):
    wait_until(lambda: api.status(status_id).json()["status"] == wanted, timeout, interval=0.02,
               what="operation %s to be %s" % (status_id, wanted))


def queue(api, operation, *server_ids):
    """Queue an operation; the shared status id."""
    reply = api.power(operation, server_ids)
    assert reply.status == 200, reply
    ids = {link["id"] for answer in reply.json() for link in answer.get("links", [])}
    assert len(ids) == 1, reply.json()
    return ids.pop()


def run_to_completion(api, operation, *server_ids):
    status_id = queue(api, operation, *server_ids)
    wait_for_status(api, status_id, "succeeded")
    return status_id


# -- login and tokens --------------------------------------------------------

def test_login_returns_clc_body_and_a_jwt_with_real_expiry(sim):
    reply = SimClient(sim).call("POST", "/v2/authentication/login",
                                {"username": "admin@acct", "password": "s3cret-Passw0rd"})
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    body = reply.json()
    assert {k: body[k] for k in ("userName", "accountAlias", "locationAlias")} == {
        "userName": "admin@acct", "accountAlias": "ACCT", "locationAlias": "UC1"}
    assert len(body["roles"]) == 8 and "ServerAdmin" in body["roles"]  # the recorded admin's roles
    token = body["bearerToken"]
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "HS256", "typ": "JWT"}
    claims = claims_of(token)
    assert set(claims) == {"iss", "aud", "nbf", "exp", "role", "unique_name",
                           "urn:tier3:account-alias", "urn:tier3:location-alias"}
    assert abs(claims["exp"] - time.time() - 14 * 86400) < 60
    assert claims["urn:tier3:account-alias"] == "ACCT"
    assert sim.issued_tokens() == [token]


@pytest.mark.parametrize("credentials", [
    {"username": "admin@acct", "password": "wrong"},
    {"username": "nobody@acct", "password": "s3cret-Passw0rd"},
])
def test_bad_credentials_get_400_with_clc_message(sim, credentials):
    reply = SimClient(sim).call("POST", "/v2/authentication/login", credentials)
    assert (reply.status, reply.json()) == (400, {"message": BAD_CREDENTIALS})


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'{"username": "admin@acct"}', b""])
def test_malformed_login_body_gets_400(sim, raw):
    reply = SimClient(sim).call("POST", "/v2/authentication/login", raw=raw)
    assert reply.status == 400
    assert "modelState" in reply.json()


def test_missing_forged_foreign_and_revoked_tokens_get_401(sim, sim_factory):
    client = SimClient(sim)
    good = client.login()
    head, payload, signature = good.split(".")
    claims = claims_of(good)
    claims["urn:tier3:account-alias"] = "OTHER"
    tampered = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    other_sim_token = SimClient(sim_factory()).login()
    refused = {
        "no header": client.server("UC1ACCTWEB01", token=""),
        "empty header": client.server("UC1ACCTWEB01", token="", headers={"Authorization": ""}),
    }
    for token in ["garbage", head + "." + payload + ".AAAA", head + "." + tampered + "." + signature,
                  other_sim_token]:
        refused[token] = client.server("UC1ACCTWEB01", token=token)
    for case, reply in refused.items():
        assert (reply.status, reply.data) == (401, b""), case  # CLC's 401 body was never recorded
    assert client.server("UC1ACCTWEB01").status == 200
    sim.expire_tokens()
    assert client.server("UC1ACCTWEB01").status == 401
    assert client.login() and client.server("UC1ACCTWEB01").status == 200  # a new login works again


def test_expired_token_gets_401(sim_factory):
    client = SimClient(sim_factory(token_ttl=-1))
    client.login()
    assert client.server("UC1ACCTWEB01").status == 401


def test_account_access_covers_sub_accounts_only(api, sim):
    assert api.server("UC1SUBAWEB01", alias="suba").status == 200
    for alias in ("OTHER", "NOPE"):
        reply = api.server("UC1ACCTWEB01", alias=alias)
        assert reply.status == 403 and "message" in reply.json()
    sub_user = SimClient(sim)
    sub_user.login("admin@suba", "s3cret-Passw0rd")
    assert sub_user.server("UC1SUBAWEB01", alias="SUBA").status == 200
    assert sub_user.server("UC1ACCTWEB01", alias="ACCT").status == 403


# -- servers -----------------------------------------------------------------

def test_server_get_shape_and_case_insensitivity(api):
    reply = api.server("uc1AcctWeb01", alias="Acct")  # links still carry the alias lowercase
    assert reply.status == 200 and reply.headers["Content-Type"] == "application/json; charset=utf-8"
    body = reply.json()
    assert body["id"] == "uc1acctweb01" and body["name"] == "UC1ACCTWEB01"
    assert body["status"] == "active" and body["locationId"] == "UC1"
    for key in ("description", "groupId", "osType", "type", "storageType", "changeInfo", "links"):
        assert key in body
    details = body["details"]
    assert details["powerState"] == "started" and details["inMaintenanceMode"] is False
    for key in ("ipAddresses", "cpu", "memoryMB", "storageGB"):
        assert key in details
    rels = {link["rel"]: link for link in body["links"]}
    assert rels["self"]["href"] == "/v2/servers/acct/uc1acctweb01"
    assert rels["group"]["id"] == body["groupId"]


def test_unknown_server_and_other_accounts_server_are_404_with_empty_body(api):
    for server_id, alias in [("UC1ACCTNOPE99", "ACCT"), ("UC1SUBAWEB01", "ACCT")]:
        reply = api.server(server_id, alias=alias)
        assert (reply.status, reply.data) == (404, b"")
        assert "Content-Type" not in reply.headers  # as recorded: no type for no body


def test_servers_without_details_block(api, sim):
    sim.set_server("UC1ACCTWEB01", status="underConstruction")
    sim.set_server("UC1ACCTWEB02", details=False)
    under_construction = api.server("UC1ACCTWEB01").json()
    assert under_construction["status"] == "underConstruction" and "details" not in under_construction
    assert "details" not in api.server("UC1ACCTWEB02").json()


# -- data centers and groups -------------------------------------------------

def test_datacenters_with_and_without_group_links(api):
    plain = api.get("/v2/datacenters/ACCT").json()
    assert [dc["id"] for dc in plain] == ["uc1", "va1"]
    assert not any("/v2/groups/acct/" in link["href"] for dc in plain for link in dc["links"])
    linked = api.get("/v2/datacenters/Acct?groupLinks=true").json()
    for dc in linked:
        assert len(dc["links"]) == 15  # as recorded: defaults, billing, statistics, ... of the root group
        group = [link for link in dc["links"] if link["rel"] == "group"]
        assert len(group) == 1 and group[0]["href"] == "/v2/groups/acct/" + group[0]["id"]
        assert group[0]["name"] == dc["id"].upper() + " Hardware"
        assert {link["rel"] for link in dc["links"] if link["href"].startswith(group[0]["href"] + "/")} == {
            "defaults", "billing", "statistics", "upcomingScheduledActivities",
            "horizontalAutoscalePolicyMapping", "scheduledActivities"}
    single = api.get("/v2/datacenters/ACCT/UC1?groupLinks=true")
    assert single.status == 200 and single.json() == linked[0]
    assert api.get("/v2/datacenters/ACCT/XX9").status == 404


def flatten(group):
    yield group
    for child in group["groups"]:
        yield from flatten(child)


def root_groups(api, alias="ACCT"):
    dcs = api.get("/v2/datacenters/%s?groupLinks=true" % alias).json()
    return [link["id"] for dc in dcs for link in dc["links"] if link["rel"] == "group"]


def test_group_tree_lists_every_server_by_link(api):
    found = {}
    for root_id in root_groups(api):
        root = api.get("/v2/groups/ACCT/%s" % root_id).json()
        for group in flatten(root):
            assert group["status"] == "active"
            assert "servers" not in group
            for link in group["links"]:
                if link["rel"] == "server":
                    assert link["href"] == "/v2/servers/acct/" + link["id"].lower()
                    found[link["id"]] = group["name"]
    assert sorted(found) == ["UC1ACCTDB01", "UC1ACCTOLD01", "UC1ACCTOLD02", "UC1ACCTWEB01", "UC1ACCTWEB02",
                             "VA1ACCTAPP01", "VA1ACCTAPP02"]
    assert found["UC1ACCTOLD01"] == found["UC1ACCTOLD02"] == "Archive"
    uc1_root = api.get("/v2/groups/ACCT/%s" % root_groups(api)[0]).json()
    assert uc1_root["name"] == "UC1 Hardware"
    assert [(g["name"], g["type"]) for g in uc1_root["groups"]] == [  # CLC's built-in groups, by name
        ("Archive", "archive"), ("Databases", "default"), ("Default Group", "default"),
        ("Templates", "templates"), ("Web", "default")]
    assert max(len(list(flatten(child))) for child in uc1_root["groups"]) >= 2  # nested


def test_servers_count_as_recorded(api):
    """Plain listings count active servers only; detailed ones count every
    server but those in Archive groups (UC1 holds 3 active + 2 archived)."""
    root_id = root_groups(api)[0]
    plain = api.get("/v2/groups/ACCT/%s" % root_id).json()
    detailed = api.get("/v2/groups/ACCT/%s?serverDetail=detailed" % root_id).json()
    assert plain["serversCount"] == 3
    assert detailed["serversCount"] == 3
    archive = [g for g in detailed["groups"] if g["type"] == "archive"][0]
    assert archive["serversCount"] == 0 and len(archive["servers"]) == 2


def test_detailed_group_inlines_servers_and_no_server_links(api, sim):
    sim.set_server("UC1ACCTDB01", powerState="stopped")
    root = api.get("/v2/groups/ACCT/%s?serverDetail=detailed" % root_groups(api)[0]).json()
    servers = {srv["name"]: srv for group in flatten(root) for srv in group["servers"]}
    assert sorted(servers) == ["UC1ACCTDB01", "UC1ACCTOLD01", "UC1ACCTOLD02", "UC1ACCTWEB01", "UC1ACCTWEB02"]
    assert servers["UC1ACCTDB01"]["details"]["powerState"] == "stopped"
    assert servers["UC1ACCTWEB01"]["id"] == "uc1acctweb01"
    assert not [link for group in flatten(root) for link in group["links"] if link["rel"] == "server"]
    for name in ("UC1ACCTOLD01", "UC1ACCTOLD02"):  # archived, queuedForRestore: partial details
        assert servers[name]["details"] == {"powerState": "stopped", "storageGB": 60}


def test_queued_for_delete_details_are_full_or_absent(api, sim):
    """CLC listed queuedForDelete servers with full details (started or paused) or none."""
    sim.set_server("UC1ACCTWEB01", status="queuedForDelete", powerState="paused")
    sim.set_server("UC1ACCTWEB02", status="queuedForDelete", details=False)
    root = api.get("/v2/groups/ACCT/%s?serverDetail=detailed" % root_groups(api)[0]).json()
    servers = {srv["name"]: srv for group in flatten(root) for srv in group["servers"]}
    assert servers["UC1ACCTWEB01"]["details"]["powerState"] == "paused"
    assert "cpu" in servers["UC1ACCTWEB01"]["details"]
    assert "details" not in servers["UC1ACCTWEB02"]


def test_archived_server_read_alone_has_full_details_without_compute(api):
    details = api.server("UC1ACCTOLD01").json()["details"]
    assert (details["powerState"], details["cpu"], details["memoryMB"], details["hostName"]) == (
        "stopped", 0, 0, "")
    assert isinstance(details["partitions"][1]["sizeGB"], float)


def test_unknown_or_foreign_group_is_404(api):
    assert api.get("/v2/groups/ACCT/0123456789abcdef0123456789abcdef").status == 404
    suba_root = root_groups(api, "SUBA")[0]
    assert api.get("/v2/groups/SUBA/%s" % suba_root).status == 200
    assert api.get("/v2/groups/ACCT/%s" % suba_root).status == 404


# -- routing -----------------------------------------------------------------

def test_unknown_path_and_wrong_method(api):
    reply = api.get("/v2/nothing/here")
    assert (reply.status, reply.data) == (404, b"") and "Content-Type" not in reply.headers
    wrong = api.call("DELETE", "/v2/servers/ACCT/UC1ACCTWEB01")
    assert wrong.status == 405 and "message" in wrong.json()


# -- power operations --------------------------------------------------------

def test_batch_is_deduped_and_shares_one_status_id(api, sim):
    reply = api.power("powerOff", ["UC1ACCTWEB01", "uc1acctweb01", "UC1ACCTWEB02", "UC1ACCTNOPE"])
    answers = {a["server"]: a for a in reply.json()}
    assert len(reply.json()) == 3  # duplicates collapsed, answers not in request order:
    assert [a["server"] for a in reply.json()] == ["uc1acctweb02", "uc1acctnope", "uc1acctweb01"]
    assert [answers[s]["isQueued"] for s in ("uc1acctweb01", "uc1acctweb02", "uc1acctnope")] == [True, True, False]
    assert answers["uc1acctnope"]["errorMessage"] == NOT_QUEUEABLE and "links" not in answers["uc1acctnope"]
    link = answers["uc1acctweb01"]["links"][0]
    assert link["rel"] == "status" and link == answers["uc1acctweb02"]["links"][0]
    assert link["href"] == "/v2/operations/acct/status/" + link["id"] and link["id"].startswith("uc1-")
    assert sim.requests()[-1]["body"] == ["UC1ACCTWEB01", "uc1acctweb01", "UC1ACCTWEB02", "UC1ACCTNOPE"]


def test_already_in_state_is_not_queued_with_clc_message(api, sim):
    refused = {"server": "uc1acctweb01", "isQueued": False, "errorMessage": NOT_QUEUEABLE}
    assert api.power("powerOn", ["UC1ACCTWEB01"]).json() == [refused]
    sim.set_server("UC1ACCTWEB01", powerState="stopped")
    for operation in ("powerOff", "shutDown"):
        assert api.power(operation, ["UC1ACCTWEB01"]).json() == [refused]
    sim.set_server("UC1ACCTWEB02", powerState="paused")
    assert api.power("pause", ["UC1ACCTWEB02"]).json()[0]["isQueued"] is False


def test_behaviour_options_give_the_other_recorded_variants(api, sim):
    sim.configure(already_there_message=False, answer_order="request", unauthorized_body="message")
    assert api.power("powerOn", ["UC1ACCTWEB01"]).json() == [{"server": "uc1acctweb01", "isQueued": False}]
    answers = api.power("powerOff", ["UC1ACCTWEB01", "UC1ACCTWEB02"]).json()
    assert [a["server"] for a in answers] == ["uc1acctweb01", "uc1acctweb02"]
    assert api.server("UC1ACCTWEB01", token="garbage").json() == {"message": UNAUTHORIZED}


def test_config_file_options_set_the_behaviour(sim_factory):
    sim = sim_factory(config=dict(default_config(), options={"unauthorized_body": "message"}))
    assert SimClient(sim).server("UC1ACCTWEB01", token="garbage").json() == {"message": UNAUTHORIZED}
    with pytest.raises(ValueError):
        sim_factory(config=dict(default_config(), options={"answer_order": "sorted"}))


def test_operation_id_names_the_servers_data_center(sim_factory):
    """A CA1 server of an account at home in VA1 got a ca1-... status id."""
    sim = sim_factory(config={
        "accounts": [{"alias": "ALTD", "location": "VA1", "users": [{"username": "u", "password": "p"}]}],
        "datacenters": [{"id": "ca1"}], "servers": [{"id": "CA1ALTDPWROPS01", "account": "ALTD", "datacenter": "ca1"}]})
    api = SimClient(sim)
    api.login("u", "p")
    answer = api.power("powerOff", ["CA1ALTDPWROPS01"], alias="ALTD").json()[0]
    assert answer["links"][0]["id"].startswith("ca1-")


def test_gzip_when_asked(api):
    reply = api.call("GET", "/v2/servers/ACCT/UC1ACCTWEB01", headers={"Accept-Encoding": "gzip"})
    assert reply.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(reply.data))["id"] == "uc1acctweb01"
    assert "Content-Encoding" not in api.server("UC1ACCTWEB01").headers


@pytest.mark.parametrize("setup, operation, message", [
    ({"inMaintenanceMode": True}, "powerOff", "maintenance mode"),
    ({"status": "underConstruction"}, "powerOff", NOT_QUEUEABLE),
    ({"status": "archived"}, "powerOn", NOT_QUEUEABLE),
    ({"powerState": "stopped"}, "pause", NOT_QUEUEABLE),
    ({"powerState": "stopped"}, "reboot", NOT_QUEUEABLE),
])
def test_refused_operations_carry_error_message(api, sim, setup, operation, message):
    sim.set_server("UC1ACCTWEB01", **setup)
    answer = api.power(operation, ["UC1ACCTWEB01"]).json()[0]
    assert answer["isQueued"] is False and message in answer["errorMessage"]


@pytest.mark.parametrize("raw", [b"not json", b'{"ids": ["UC1ACCTWEB01"]}', b"[1, 2]", b""])
def test_power_body_must_be_a_list_of_ids(api, raw):
    reply = api.call("POST", "/v2/operations/ACCT/servers/powerOff", raw=raw)
    assert reply.status == 400
    assert "message" in reply.json() and "modelState" in reply.json()


def test_unknown_operation_is_404(api):
    assert api.power("explode", ["UC1ACCTWEB01"]).status == 404


def test_unknown_status_id_is_404(api):
    assert api.status("uc1-999999").status == 404
    status_id = queue(api, "powerOff", "UC1ACCTWEB01")
    assert api.status(status_id, alias="SUBA").status == 404


@pytest.mark.parametrize("operation, before, after", [
    ("powerOff", "started", "stopped"),
    ("shutDown", "started", "stopped"),
    ("powerOn", "stopped", "started"),
    ("powerOn", "paused", "started"),
    ("pause", "started", "paused"),
    ("powerOff", "paused", "stopped"),
])
def test_operations_change_the_record(api, sim, operation, before, after):
    sim.set_server("UC1ACCTWEB01", powerState=before)
    run_to_completion(api, operation, "UC1ACCTWEB01")
    assert api.server("UC1ACCTWEB01").json()["details"]["powerState"] == after
    assert sim.server("UC1ACCTWEB01")["power_history"][-1][1] == after


def test_maintenance_mode_toggles(api, sim):
    run_to_completion(api, "startMaintenance", "UC1ACCTWEB01")
    assert api.server("UC1ACCTWEB01").json()["details"]["inMaintenanceMode"] is True
    run_to_completion(api, "stopMaintenance", "UC1ACCTWEB01")
    assert sim.server("UC1ACCTWEB01")["inMaintenanceMode"] is False


def test_reset_is_off_then_on(api, sim):
    run_to_completion(api, "reset", "UC1ACCTWEB01")
    states = [state for _, state in sim.server("UC1ACCTWEB01")["power_history"]]
    assert states == ["started", "stopped", "started"]
    assert api.server("UC1ACCTWEB01").json()["details"]["powerState"] == "started"


def test_reset_record_shows_stopped_around_midpoint(sim_factory):
    sim = sim_factory(op_duration=1.2, op_start_delay=0.0)
    api = SimClient(sim)
    api.login()
    queue(api, "reset", "UC1ACCTWEB01")
    time.sleep(0.9)  # midpoint is at 0.6 s, the end at 1.2 s: 0.3 s of margin either way
    assert api.server("UC1ACCTWEB01").json()["details"]["powerState"] == "stopped"


def test_reboot_cycles_history_but_record_stays_started(api, sim):
    changes = []
    sim.on_power_change = lambda *change: changes.append(change)
    run_to_completion(api, "reboot", "UC1ACCTWEB01")
    time.sleep(0.05)
    states = [state for _, state in sim.server("UC1ACCTWEB01")["power_history"]]
    assert states == ["started", "stopped", "started"]
    assert sim.server("UC1ACCTWEB01")["powerState"] == "started"
    assert changes == []  # the record never changed


# -- timing ------------------------------------------------------------------

def test_operation_status_follows_the_clock(sim_factory):
    sim = sim_factory(op_start_delay=0.4, op_duration=0.6)
    api = SimClient(sim)
    api.login()
    status_id = queue(api, "powerOff", "UC1ACCTWEB01")
    queued = time.monotonic()  # the operation starts at most 0.4 s after this and ends 0.6 s later
    assert api.status(status_id).json()["status"] == "notStarted"
    time.sleep(max(0, queued + 0.7 - time.monotonic()))
    assert api.status(status_id).json()["status"] == "executing"
    assert sim.server("UC1ACCTWEB01")["powerState"] == "started"
    time.sleep(max(0, queued + 1.2 - time.monotonic()))
    assert api.status(status_id).json()["status"] == "succeeded"
    assert api.server("UC1ACCTWEB01").json()["details"]["powerState"] == "stopped"


def test_record_lags_operation_success(sim_factory):
    sim = sim_factory(op_duration=0.2, op_start_delay=0.0, record_lag=0.8)
    api = SimClient(sim)
    api.login()
    status_id = queue(api, "powerOff", "UC1ACCTWEB01")
    wait_for_status(api, status_id, "succeeded")
    assert api.server("UC1ACCTWEB01").json()["details"]["powerState"] == "started"
    time.sleep(0.9)
    assert api.server("UC1ACCTWEB01").json()["details"]["powerState"] == "stopped"


def test_configured_failure_leaves_state_unchanged(api, sim):
    sim.configure(op_result="failed")
    status_id = queue(api, "powerOff", "UC1ACCTWEB01")
    wait_for_status(api, status_id, "failed")
    time.sleep(0.05)
    assert sim.server("UC1ACCTWEB01")["powerState"] == "started"
    sim.configure(op_result="succeeded", op_duration=0.1)
    run_to_completion(api, "powerOff", "UC1ACCTWEB01")


def test_latency_delays_api_but_not_control_calls(sim_factory):
    # Undelayed calls must take under 3/4 of the latency: a loaded machine needs that room.
    sim = sim_factory(latency=0.6)
    api = SimClient(sim)
    assert api.call("POST", "/v2/authentication/login", {"username": "x", "password": "y"}).seconds >= 0.6
    assert api.get("/_sim/health").seconds < 0.45
    sim.configure(latency=0)
    assert api.call("POST", "/v2/authentication/login", {"username": "x", "password": "y"}).seconds < 0.45


def test_power_change_callback_sees_every_record_change(sim_factory):
    changes = []
    sim = sim_factory(on_power_change=lambda server_id, state: changes.append((server_id, state)))
    api = SimClient(sim)
    api.login()
    run_to_completion(api, "reset", "UC1ACCTWEB01")
    run_to_completion(api, "powerOff", "UC1ACCTWEB02")
    wait_until(lambda: len(changes) >= 3, 2, interval=0.01, what="three power changes")
    assert changes == [("UC1ACCTWEB01", "stopped"), ("UC1ACCTWEB01", "started"), ("UC1ACCTWEB02", "stopped")]


def test_callback_fires_without_anyone_polling(sim_factory):
    changes = []
    sim = sim_factory(op_duration=0.1, op_start_delay=0.0, on_power_change=lambda *c: changes.append(c))
    api = SimClient(sim)
    api.login()
    queue(api, "powerOff", "UC1ACCTWEB01")
    wait_until(lambda: changes, 3, interval=0.02, what="a power change")  # looks at the list, not the simulator
    assert changes == [("UC1ACCTWEB01", "stopped")]


# -- request log -------------------------------------------------------------

def test_request_log_records_calls_without_secrets(sim):
    api = SimClient(sim)
    token = api.login()
    api.server("UC1ACCTWEB01")
    api.power("powerOff", ["UC1ACCTWEB01"])
    api.get("/_sim/health")
    log = sim.requests()
    assert [(e["method"], e["path"], e["status"], e["bearer"]) for e in log] == [
        ("POST", "/v2/authentication/login", 200, False),
        ("GET", "/v2/servers/ACCT/UC1ACCTWEB01", 200, True),
        ("POST", "/v2/operations/ACCT/servers/powerOff", 200, True),
    ]
    assert log[0]["body"] is None and log[2]["body"] == ["UC1ACCTWEB01"]
    assert all(e["duration"] >= 0 and e["fault"] is None and e["time"] > 0 for e in log)
    text = json.dumps(log)
    assert token not in text and token.rsplit(".", 1)[1] not in text and "s3cret" not in text
    sim.clear_requests()
    assert sim.requests() == []


def test_request_log_names_the_caller_address(sim):
    """Which node sent a request, for the cluster demo's timeline."""
    SimClient(sim).login()
    assert [entry["client"] for entry in sim.requests()] == ["127.0.0.1"]


# -- worlds ------------------------------------------------------------------

def test_config_world_with_defaults_filled_in(sim_factory):
    config = {
        "accounts": [{"alias": "ZZZ", "location": "VA1", "users": [{"username": "u", "password": "p"}]}],
        "servers": [{"id": "VA1ZZZBOX01", "account": "zzz", "powerState": "stopped"}],
    }
    api = SimClient(sim_factory(config=config))
    login = api.call("POST", "/v2/authentication/login", {"username": "u", "password": "p"}, token="").json()
    assert (login["accountAlias"], login["locationAlias"]) == ("ZZZ", "VA1")
    api.token = login["bearerToken"]
    body = api.server("va1zzzbox01", alias="zzz").json()
    assert body["details"]["powerState"] == "stopped" and body["locationId"] == "VA1"


@pytest.mark.parametrize("config", [
    {"accounts": []},
    {"accounts": [{"alias": "A"}], "servers": [{"id": "X", "account": "B"}]},
    {"accounts": [{"alias": "A"}], "servers": [{"id": "X", "account": "A", "powerState": "on"}]},
    {"accounts": [{"alias": "A"}], "servers": [{"id": "X", "account": "A", "group": "missing"}]},
    {"accounts": [{"alias": "A"}], "groups": [
        {"id": "g1", "account": "A", "datacenter": "uc1", "parent": "g2"},
        {"id": "g2", "account": "A", "datacenter": "uc1", "parent": "g1"}]},
])
def test_bad_config_is_refused(config):
    with pytest.raises(ValueError):
        Simulator(config=config)
