"""JSON shapes of CLC v2 resources, built from the simulator's records.

Every function returns freshly built dicts, so callers may serialize them
after releasing the state lock.
"""

CREATED = {"createdDate": "2019-03-04T17:08:52Z", "createdBy": "admin@acct",
           "modifiedDate": "2019-03-04T17:08:52Z", "modifiedBy": "admin@acct"}


def server_json(srv):
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
        "type": "standard",
        "storageType": "standard",
        "changeInfo": dict(CREATED, modifiedDate=srv["modifiedDate"]),
        "links": [
            {"rel": "self", "href": "/v2/servers/%s/%s" % (alias, key), "id": key,
             "verbs": ["GET", "PATCH", "DELETE"]},
            {"rel": "group", "href": "/v2/groups/%s/%s" % (alias, srv["group"]), "id": srv["group"]},
            {"rel": "account", "href": "/v2/accounts/%s" % alias, "id": alias},
            {"rel": "billing", "href": "/v2/billing/%s/serverPricing/%s" % (alias, key)},
            {"rel": "statistics", "href": "/v2/servers/%s/%s/statistics" % (alias, key)},
            {"rel": "credentials", "href": "/v2/servers/%s/%s/credentials" % (alias, key)},
        ],
    }
    if srv["details"] and srv["status"] != "underConstruction":
        body["details"] = _server_details(srv)
    return body


def _server_details(srv):
    return {
        "ipAddresses": [{"internal": srv["ipAddress"]}],
        "alertPolicies": [],
        "cpu": srv["cpu"],
        "diskCount": 1,
        "hostName": srv["name"].lower(),
        "inMaintenanceMode": srv["inMaintenanceMode"],
        "memoryMB": srv["memoryMB"],
        "powerState": srv["powerState"],
        "storageGB": srv["storageGB"],
        "disks": [{"id": "0:0", "sizeGB": srv["storageGB"], "partitionPaths": []}],
        "partitions": [],
        "snapshots": [],
        "customFields": [],
    }


def group_json(group, groups, servers, detailed):
    """A group with its subgroups, recursively; `groups`/`servers` map keys to records."""
    alias = group["account"].lower()
    links = [{"rel": "self", "href": "/v2/groups/%s/%s" % (alias, group["id"]),
              "verbs": ["GET", "PATCH", "DELETE"]}]
    if group["parent"]:
        parent_id = groups[group["parent"]]["id"]
        links.append({"rel": "parentGroup", "href": "/v2/groups/%s/%s" % (alias, parent_id), "id": parent_id})
    links.append({"rel": "billing", "href": "/v2/groups/%s/%s/billing" % (alias, group["id"])})
    links.append({"rel": "statistics", "href": "/v2/groups/%s/%s/statistics" % (alias, group["id"])})
    members = [servers[key] for key in group["servers"]]
    for srv in members:
        links.append({"rel": "server", "href": "/v2/servers/%s/%s" % (alias, srv["id"].lower()),
                      "id": srv["id"]})
    subgroups = [group_json(groups[key], groups, servers, detailed)
                 for key in group["children"]]
    body = {
        "id": group["id"],
        "name": group["name"],
        "description": group["description"],
        "locationId": group["datacenter"].upper(),
        "type": "default",
        "status": "active",
        "serversCount": len(members) + sum(sub["serversCount"] for sub in subgroups),
        "groups": subgroups,
        "links": links,
        "changeInfo": dict(CREATED),
        "customFields": [],
    }
    if detailed:
        body["servers"] = [server_json(srv) for srv in members]
    return body


def datacenter_json(alias, datacenter, root_group):
    alias = alias.lower()
    body = {"id": datacenter["id"], "name": datacenter["name"],
            "links": [{"rel": "self", "href": "/v2/datacenters/%s/%s" % (alias, datacenter["id"])}]}
    if root_group is not None:
        body["links"].append({"rel": "group", "href": "/v2/groups/%s/%s" % (alias, root_group["id"]),
                              "id": root_group["id"], "name": root_group["name"]})
    return body
