"""32 agents at once sharing one token cache, as a cluster fencing many
nodes (or probing one) does: all succeed, one login from a cold cache, the
cache never torn, no power POST twice. Two runs for one server send one
power operation and both follow it."""

import fcntl
import json
import os
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from agentrun import AGENT, SENTINEL_PASSWORD, USERNAME, WEB, agent_env, fencing_world, run_agent, \
    stdin_params, stdin_text
from support import logins, power_posts, wait_until
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


# ---------------------------------------------------------------- two runs, one server
# Pacemaker retrying after a timeout, two nodes fencing the same victim, an
# admin's `pcs stonith fence` during a cluster fence: runs of this host for
# one server send one power operation and follow it together.

ROUNDS = 10
VICTIM = WEB
OVERLAP = {"op_duration": 1.5, "op_start_delay": 0.05}  # long enough for both runs to meet
OTHER_USER, OTHER_PASSWORD = "second@acct", "Second-Passw0rd-41d2"


@pytest.fixture
def victim_sim(sim_factory):
    """The fencing world, with a second user of account ACCT."""
    world = fencing_world()
    world["accounts"][0]["users"].append({"username": OTHER_USER, "password": OTHER_PASSWORD})
    sim = sim_factory(config=world)
    sim.configure(**OVERLAP)
    return sim


def operation_files(tmp_path):
    """The markers and locks of power operations beside the token cache."""
    token_dir = str(tmp_path / "tokens")
    names = os.listdir(token_dir) if os.path.isdir(token_dir) else []
    return sorted(name for name in names if ".operation" in name)


def rounds_of_two(sim, tmp_path, action, op, record_run, name, **extra):
    """ROUNDS rounds of two simultaneous runs against VICTIM (running at
    the start of each): the results and the count of `op` POSTs per round."""
    results, posts_per_round, cycled = [], [], []
    for _ in range(ROUNDS):
        sim.set_server(VICTIM, powerState="started")
        sim.clear_requests()
        started_at = time.time()
        pair = run_together(fleet_params(sim, tmp_path, [VICTIM] * 2, action, **extra))
        results += pair
        posts_per_round.append(len(power_posts(sim.requests(), op)))
        cycled += [checks.stopped_during(sim.server(VICTIM), started_at)] * 2
    tally = tally_of(name, sim, tmp_path, results,
                     [checks.claims_success(r) and not c for r, c in zip(results, cycled)])
    tally.duplicate_posts = sum(max(0, posts - 1) for posts in posts_per_round)
    record_run(tally.record(), kind="concurrency")
    assert not tally.traceback and not tally.leaks and not tally.false_off
    return results, posts_per_round


def test_two_cycle_reboots_of_one_server_send_one_reset(victim_sim, tmp_path, record_run):
    results, resets = rounds_of_two(
        victim_sim, tmp_path, "reboot", "reset", record_run, method="cycle",
        name="concurrency: %d x two reboot --method=cycle of one server" % ROUNDS)
    assert resets == [1] * ROUNDS
    assert [r.rc for r in results] == [0] * 2 * ROUNDS, [r for r in results if r.rc]
    assert all("Success: Rebooted" in r.stdout for r in results)
    assert victim_sim.server(VICTIM)["powerState"] == "started"


def test_two_offs_of_one_server_send_at_most_one_power_off(victim_sim, tmp_path, record_run):
    results, power_offs = rounds_of_two(
        victim_sim, tmp_path, "off", "powerOff", record_run,
        name="concurrency: %d x two off of one server" % ROUNDS)
    assert max(power_offs) <= 1, power_offs
    assert [r.rc for r in results] == [0] * 2 * ROUNDS, [r for r in results if r.rc]
    assert victim_sim.server(VICTIM)["powerState"] == "stopped"


