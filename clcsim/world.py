"""World definitions: the default world, generated worlds, and config checking.

A world is a plain dict of the same shape as the JSON config file:
{"accounts": [...], "datacenters": [...], "groups": [...], "servers": [...]}.
`normalize` fills in defaults so the rest of the simulator can rely on every
field being present.
"""

import hashlib

DEFAULT_ALIAS = "ACCT"
DEFAULT_USER = "admin@acct"
DEFAULT_PASSWORD = "s3cret-Passw0rd"

KNOWN_DATACENTERS = {
    "uc1": "UC1 - US West (Santa Clara)",
    "va1": "VA1 - US East (Sterling)",
    "il1": "IL1 - US Central (Chicago)",
    "wa1": "WA1 - US West (Seattle)",
    "ny1": "NY1 - US East (New York)",
    "ca1": "CA1 - Canada (Vancouver)",
    "gb1": "GB1 - Great Britain (Portsmouth)",
    "de1": "DE1 - Germany (Frankfurt)",
}

SERVER_STATUSES = ("active", "archived", "underConstruction", "deleted",
                   "queuedForDelete", "queuedForRestore")
POWER_STATES = ("started", "stopped", "paused")


def stable_id(*parts):
    """A 32-hex-digit id (the shape CLC used for groups), stable across runs."""
    return hashlib.md5("/".join(parts).lower().encode()).hexdigest()


def root_group_id(alias, datacenter):
    return stable_id(alias, datacenter, "root")


# The groups CLC made in every data center of an account, as recorded:
# kind -> (name, type, description); the root's name and description are "<DC> Hardware".
BUILTIN_GROUPS = {
    "root": (None, "default", None),
    "archive": ("Archive", "archive", "Pay only for the storage consumed by the archived server. "
                "No compute or licensing costs are incurred."),
    "default": ("Default Group", "default", "The default location for new servers created in your account."),
    "templates": ("Templates", "templates", "Custom templates provide a set of hardware/software settings "
                  "that can be used repeatedly to create servers configured with the same settings."),
}


def builtin_group(alias, datacenter, kind):
    """The record of one of the groups every account has in every data center."""
    name, group_type, description = BUILTIN_GROUPS[kind]
    if kind == "root":
        name = description = "%s Hardware" % datacenter.upper()
    group_id = root_group_id(alias, datacenter) if kind == "root" else stable_id(alias, datacenter, "builtin", kind)
    return {"id": group_id, "name": name, "description": description, "type": group_type,
            "account": alias.upper(), "datacenter": datacenter}


def default_config():
    """A small world: account ACCT with sub-account SUBA in UC1 and VA1."""
    def group(name, alias, dc, parent):
        return {"id": stable_id(alias, dc, name), "name": name, "account": alias,
                "datacenter": dc, "parent": parent}

    web = group("Web", "ACCT", "uc1", None)
    db = group("Databases", "ACCT", "uc1", None)
    apps = group("Applications", "ACCT", "va1", None)
    suba_web = group("Web", "SUBA", "uc1", None)
    # Nest one level deeper: Web > Web Production.
    web_prod = group("Web Production", "ACCT", "uc1", web["id"])

    def server(name, grp, description):
        return {"id": name, "name": name, "description": description,
                "account": grp["account"], "group": grp["id"],
                "datacenter": grp["datacenter"]}

    def dormant(name, status, description):
        """A stopped ACCT server in UC1 that its status places in the Archive group."""
        return {"id": name, "name": name, "description": description, "account": "ACCT",
                "datacenter": "uc1", "status": status, "powerState": "stopped"}

    return {
        "accounts": [
            {"alias": "ACCT", "parent": None, "location": "UC1",
             "users": [{"username": DEFAULT_USER, "password": DEFAULT_PASSWORD}]},
            {"alias": "SUBA", "parent": "ACCT", "location": "UC1",
             "users": [{"username": "admin@suba", "password": DEFAULT_PASSWORD}]},
        ],
        "datacenters": [datacenter("uc1"), datacenter("va1")],
        "groups": [web, db, apps, suba_web, web_prod],
        "servers": [
            server("UC1ACCTWEB01", web_prod, "Web node 1"),
            server("UC1ACCTWEB02", web_prod, "Web node 2"),
            server("UC1ACCTDB01", db, "Database primary"),
            server("VA1ACCTAPP01", apps, "Application node 1"),
            server("VA1ACCTAPP02", apps, "Application node 2"),
            server("UC1SUBAWEB01", suba_web, "Sub-account web node 1"),
            server("UC1SUBAWEB02", suba_web, "Sub-account web node 2"),
            dormant("UC1ACCTOLD01", "archived", "Archived web node"),
            dormant("UC1ACCTOLD02", "queuedForRestore", "Web node being restored"),
        ],
    }


