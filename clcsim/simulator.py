"""The Simulator: one CLC v2 API server on loopback, and the handles tests use to steer it."""

import dataclasses
import shutil
import sys
import tempfile
import threading

from . import tls
from .admin import Admin
from .api import Api
from .faults import FaultRegistry
from .httpd import SimHTTPServer
from .requestlog import RequestLog
from .state import Behaviour, State, Timing
from .tokens import TokenIssuer
from .world import default_config


class Simulator:
    def __init__(self, config=None, tls=False, latency=0.0, op_duration=0.5, op_start_delay=0.05,
                 record_lag=0.0, token_ttl=14 * 86400, host="127.0.0.1", port=0,
                 on_power_change=None, behaviour=None):
        self.timing = Timing()
        self.timing.update(latency=latency, op_duration=op_duration,
                           op_start_delay=op_start_delay, record_lag=record_lag)
        config = default_config() if config is None else config
        self.behaviour = Behaviour()
        self.behaviour.update(**dict(config.get("options") or {}, **(behaviour or {})))
        self.state = State(config, self.timing, self.behaviour)
        self.tokens = TokenIssuer(token_ttl)
        self.faults = FaultRegistry()
        # The fault API is the registry's own: add_fault(kind, path=None, method=None,
        # count=None, **params) -> id, remove_fault(id), clear_faults() (releases hangs).
        self.add_fault, self.remove_fault, self.clear_faults = \
            self.faults.add, self.faults.remove, self.faults.clear
        self.log = RequestLog()
        self.api = Api(self.state, self.tokens, self.faults)
        self.admin = Admin(self)
        self.tls = tls
        self.host = host
        self.port = port
        self.on_power_change = on_power_change
        self.ca_file = None
        self._tempdir = None
        self._httpd = None
        self._threads = []
        self._stopping = threading.Event()

    # -- lifecycle ----------------------------------------------------------

    def start(self):
        try:
            context = None
            if self.tls:
                self._tempdir = tempfile.mkdtemp(prefix="clcsim-tls-")
                self.ca_file, cert_file, key_file = tls.make_certificates(self._tempdir)
                context = tls.server_context(cert_file, key_file)
            self._httpd = SimHTTPServer((self.host, self.port), self, context)
        except Exception:
            self._remove_tempdir()
            raise
        self.port = self._httpd.server_address[1]
        for target in (self._serve, self._run_ticker, self._deliver_power_changes):
            thread = threading.Thread(target=target, name="clcsim-" + target.__name__, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self):
        if self._httpd is None:
            return
        self._stopping.set()
        self.faults.release_hangs()
        self.state.wake_ticker()
        self.state.notifications.put(None)
        self._httpd.shutdown()
        self._httpd.close_connections()
        self._httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._httpd = None
        self._remove_tempdir()

    def _remove_tempdir(self):
        if self._tempdir:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def url(self):
        scheme = "https" if self.tls else "http"
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "%s://%s:%d" % (scheme, host, self.port)

    def _serve(self):
        self._httpd.serve_forever(poll_interval=0.05)  # short poll: stop() returns promptly

    def _run_ticker(self):
        self.state.run_ticker(self._stopping)

    def _deliver_power_changes(self):
        """Call on_power_change outside the state lock, in the order changes happened."""
        while True:
            change = self.state.notifications.get()
            if change is None:
                return
            if self.on_power_change is not None:
                try:
                    self.on_power_change(*change)
                except Exception as err:  # a broken callback must not stop the simulation
                    print("clcsim: on_power_change failed: %r" % (err,), file=sys.stderr)

    # -- servers ------------------------------------------------------------

    def server(self, server_id):
        """Snapshot of a server's internal record (incl. power_history); KeyError if unknown."""
        return self.state.snapshot(server_id)

    def set_server(self, server_id, **fields):
        self.state.update_server(server_id, **fields)

    def server_count(self):
        return len(self.state.servers)

    # -- requests, tokens, timing ------------------------------------------

    def requests(self):
        return self.log.entries()

    def clear_requests(self):
        self.log.clear()

    def expire_tokens(self):
        self.tokens.expire_all()

    def issued_tokens(self):
        return self.tokens.issued()

    def configure(self, token_ttl=None, **settings):
        """Change timing (latency, op_duration, op_start_delay, record_lag,
        op_result), token_ttl, and Behaviour fields (answer_order, ...)."""
        behaviour = {name: settings.pop(name) for name in list(settings)
                     if name in Behaviour.__dataclass_fields__}
        with self.state.lock:
            self.timing.update(**settings)
            self.behaviour.update(**behaviour)
        if token_ttl is not None:
            self.tokens.ttl = float(token_ttl)

    def timing_settings(self):
        return dict(dataclasses.asdict(self.timing), token_ttl=self.tokens.ttl,
                    **dataclasses.asdict(self.behaviour))