def start_agent(params, tmp_path):
    """One agent run in the background, the Pacemaker way."""
    stdin_file = tmp_path / "stdin-background"
    stdin_file.write_text(stdin_text(params))
    with open(str(stdin_file)) as stdin:
        return subprocess.Popen([AGENT], stdin=stdin, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, universal_newlines=True,
                                env=agent_env(pacemaker=True))


def holds_operation_lock(tmp_path):
    """Whether some run holds a power operation lock in the token directory."""
    for name in operation_files(tmp_path):
        if not name.endswith(".lock"):
            continue
        with open(str(tmp_path / "tokens" / name)) as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
    return False


def test_a_stopped_holder_costs_the_other_run_a_bounded_wait(victim_sim, tmp_path):
    """A run frozen (SIGSTOP) while it sends the reset: the other run waits
    for it at most half its deadline, says so, and fences on its own."""
    victim_sim.add_fault("slow", path="/servers/reset", method="POST", count=1, delay=3)
    first, second = fleet_params(victim_sim, tmp_path, [VICTIM] * 2, "reboot", method="cycle",
                                 power_timeout="20")
    holder = start_agent(first, tmp_path)
    try:
        wait_until(lambda: holds_operation_lock(tmp_path), 10, interval=0.05,
                   what="the first run to take the operation lock")
        os.kill(holder.pid, signal.SIGSTOP)
        result = run_agent(stdin=second, pacemaker=True, timeout=60)
    finally:
        os.kill(holder.pid, signal.SIGCONT)
        holder.communicate(timeout=60)
    assert result.rc == 0, result
    assert "Success: Rebooted" in result.stdout
    assert result.seconds < 20 + 2, result
    waits = [line for line in result.stderr.splitlines() if "operation lock" in line]
    assert len(waits) == 1 and "going on without it" in waits[0], result


def test_a_killed_runs_reset_is_followed_and_a_finished_one_is_not(victim_sim, tmp_path):
    """A run killed after CLC queued its reset leaves no lock behind, and
    its operation is followed; a reset confirmed before a run started is a
    past fence: that run sends its own."""
    victim_sim.configure(op_duration=4)  # the server still runs when the follower reads it
    params = fleet_params(victim_sim, tmp_path, [VICTIM], "reboot", method="cycle")[0]
    killed = start_agent(params, tmp_path)
    wait_until(lambda: power_posts(victim_sim.requests(), "reset"), 20, interval=0.02,
               what="the reset request")
    time.sleep(0.2)  # the answer arrives and is noted
    killed.kill()
    killed.communicate(timeout=10)
    follower = run_agent(stdin=params, pacemaker=True, timeout=60)
    assert follower.rc == 0 and "Success: Rebooted" in follower.stdout, follower
    assert len(power_posts(victim_sim.requests(), "reset")) == 1
    later = run_agent(stdin=params, pacemaker=True, timeout=60)
    assert later.rc == 0 and "Success: Rebooted" in later.stdout, later
    assert len(power_posts(victim_sim.requests(), "reset")) == 2


def test_operation_marker_is_private_and_bound_to_the_credentials(victim_sim, tmp_path):
    """Runs of another user (or password) for the same server take turns
    with the lock but never follow each other's operation; one marker per
    server, 0600, holding no secret."""
    first, second = fleet_params(victim_sim, tmp_path, [VICTIM] * 2, "reboot", method="cycle")
    second.update(login=OTHER_USER, passwd=OTHER_PASSWORD)
    results = run_together([first, second])
    assert [r.rc for r in results] == [0, 0], results
    assert len(power_posts(victim_sim.requests(), "reset")) == 2
    markers = [name for name in operation_files(tmp_path) if not name.endswith(".lock")]
    assert len(markers) == 1, operation_files(tmp_path)
    path = str(tmp_path / "tokens" / markers[0])
    assert os.stat(path).st_mode & 0o777 == 0o600
    text = checks.read_text(path)
    secrets = [SENTINEL_PASSWORD, OTHER_PASSWORD] + victim_sim.issued_tokens()
    assert not checks.leaked([text], secrets)
