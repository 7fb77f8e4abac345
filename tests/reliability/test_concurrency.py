"""32 agents at once sharing one token cache, as a cluster fencing many
nodes (or probing one) does: all succeed, one login from a cold cache, the
cache never torn, no power POST twice."""

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from agentrun import SENTINEL_PASSWORD, USERNAME, run_agent, stdin_params
from support import logins, power_posts
from clcsim import generate_config

from . import checks

FLEET = 32
# Generous: 32 processes share 2 cores with the rest of the test suite.
TIMEOUTS = {"power_timeout": "40", "shell_timeout": "10", "login_timeout": "5"}


def run_together(param_sets, timeout=120):
    """Every agent at once, the Pacemaker way (stdin): one thread per run."""
    def run(params):
        return run_agent(stdin=params, pacemaker=True, timeout=timeout,
                         debug_file=params["debug_file"])
    with ThreadPoolExecutor(max_workers=len(param_sets)) as pool:
        return list(pool.map(run, param_sets))


@pytest.fixture
def fleet(sim_factory):
    return sim_factory(config=generate_config(FLEET, username=USERNAME,
                                              password=SENTINEL_PASSWORD))


def fleet_params(sim, tmp_path, plugs, action, **extra):
    token_dir = str(tmp_path / "tokens")
    return [stdin_params(sim, token_dir, plug, action, verbose="1",
                         debug_file=str(tmp_path / ("debug-%d.log" % number)),
                         **dict(TIMEOUTS, **extra))
            for number, plug in enumerate(plugs)]


def server_ids(sim):
    return ["UC1ACCTSRV%05d" % number for number in range(1, sim.server_count() + 1)]


def assert_cache_whole(tmp_path, sim):
    """One cache entry, whole JSON, 0600, holding a token the simulator issued."""
    token_dir = str(tmp_path / "tokens")
    caches = [name for name in os.listdir(token_dir) if name.endswith(".token")]
    assert len(caches) == 1, os.listdir(token_dir)
    path = os.path.join(token_dir, caches[0])
    assert os.stat(path).st_mode & 0o777 == 0o600
    with open(path) as f:
        assert json.load(f)["token"] in sim.issued_tokens()


def tally_of(name, sim, tmp_path, results, false_off):
    tally = checks.Tally(name)
    problems, neighbours = checks.token_dir_problems(str(tmp_path / "tokens"))
    secrets = [SENTINEL_PASSWORD] + sim.issued_tokens()
    for result, lie in zip(results, false_off):
        tally.add(result, secrets, false_off=lie, extra_texts=neighbours)
    tally.leaks += problems
    return tally


def test_32_reboots_of_32_servers(fleet, tmp_path, record_run):
    plugs = server_ids(fleet)
    started_at = time.time()
    results = run_together(fleet_params(fleet, tmp_path, plugs, "reboot"))
    cycled = [checks.stopped_during(fleet.server(plug), started_at) for plug in plugs]
    tally = tally_of("concurrency: %d reboots of %d servers, one cold token cache" % (FLEET, FLEET),
                     fleet, tmp_path, results,
                     [checks.claims_success(r) and not c for r, c in zip(results, cycled)])
    posts = [(p["path"].rsplit("/", 1)[1], tuple(p["body"] or ()))
             for p in power_posts(fleet.requests())]
    tally.duplicate_posts = len(posts) - len(set(posts))
    record_run(tally.record(), kind="concurrency")
    assert [r.rc for r in results] == [0] * FLEET, [r for r in results if r.rc]
    assert all("Success: Rebooted" in r.stdout for r in results)
    assert all(cycled)
    assert sorted(posts) == sorted([("powerOff", (plug,)) for plug in plugs]
                                   + [("powerOn", (plug,)) for plug in plugs])
    assert len(logins(fleet)) == 1
    assert_cache_whole(tmp_path, fleet)
    assert not tally.traceback and not tally.leaks and not tally.false_off


def test_32_status_of_one_server(fleet, tmp_path, record_run):
    plug = server_ids(fleet)[0]
    results = run_together(fleet_params(fleet, tmp_path, [plug] * FLEET, "status"))
    tally = tally_of("concurrency: %d status of one server, one cold token cache" % FLEET,
                     fleet, tmp_path, results, [r.rc == 2 for r in results])
    record_run(tally.record(), kind="concurrency")
    assert [(r.rc, r.stdout) for r in results] == [(0, "Status: ON\n")] * FLEET
    assert len(logins(fleet)) == 1
    assert not power_posts(fleet.requests())
    assert_cache_whole(tmp_path, fleet)
    assert not tally.traceback and not tally.leaks
