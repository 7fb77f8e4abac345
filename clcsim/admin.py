"""The /_sim/ control endpoints: the Python control API over HTTP, for other processes.

No authentication (the simulator listens on loopback), and not recorded in
the request log.
"""

import json
import re

from .api import Response, message

ROUTES = [
    ("GET", r"/_sim/health", "health"),
    ("GET", r"/_sim/requests", "get_requests"),
    ("DELETE", r"/_sim/requests", "clear_requests"),
    ("GET", r"/_sim/faults", "get_faults"),
    ("POST", r"/_sim/faults", "add_fault"),
    ("DELETE", r"/_sim/faults", "clear_faults"),
    ("DELETE", r"/_sim/faults/(?P<fault_id>\d+)", "remove_fault"),
    ("GET", r"/_sim/servers/(?P<server_id>[^/]+)", "get_server"),
    ("PATCH", r"/_sim/servers/(?P<server_id>[^/]+)", "patch_server"),
    ("GET", r"/_sim/tokens", "get_tokens"),
    ("POST", r"/_sim/tokens/expire", "expire_tokens"),
    ("GET", r"/_sim/config", "get_config"),
    ("POST", r"/_sim/config", "set_config"),
]
_COMPILED = [(method, re.compile(pattern + "/?"), name) for method, pattern, name in ROUTES]


class Admin:
    def __init__(self, sim):
        self.sim = sim

    def handle(self, request):
        for method, pattern, name in _COMPILED:
            match = pattern.fullmatch(request.path)
            if match and method == request.method:
                try:
                    return getattr(self, name)(request, **match.groupdict())
                except KeyError as err:
                    return message(404, "unknown: %s" % err.args[0])
                except (ValueError, TypeError) as err:
                    return message(400, str(err))
        return message(404, "no such control endpoint: %s %s" % (request.method, request.path))

    def health(self, request):
        return Response(200, {"status": "ok", "url": self.sim.url, "servers": self.sim.server_count()})

    def get_requests(self, request):
        return Response(200, self.sim.requests())

    def clear_requests(self, request):
        self.sim.clear_requests()
        return Response(200, {})

    def get_faults(self, request):
        return Response(200, self.sim.faults.list())

    def add_fault(self, request):
        spec = _object_body(request)
        if "kind" not in spec:
            raise ValueError("a fault needs a kind")
        return Response(200, {"id": self.sim.add_fault(**spec)})

    def clear_faults(self, request):
        self.sim.clear_faults()
        return Response(200, {})

    def remove_fault(self, request, fault_id):
        if not self.sim.remove_fault(int(fault_id)):
            raise KeyError("fault %s" % fault_id)
        return Response(200, {})

    def get_server(self, request, server_id):
        return Response(200, self.sim.server(server_id))

    def patch_server(self, request, server_id):
        self.sim.set_server(server_id, **_object_body(request))
        return Response(200, self.sim.server(server_id))

    def get_tokens(self, request):
        return Response(200, self.sim.issued_tokens())

    def expire_tokens(self, request):
        self.sim.expire_tokens()
        return Response(200, {})

    def get_config(self, request):
        return Response(200, self.sim.timing_settings())

    def set_config(self, request):
        self.sim.configure(**_object_body(request))
        return Response(200, self.sim.timing_settings())


def _object_body(request):
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise ValueError("body must be a JSON object")
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    return body
