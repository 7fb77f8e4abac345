"""JSON shapes of CLC v2 resources, built from the simulator's records.

The shapes follow the traffic CLC's SDK teams recorded (see README.md,
"Sources"): which links each kind of server, group and data center carries,
which servers have a `details` block, and how much of it. Every function
returns freshly built dicts, so callers may serialize them after releasing
the state lock.
"""

from .world import stable_id

CREATED = {"createdBy": "admin@acct", "createdDate": "2019-03-04T17:08:52Z",
           "modifiedBy": "admin@acct", "modifiedDate": "2019-03-04T17:08:52Z"}

# Statuses whose servers keep only {"powerState", "storageGB"} in group listings.
PARTIAL_IN_LISTINGS = ("archived", "queuedForRestore")


def server_json(srv, in_listing=False):
    alias = srv["account"].lower()
    key = srv["id"].lower()
    body = {
        "id": key,
        "name": srv["name"],
        "description": srv["description"],
        "groupId": srv["group"],
        "isTemplate": False,
        "locationId": srv["datacenter"].upper(),
        "osType": srv["osType"],
        "os": srv["os"],
        "status": srv["status"],
    }
    details = _server_details(srv, in_listing)
    if details is not None:
        body["details"] = details
    body.update({
        "type": "standard",
        "storageType": "standard",
        "changeInfo": dict(CREATED, modifiedDate=srv["modifiedDate"]),
        "links": _server_links(srv, alias, key),
    })
    return body


def _server_details(srv, in_listing):
    """None (no block), the partial block of listings, or the full block."""
    if not srv["details"] or srv["status"] == "underConstruction":
        return None
    dormant = srv["status"] in PARTIAL_IN_LISTINGS
    if dormant and in_listing:
        return {"powerState": srv["powerState"], "storageGB": srv["storageGB"]}
    return {
        "ipAddresses": [{"internal": srv["ipAddress"]}],
        "alertPolicies": [],
        # An archived server holds no compute and has no host name.
        "cpu": 0 if dormant else srv["cpu"],
        "diskCount": 1,
        "hostName": "" if dormant else srv["hostName"],
        "inMaintenanceMode": srv["inMaintenanceMode"],
        "memoryMB": 0 if dormant else srv["memoryMB"],
        "powerState": srv["powerState"],
        "storageGB": srv["storageGB"],
        "disks": [{"id": "0:0", "sizeGB": srv["storageGB"], "partitionPaths": []}],
        "partitions": [{"sizeGB": 0.0, "path": "(swap)"},
                       {"sizeGB": round(srv["storageGB"] * 0.9, 3), "path": "/"}],
        "snapshots": [],
        "customFields": [],
    }


def _server_links(srv, alias, key):
    base = "/v2/servers/%s/%s" % (alias, key)
    active = srv["status"] == "active"
    links = [
        {"rel": "self", "href": base, "id": key,
         "verbs": ["GET", "PATCH", "DELETE"] if active else ["GET", "PATCH"]},
        {"rel": "group", "href": "/v2/groups/%s/%s" % (alias, srv["group"]), "id": srv["group"]},
        {"rel": "account", "href": "/v2/accounts/%s" % alias, "id": alias},
        {"rel": "billing", "href": "/v2/billing/%s/serverPricing/%s" % (alias, key)},
    ]
    if active:
        # CLC addressed scheduled activities by the server's uuid, not its name.
        uuid_base = "/v2/servers/%s/%s" % (alias, stable_id(alias, key, "uuid"))
        links += [
            {"rel": "statistics", "href": base + "/statistics"},
            {"rel": "upcomingScheduledActivities", "href": uuid_base + "/upcomingScheduledActivities"},
            {"rel": "scheduledActivities", "href": uuid_base + "/scheduledActivities",
             "verbs": ["GET", "POST"]},
            {"rel": "publicIPAddresses", "href": base + "/publicIPAddresses", "verbs": ["POST"]},
            {"rel": "alertPolicyMappings", "href": base + "/alertPolicies", "verbs": ["POST"]},
            {"rel": "antiAffinityPolicyMapping", "href": base + "/antiAffinityPolicy",
             "verbs": ["PUT", "DELETE"]},
            {"rel": "cpuAutoscalePolicyMapping", "href": base + "/cpuAutoscalePolicy",
             "verbs": ["PUT", "DELETE"]},
            {"rel": "capabilities", "href": base + "/capabilities"},
            {"rel": "credentials", "href": base + "/credentials"},
        ]
    elif srv["status"] == "archived":
        links += [{"rel": "restore", "href": base + "/restore"}, {"rel": "delete", "href": base}]
    return links


