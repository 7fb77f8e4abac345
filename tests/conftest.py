"""Shared pytest fixtures: a CLC v2 API simulator per test."""

import collections
import os
import shutil
import socket
import subprocess
import tempfile

import pytest

from agentrun import FAST_TIMING, closed_port_url, fencing_world
from clcsim import Simulator
from clcsim.client import SimClient
from support import TINYPROXY_CONF, wait_until

# The reliability matrix's report: loaded here so that the controller process
# of a parallel run (which reads only this conftest) prints it; the hostile
# cases' fixture, for the behaviour suites that hold them.
pytest_plugins = ["reliability.report", "reliability.hostile", "skip_policy"]

# The platform matrix builds distribution roots: its own target,
# `make test-platforms` (which names the folder, so it is collected there).
collect_ignore = ["platforms"]


@pytest.fixture
def sim_factory():
    """Start simulators: sim_factory(**Simulator kwargs) -> started Simulator.

    Fast operation timing unless overridden; all are stopped at teardown.
    """
    started = []

    def start(**kwargs):
        sim = Simulator(**dict(FAST_TIMING, **kwargs)).start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def clc(sim_factory):
    """A simulator of the fencing tests' world (fencing_world)."""
    return sim_factory(config=fencing_world())


@pytest.fixture
def clc_tls(sim_factory):
    """The same over HTTPS, with the simulator's own CA (sim.ca_file)."""
    return sim_factory(config=fencing_world(), tls=True)


@pytest.fixture
def token_dir(tmp_path):
    """An empty 0700 directory for the agent's token cache."""
    path = tmp_path / "tokens"
    path.mkdir(mode=0o700)
    return str(path)


@pytest.fixture
def sim(sim_factory):
    """A plain-HTTP simulator of the default world with fast operations."""
    return sim_factory()


@pytest.fixture
def api(sim):
    """A logged-in client of `sim`; operations run fast where timing is not
    under test, and a request that hangs gives up after 3 s."""
    sim.configure(op_duration=0.05, op_start_delay=0.0)
    client = SimClient(sim, timeout=3)
    client.login()
    return client


Proxy = collections.namedtuple("Proxy", "url access_log")


@pytest.fixture(scope="session")
def loopback_proxy():
    """A private tinyproxy on a free loopback port (never the system one),
    configured as the cluster tests' one; its access log shows what passed."""
    workdir = tempfile.mkdtemp(prefix="fence-clc-proxy-")
    url = closed_port_url()
    port = int(url.rsplit(":", 1)[1])
    access_log = os.path.join(workdir, "access.log")
    config = os.path.join(workdir, "tinyproxy.conf")
    with open(config, "w") as f:
        f.write(TINYPROXY_CONF.format(port=port, log=access_log))
    proc = subprocess.Popen(["tinyproxy", "-d", "-c", config],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: accepts_connections(port), 10, interval=0.05, what="tinyproxy")
        yield Proxy(url, access_log)
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
