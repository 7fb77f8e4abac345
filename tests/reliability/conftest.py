"""Fixtures of the reliability suite, and its report plugin."""

import os
import shutil
import subprocess
import tempfile
import time

import pytest

from . import report
from .runner import closed_port_url


def pytest_configure(config):
    report.pytest_configure(config)


@pytest.fixture
def record_run(request):
    """record_run(record, kind, **more): hand one run's record to the report."""
    def record(data, kind="run", **more):
        request.node.user_properties.append((report.PROPERTY, dict(data, kind=kind, **more)))
    return record


TINYPROXY_CONFIG = """\
Port {port}
Listen 127.0.0.1
Timeout 10
Allow 127.0.0.1
MaxClients 100
LogLevel Error
"""


@pytest.fixture(scope="session")
def proxy_url():
    """A private tinyproxy on a free loopback port (never the system one)."""
    workdir = tempfile.mkdtemp(prefix="reliability-proxy-")
    url = closed_port_url()
    port = int(url.rsplit(":", 1)[1])
    config = os.path.join(workdir, "tinyproxy.conf")
    with open(config, "w") as f:
        f.write(TINYPROXY_CONFIG.format(port=port))
    proc = subprocess.Popen(["tinyproxy", "-d", "-c", config],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def wait_for_port(port, seconds=10):
    import socket
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
