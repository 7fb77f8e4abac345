"""A tiny HTTP client for tests that talk to a simulator over real HTTP(S)."""

import http.client
import json
import ssl
import time
from urllib.parse import urlsplit

from .world import DEFAULT_PASSWORD, DEFAULT_USER


class Reply:
    def __init__(self, status, headers, data, seconds):
        self.status = status
        self.headers = headers
        self.data = data
        self.seconds = seconds

    def json(self):
        return json.loads(self.data.decode("utf-8"))

    def __repr__(self):
        return "Reply(%d, %r)" % (self.status, self.data[:200])


class SimClient:
    """A client that opens a fresh connection for every call, so each call
    stands alone (a fault that breaks one connection never affects the next).

    `target` is a Simulator or a base URL; `ca_file` is trusted for HTTPS
    (a Simulator's own CA by default).
    """

    def __init__(self, target, ca_file=None, timeout=10):
        url = target if isinstance(target, str) else target.url
        if ca_file is None and not isinstance(target, str):
            ca_file = target.ca_file
        parts = urlsplit(url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port
        self.ca_file = ca_file
        self.timeout = timeout
        self.token = None

    def connection(self, timeout=None):
        timeout = self.timeout if timeout is None else timeout
        if self.https:
            context = ssl.create_default_context(cafile=self.ca_file)
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=context)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def call(self, method, path, body=None, token=None, raw=None, headers=None, timeout=None):
        """Send one request. body: JSON-able; raw: bytes sent as-is; token defaults to the logged-in one."""
        send_headers = {"Accept": "application/json", "Content-Type": "application/json"}
        token = self.token if token is None else token
        if token:
            send_headers["Authorization"] = "Bearer " + token
        send_headers.update(headers or {})
        payload = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        conn = self.connection(timeout)
        started = time.monotonic()
        try:
            conn.request(method, path, body=payload, headers=send_headers)
            response = conn.getresponse()
            data = response.read()
            return Reply(response.status, response.headers, data, time.monotonic() - started)
        finally:
            conn.close()

    def login(self, username=DEFAULT_USER, password=DEFAULT_PASSWORD):
        reply = self.call("POST", "/v2/authentication/login", {"username": username, "password": password},
                          token="")
        if reply.status != 200:
            raise AssertionError("login failed: %r" % (reply,))
        self.token = reply.json()["bearerToken"]
        return self.token

    # Shorthands for the API calls tests make most.

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def power(self, operation, server_ids, alias="ACCT", **kwargs):
        return self.call("POST", "/v2/operations/%s/servers/%s" % (alias, operation), list(server_ids), **kwargs)

    def status(self, status_id, alias="ACCT", **kwargs):
        return self.get("/v2/operations/%s/status/%s" % (alias, status_id), **kwargs)

    def server(self, server_id, alias="ACCT", **kwargs):
        return self.get("/v2/servers/%s/%s" % (alias, server_id), **kwargs)
