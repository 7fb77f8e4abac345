"""HTTP(S) transport: the threaded server and the request handler. A
transport fault (faults.py) drives the exchange through the handler's
serve, send, reset_connection, hold_open and close_after."""

import gzip
import socket
import struct
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from .api import SERVER_ERROR, Request, bearer_token, message

ADMIN_PREFIX = "/_sim/"
JSON_TYPE = "application/json; charset=utf-8"
ANSWER_HEADERS = {"Cache-Control": "no-cache", "Pragma": "no-cache", "Expires": "-1"}


class SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 makes bursts of ~32 clients stall for a second on SYN
    # retries; 128 still does for 200. The kernel caps this at net.core.somaxconn.
    request_queue_size = 1024

    def __init__(self, address, sim, ssl_context=None):
        self.sim = sim
        self.ssl_context = ssl_context
        self._open = set()
        self._open_lock = threading.Lock()
        super().__init__(address, SimRequestHandler)

    def finish_request(self, request, client_address):
        # Runs in the connection's own thread, so a slow TLS handshake never stalls accept().
        if self.ssl_context is not None:
            try:
                request.settimeout(10)
                request = self.ssl_context.wrap_socket(request, server_side=True)
                request.settimeout(None)
            except (OSError, ValueError):
                return  # e.g. the client does not trust our CA
        with self._open_lock:
            self._open.add(request)
        try:
            self.RequestHandlerClass(request, client_address, self)
        finally:
            with self._open_lock:
                self._open.discard(request)
            if self.ssl_context is not None:
                self.shutdown_request(request)

    def handle_error(self, request, client_address):
        pass  # clients that vanish mid-request are routine here; sim bugs are reported by the handler

    def close_connections(self):
        """Wake every handler blocked on an idle keep-alive connection."""
        with self._open_lock:
            open_sockets = list(self._open)
        for sock in open_sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class SimRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "clcsim/1.0"
    timeout = 120  # idle keep-alive connections are dropped after this
    # Headers and body go out in separate writes: without TCP_NODELAY the next
    # request on a kept-alive connection waits ~40 ms for a delayed ACK.
    disable_nagle_algorithm = True
    _entry = None  # the request log entry of the API request being served

    def version_string(self):
        return self.server_version

    def log_message(self, format, *args):
        pass  # the request log replaces the default stderr chatter

    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _handle(self):
        url = urlsplit(self.path)
        request = Request(self.command, url.path, url.query,
                          {name.lower(): value for name, value in self.headers.items()},
                          self._read_body())
        if request.path.startswith(ADMIN_PREFIX):
            self.send(self.server.sim.admin.handle(request))
        else:
            self._serve_api(request)

    def _read_body(self):
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0  # unreadable: treat as no body, the handler then refuses it
        return self.rfile.read(length) if length > 0 else b""

    def _serve_api(self, request):
        """Serve one API request, through a transport fault if one matches.

        The log entry is appended on arrival, so the log keeps arrival order,
        and completed just before the answer goes out, so a client that has
        its answer also finds it logged.
        """
        sim = self.server.sim
        fault = sim.faults.take_transport(request.method, request.path)
        self._started = time.monotonic()
        self._request = request
        self._entry = {"method": request.method, "path": request.path, "query": request.query,
                       "status": None, "duration": None, "bearer": bearer_token(request.headers) is not None,
                       "time": time.time(), "body": None, "fault": fault.kind if fault else None,
                       "client": self.client_address[0]}
        sim.log.append(self._entry)
        try:
            if sim.timing.latency > 0:
                time.sleep(sim.timing.latency)
            if fault is None:
                self.send(self.serve())
            else:
                sim.faults.misbehave(fault, self)
        finally:
            if self._entry["duration"] is None:  # nothing was answered (hang, reset)
                self._log_outcome(None)
            self._entry = None

    def _log_outcome(self, status):
        if self._entry is not None:  # None for /_sim/ requests, which are not logged
            self._entry["status"] = status
            self._entry["duration"] = time.monotonic() - self._started

    # -- what a fault behaviour (see faults.py) does with the exchange --------

    def serve(self):
        """The API's answer to the request being handled."""
        try:
            response = self.server.sim.api.dispatch(self._request)
        except Exception:  # a simulator bug: answer like a real server would, and say so
            traceback.print_exc(file=sys.stderr)
            response = message(500, SERVER_ERROR)
        self._entry["body"] = response.log_body
        return response

    def send(self, response, cut_half=False):
        """Send a response with CLC's headers, or only half its body (the
        header still promises all of it). An empty body has no Content-Type;
        a body is gzipped when the client accepts gzip."""
        payload = response.payload()
        headers = dict(ANSWER_HEADERS)
        if payload:
            headers["Content-Type"] = JSON_TYPE
            if "gzip" in (self.headers.get("Accept-Encoding") or "").lower():
                payload = gzip.compress(payload)
                headers.update({"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
        headers.update(response.headers)
        headers["Content-Length"] = str(len(payload))
        self._log_outcome(response.status)
        self.send_response(response.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload[:len(payload) // 2] if cut_half else payload)

    def close_after(self):
        self.close_connection = True

    def reset_connection(self):
        """Close with SO_LINGER 0 so the peer gets a TCP RST, not an orderly FIN."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.rfile.close()  # drop the file's reference, or close() would not really close
        self.connection.close()

    def hold_open(self, release):
        """Keep the connection open, answering nothing, until released by clear/stop."""
        self.close_connection = True
        release.wait()