def datacenter(dc_id, name=None):
    """A data center record: lowercase id, and a name (CLC's for the known ones)."""
    dc_id = str(dc_id).lower()
    return {"id": dc_id, "name": name or KNOWN_DATACENTERS.get(dc_id, dc_id.upper())}


def datacenter_ids(count):
    known = list(KNOWN_DATACENTERS)
    return [known[i] if i < len(known) else "dc%d" % (i + 1) for i in range(count)]


def generate_config(servers, datacenters=1, groups=0, alias=DEFAULT_ALIAS,
                    username=DEFAULT_USER, password=DEFAULT_PASSWORD):
    """A world of `servers` servers over `datacenters` data centers and
    `groups` groups (besides the root groups), all in one account.

    Groups form a 4-ary tree under each data center's root group, so a few
    hundred groups nest three or four levels deep. Servers are dealt round
    robin over data centers, then over that data center's groups. All are
    active and started.
    """
    if servers < 0 or datacenters < 1 or groups < 0:
        raise ValueError("need servers >= 0, datacenters >= 1, groups >= 0")
    dcs = datacenter_ids(datacenters)
    groups_by_dc = {dc: [] for dc in dcs}
    group_list = []
    for n in range(groups):
        dc = dcs[n % len(dcs)]
        siblings = groups_by_dc[dc]
        index = len(siblings)
        parent = None if index == 0 else siblings[(index - 1) // 4]["id"]
        grp = {"id": stable_id(alias, dc, "group", str(n)), "name": "Group %d" % (n + 1),
               "account": alias, "datacenter": dc, "parent": parent}
        siblings.append(grp)
        group_list.append(grp)
    server_list = []
    for n in range(servers):
        dc = dcs[n % len(dcs)]
        candidates = groups_by_dc[dc]
        group_id = candidates[(n // len(dcs)) % len(candidates)]["id"] if candidates else None
        name = "%s%sSRV%05d" % (dc.upper(), alias.upper(), n + 1)
        server_list.append({"id": name, "name": name, "description": "Generated server %d" % (n + 1),
                            "account": alias, "group": group_id, "datacenter": dc})
    return {
        "accounts": [{"alias": alias, "parent": None, "location": dcs[0].upper(),
                      "users": [{"username": username, "password": password}]}],
        "datacenters": [datacenter(dc) for dc in dcs],
        "groups": group_list,
        "servers": server_list,
    }


def normalize(config):
    """Check a world config and return a copy with every default filled in.

    Raises ValueError naming the offending entry.
    """
    accounts = [_normalize_account(a) for a in config.get("accounts", [])]
    if not accounts:
        raise ValueError("config needs at least one account")
    aliases = {a["alias"].lower() for a in accounts}
    for acct in accounts:
        if acct["parent"] and acct["parent"].lower() not in aliases:
            raise ValueError("account %s: unknown parent %s" % (acct["alias"], acct["parent"]))

    datacenters = [datacenter(dc["id"], dc.get("name")) for dc in config.get("datacenters", [])]
    dc_ids = {dc["id"] for dc in datacenters}
    for acct in accounts:
        if acct["location"].lower() not in dc_ids:
            datacenters.append(datacenter(acct["location"]))
            dc_ids.add(acct["location"].lower())

    groups = [_normalize_group(g, aliases, dc_ids) for g in config.get("groups", [])]
    groups_by_id = {g["id"].lower(): g for g in groups}
    if len(groups_by_id) != len(groups):
        raise ValueError("duplicate group ids")
    for grp in groups:
        if grp["parent"] and grp["parent"].lower() not in groups_by_id:
            raise ValueError("group %s: unknown parent %s" % (grp["id"], grp["parent"]))
        _check_no_cycle(grp, groups_by_id)

    servers = [_normalize_server(s, accounts, groups_by_id, dc_ids) for s in config.get("servers", [])]
    if len({s["id"].lower() for s in servers}) != len(servers):
        raise ValueError("duplicate server ids")
    return {"accounts": accounts, "datacenters": datacenters, "groups": groups, "servers": servers}


def _check_no_cycle(grp, groups_by_id):
    seen = set()
    while grp["parent"]:
        if grp["id"].lower() in seen:
            raise ValueError("group %s: parents form a cycle" % grp["id"])
        seen.add(grp["id"].lower())
        grp = groups_by_id[grp["parent"].lower()]


def _normalize_account(acct):
    if not acct.get("alias"):
        raise ValueError("account without alias: %r" % (acct,))
    users = []
    for user in acct.get("users", []):
        if not user.get("username") or "password" not in user:
            raise ValueError("account %s: user needs username and password" % acct["alias"])
        users.append({"username": user["username"], "password": user["password"]})
    return {"alias": acct["alias"].upper(), "parent": acct.get("parent"),
            "location": (acct.get("location") or "UC1").upper(), "users": users}


def _normalize_group(grp, aliases, dc_ids):
    if not grp.get("id"):
        raise ValueError("group without id: %r" % (grp,))
    if str(grp.get("account", "")).lower() not in aliases:
        raise ValueError("group %s: unknown account %r" % (grp["id"], grp.get("account")))
    dc = str(grp.get("datacenter", "")).lower()
    if dc not in dc_ids:
        raise ValueError("group %s: unknown datacenter %r" % (grp["id"], grp.get("datacenter")))
    return {"id": grp["id"], "name": grp.get("name") or grp["id"],
            "description": grp.get("description", ""), "account": grp["account"].upper(),
            "datacenter": dc, "parent": grp.get("parent")}


def _normalize_server(srv, accounts, groups_by_id, dc_ids):
    if not srv.get("id"):
        raise ValueError("server without id: %r" % (srv,))
    account = next((a for a in accounts if a["alias"].lower() == str(srv.get("account", "")).lower()), None)
    if account is None:
        raise ValueError("server %s: unknown account %r" % (srv["id"], srv.get("account")))
    group = groups_by_id.get(str(srv.get("group") or "").lower())
    if srv.get("group") and group is None:
        raise ValueError("server %s: unknown group %r" % (srv["id"], srv.get("group")))
    dc = str(srv.get("datacenter") or (group and group["datacenter"]) or account["location"]).lower()
    if dc not in dc_ids:
        raise ValueError("server %s: unknown datacenter %r" % (srv["id"], dc))
    status = srv.get("status", "active")
    power = srv.get("powerState", "started")
    if status not in SERVER_STATUSES:
        raise ValueError("server %s: bad status %r" % (srv["id"], status))
    if power not in POWER_STATES:
        raise ValueError("server %s: bad powerState %r" % (srv["id"], power))
    return {
        "id": srv["id"].upper(), "name": (srv.get("name") or srv["id"]).upper(),
        "description": srv.get("description", ""), "account": account["alias"],
        "group": group["id"] if group else None, "datacenter": dc,
        "status": status, "powerState": power,
        "inMaintenanceMode": bool(srv.get("inMaintenanceMode", False)),
        "details": bool(srv.get("details", True)),
        "cpu": int(srv.get("cpu", 2)), "memoryMB": int(srv.get("memoryMB", 4096)),
        "storageGB": int(srv.get("storageGB", 60)),
        "hostName": srv.get("hostName", (srv.get("name") or srv["id"]).lower()),
        "osType": srv.get("osType", "Ubuntu 22 64-bit"),
        "os": srv.get("os", "ubuntu22_64Bit"),
        "ipAddress": srv.get("ipAddress"),
    }
