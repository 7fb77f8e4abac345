"""The CLC v2 API: routing, authentication, and the endpoint handlers.

Handlers take a Request and return a Response; they know nothing of sockets.
"""

import json
import re
from typing import NamedTuple
from urllib.parse import parse_qs, unquote

from .state import POWER_OPERATIONS

# The roles of the recorded logins (an account administrator).
ROLES = ("AccountAdmin", "AccountViewer", "BillingAdmin", "DNSManager", "NetworkAdmin",
         "SecurityAdmin", "ServerAdmin", "ServerOperator")
SERVER_ERROR = "An error has occurred."
UNAUTHORIZED = "Authorization has been denied for this request."
BAD_CREDENTIALS = "We didn't recognize the username or password you entered. Please try again."
FORBIDDEN = "You do not have permission to access account '%s'."
INVALID_REQUEST = "The request is invalid."
UNKNOWN_STATUS = "The operation status '%s' could not be found."
UNKNOWN_DATACENTER = "The data center '%s' could not be found."
UNKNOWN_GROUP = "The group '%s' could not be found."


class Request(NamedTuple):
    method: str
    path: str
    query: str
    headers: dict  # lowercase names
    body: bytes


class Response:
    """Status, JSON-able body (None for empty), extra headers, and what the request log may keep."""

    def __init__(self, status, body=None, headers=None, log_body=None):
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.log_body = log_body

    def payload(self):
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, separators=(",", ":")).encode()


def message(status, text, **extra):
    return Response(status, dict({"message": text}, **extra))


_SEGMENT = r"(?P<%s>[^/]+)"
ROUTES = [
    # (method, path pattern, handler name, needs a bearer token)
    ("POST", "/v2/authentication/login", "login", False),
    ("GET", "/v2/servers/%s/%s" % (_SEGMENT % "alias", _SEGMENT % "server_id"), "get_server", True),
    ("POST", "/v2/operations/%s/servers/%s" % (_SEGMENT % "alias", _SEGMENT % "operation"),
     "power_operation", True),
    ("GET", "/v2/operations/%s/status/%s" % (_SEGMENT % "alias", _SEGMENT % "status_id"),
     "operation_status", True),
    ("GET", "/v2/datacenters/%s" % (_SEGMENT % "alias"), "list_datacenters", True),
    ("GET", "/v2/datacenters/%s/%s" % (_SEGMENT % "alias", _SEGMENT % "dc_id"), "get_datacenter", True),
    ("GET", "/v2/groups/%s/%s" % (_SEGMENT % "alias", _SEGMENT % "group_id"), "get_group", True),
]
_COMPILED = [(method, re.compile(pattern + "/?", re.IGNORECASE), name, auth)
             for method, pattern, name, auth in ROUTES]
_OPERATIONS_BY_LOWER_NAME = {name.lower(): name for name in POWER_OPERATIONS}


def bearer_token(headers):
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class Api:
    def __init__(self, state, tokens, faults):
        self.state = state
        self.behaviour = state.behaviour
        self.tokens = tokens
        self.faults = faults

    def dispatch(self, request):
        allowed = []
        for method, pattern, name, needs_auth in _COMPILED:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            params = {key: unquote(value) for key, value in match.groupdict().items()}
            if needs_auth:
                refusal = self._authorize(request, params["alias"])
                if refusal is not None:
                    return refusal
            return getattr(self, name)(request, **params)
        if allowed:
            return Response(405, {"message": "The requested resource does not support http method '%s'."
                                  % request.method}, headers={"Allow": ", ".join(allowed)})
        return Response(404)  # CLC answered unknown paths with an empty 404

    def _authorize(self, request, alias):
        """None when the bearer may act on `alias`, else the 401/403 answer."""
        token = bearer_token(request.headers)
        claims = self.tokens.verify(token) if token else None
        if claims is None:
            return message(401, UNAUTHORIZED) if self.behaviour.unauthorized_body == "message" else Response(401)
        if not self.state.may_access(claims.get("urn:tier3:account-alias", ""), alias):
            return message(403, FORBIDDEN % alias)
        return None

    # -- endpoints ----------------------------------------------------------

    def login(self, request):
        credentials = _json_body(request)
        model_state = {}
        for field in ("username", "password"):
            if not isinstance(credentials, dict) or not isinstance(credentials.get(field), str):
                model_state["model." + field] = ["The %s field is required." % field.capitalize()]
        if model_state:
            return message(400, INVALID_REQUEST, modelState=model_state)
        found = self.state.authenticate(credentials["username"], credentials["password"])
        if found is None:
            return message(400, BAD_CREDENTIALS)
        username, account = found
        token = self.tokens.issue(username, account["alias"], account["location"])
        return Response(200, {"userName": username, "accountAlias": account["alias"],
                              "locationAlias": account["location"], "roles": list(ROLES),
                              "bearerToken": token})

    def get_server(self, request, alias, server_id):
        body = self.state.server_json(alias, server_id)
        return Response(404) if body is None else Response(200, body)

    def power_operation(self, request, alias, operation):
        name = _OPERATIONS_BY_LOWER_NAME.get(operation.lower())
        if name is None:
            return Response(404)
        server_ids = _json_body(request)
        logged = server_ids if isinstance(server_ids, list) else None
        if not isinstance(server_ids, list) or not all(isinstance(i, str) for i in server_ids):
            response = message(400, INVALID_REQUEST,
                               modelState={"serverIds": ["A JSON array of server id strings is required."]})
            response.log_body = logged
            return response

        answers = self.state.queue_operation(
            alias, name, server_ids, lambda: self.faults.take_operation(request.method, request.path))
        return Response(200, answers, log_body=logged)

    def operation_status(self, request, alias, status_id):
        status = self.state.operation_status(alias, status_id)
        if status is None:
            return message(404, UNKNOWN_STATUS % status_id)
        return Response(200, {"status": status})

    def list_datacenters(self, request, alias):
        return Response(200, self.state.datacenters_json(alias, _flag(request, "grouplinks", "true")),
                        headers={"Cache-Control": "max-age=300, private"})

    def get_datacenter(self, request, alias, dc_id):
        body = self.state.datacenter_json(alias, dc_id, _flag(request, "grouplinks", "true"))
        return message(404, UNKNOWN_DATACENTER % dc_id) if body is None else Response(200, body)

    def get_group(self, request, alias, group_id):
        body = self.state.group_json(alias, group_id, _flag(request, "serverdetail", "detailed"))
        return message(404, UNKNOWN_GROUP % group_id) if body is None else Response(200, body)


def _json_body(request):
    """The parsed JSON body, or None when absent or not JSON."""
    try:
        return json.loads(request.body.decode("utf-8")) if request.body else None
    except (ValueError, UnicodeDecodeError):
        return None


def _flag(request, name, expected):
    """Whether query parameter `name` (any case) equals `expected` (any case)."""
    params = {key.lower(): values for key, values in parse_qs(request.query).items()}
    return any(value.lower() == expected for value in params.get(name, []))
