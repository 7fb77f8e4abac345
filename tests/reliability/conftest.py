"""Fixtures of the reliability suite, and its report plugin."""

import os
import shutil
import socket
import subprocess
import tempfile

import pytest

from cluster.stack import TINYPROXY_CONF, wait_until

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


@pytest.fixture(scope="session")
def proxy_url():
    """A private tinyproxy on a free loopback port (never the system one),
    configured as the cluster tests' one."""
    workdir = tempfile.mkdtemp(prefix="reliability-proxy-")
    url = closed_port_url()
    port = int(url.rsplit(":", 1)[1])
    config = os.path.join(workdir, "tinyproxy.conf")
    with open(config, "w") as f:
        f.write(TINYPROXY_CONF.format(port=port, log=os.path.join(workdir, "access.log")))
    proc = subprocess.Popen(["tinyproxy", "-d", "-c", config],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: accepts_connections(port), 10, interval=0.05, what="tinyproxy")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def accepts_connections(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True