def group_json(group, groups, servers, detailed):
    """A group with its subgroups, recursively; `groups`/`servers` map keys to records.

    Plain listings link each server (rel "server"); detailed ones inline the
    servers instead and carry no server links.
    """
    alias = group["account"].lower()
    members = [servers[key] for key in group["servers"]]
    links = _group_links(group, groups, alias)
    if not detailed:
        links += [{"rel": "server", "href": "/v2/servers/%s/%s" % (alias, srv["id"].lower()),
                   "id": srv["id"]} for srv in members]
    subgroups = [group_json(groups[key], groups, servers, detailed) for key in group["children"]]
    body = {
        "id": group["id"],
        "name": group["name"],
        "description": group["description"],
        "locationId": group["datacenter"].upper(),
        "type": group["type"],
        "status": "active",
        "serversCount": _servers_count(group, groups, servers, detailed),
    }
    if detailed:
        body["servers"] = [server_json(srv, in_listing=True) for srv in members]
    body.update({"groups": subgroups, "links": links, "changeInfo": dict(CREATED), "customFields": []})
    return body


def _servers_count(group, groups, servers, detailed):
    """Recorded counts: plain listings count active servers; detailed ones
    count every server, except those in Archive groups."""
    if detailed and group["type"] == "archive":
        own = 0
    elif detailed:
        own = len(group["servers"])
    else:
        own = sum(1 for key in group["servers"] if servers[key]["status"] == "active")
    return own + sum(_servers_count(groups[key], groups, servers, detailed) for key in group["children"])


def _group_links(group, groups, alias):
    base = "/v2/groups/%s/%s" % (alias, group["id"])
    parent = groups[group["parent"]]["id"] if group["parent"] else None
    parent_link = [{"rel": "parentGroup", "href": "/v2/groups/%s/%s" % (alias, parent), "id": parent}] \
        if parent else []
    defaults_billing = [{"rel": "defaults", "href": base + "/defaults", "verbs": ["GET", "POST"]},
                        {"rel": "billing", "href": base + "/billing"}]
    if group["type"] in ("archive", "templates"):
        return [{"rel": "self", "href": base, "verbs": ["GET", "PATCH"]}] + parent_link + defaults_billing
    links = [{"rel": "createGroup", "href": "/v2/groups/%s" % alias, "verbs": ["POST"]},
             {"rel": "createServer", "href": "/v2/servers/%s" % alias, "verbs": ["POST"]},
             {"rel": "self", "href": base,
              "verbs": ["GET", "PATCH", "DELETE"] if parent else ["GET", "PATCH"]}]
    links += parent_link + defaults_billing
    if parent:
        links.append({"rel": "archiveGroupAction", "href": base + "/archive"})
    return links + _activity_links(base)


def _activity_links(group_base):
    return [
        {"rel": "statistics", "href": group_base + "/statistics"},
        {"rel": "upcomingScheduledActivities", "href": group_base + "/upcomingScheduledActivities"},
        {"rel": "horizontalAutoscalePolicyMapping", "href": group_base + "/horizontalAutoscalePolicy",
         "verbs": ["GET", "PUT", "DELETE"]},
        {"rel": "scheduledActivities", "href": group_base + "/scheduledActivities",
         "verbs": ["GET", "POST"]},
    ]


def datacenter_json(alias, datacenter, root_group):
    """A data center with CLC's links; those naming the root group only with groupLinks."""
    alias = alias.lower()
    dc = datacenter["id"]
    links = [
        {"rel": "self", "href": "/v2/datacenters/%s/%s" % (alias, dc)},
        {"rel": "deploymentCapabilities", "href": "/v2/datacenters/%s/%s/deploymentCapabilities" % (alias, dc)},
        {"rel": "loadBalancers", "href": "/v2/sharedLoadBalancers/%s/%s" % (alias, dc), "verbs": ["GET", "POST"]},
        {"rel": "computeLimits", "href": "/v2/datacenters/%s/%s/computeLimits" % (alias, dc),
         "verbs": ["GET", "POST"]},
        {"rel": "networkLimits", "href": "/v2/datacenters/%s/%s/networkLimits" % (alias, dc), "verbs": ["GET"]},
        {"rel": "availableOvfs", "href": "/v2/vmImport/%s/%s/available" % (alias, dc), "verbs": ["GET"]},
    ]
    if root_group is not None:
        group_base = "/v2/groups/%s/%s" % (alias, root_group["id"])
        links.append({"rel": "group", "href": group_base, "id": root_group["id"], "name": root_group["name"]})
    links += [{"rel": "createGroup", "href": "/v2/groups/%s" % alias, "verbs": ["POST"]},
              {"rel": "createServer", "href": "/v2/servers/%s" % alias, "verbs": ["POST"]}]
    if root_group is not None:
        links += [{"rel": "defaults", "href": group_base + "/defaults", "verbs": ["GET", "POST"]},
                  {"rel": "billing", "href": group_base + "/billing"}]
        links += _activity_links(group_base)
    return {"id": dc, "name": datacenter["name"], "links": links}
