"""What every benchmark section shares: the settings, a simulator with the
injected latency, and the agent run as a real process (as the tests do)."""

import dataclasses
import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)
# The tests' helpers under their one import name (agentrun), after bench's own modules.
if os.path.join(REPO, "tests") not in sys.path:
    sys.path.append(os.path.join(REPO, "tests"))

from agentrun import (AGENT, SENTINEL_PASSWORD, USERNAME, cli_args,  # noqa: E402
                      fencing_world, run_agent)
from clcsim import Simulator, generate_config  # noqa: E402

FENCE_DUMMY = "/usr/sbin/fence_dummy"
TARGET = "UC1ACCTWEB01"     # a server of the default world


class BenchError(Exception):
    """The benchmark could not measure (an agent run failed)."""


@dataclasses.dataclass
class Settings:
    """Sizes and timing of one benchmark run (--smoke shrinks them)."""
    latency: float = 0.05           # injected round trip per request, s
    op_duration: float = 0.5
    op_start_delay: float = 0.05
    long_ops: tuple = (10.0, 20.0)  # durations of extra 'off' runs, s
    repeats: int = 3
    startup_runs: int = 60          # pairs: 20 left the median ratio +-0.04 from run to run
    servers: int = 5000
    datacenters: int = 3
    groups: int = 200
    concurrent: int = 32
    agent: str = AGENT

    @classmethod
    def smoke(cls, agent=AGENT):
        return cls(latency=0.0, op_duration=0.05, op_start_delay=0.01, long_ops=(), repeats=1,
                   startup_runs=3, servers=50, datacenters=3, groups=6, concurrent=4, agent=agent)

    def as_dict(self):
        return dataclasses.asdict(self)

    def describe(self):
        return ("RTT %.0f ms, operation %.2f s (+%.2f s start), %d servers/%d DCs/%d groups, "
                "%d concurrent, %d start-up runs" % (
                    self.latency * 1000, self.op_duration, self.op_start_delay, self.servers,
                    self.datacenters, self.groups, self.concurrent, self.startup_runs))


def start_sim(settings, world=None, **timing):
    """A simulator of `world` (default: the tests' world) with the bench's timing."""
    options = dict(latency=settings.latency, op_duration=settings.op_duration,
                   op_start_delay=settings.op_start_delay)
    options.update(timing)
    return Simulator(config=fencing_world() if world is None else world, **options).start()


def generated_world(servers, datacenters=1, groups=0):
    """A generated account the sentinel user logs in to."""
    return generate_config(servers, datacenters, groups, username=USERNAME,
                           password=SENTINEL_PASSWORD)


def operation_seconds(sim):
    """How long a power operation takes from its POST: the protocol's D."""
    timing = sim.timing_settings()
    return timing["op_start_delay"] + timing["op_duration"] + timing["record_lag"]


SCRATCH = tempfile.TemporaryDirectory(prefix="fence_clc-bench-")   # removed at exit


def new_token_dir():
    """A fresh (cold) token cache directory, private as the agent requires."""
    return tempfile.mkdtemp(prefix="tokens-", dir=SCRATCH.name)


def run_checked(settings, args, ok=(0,)):
    """Run the agent once; raise BenchError when it did not succeed."""
    result = run_agent(args, agent=settings.agent, timeout=120)
    if result.rc not in ok:
        raise BenchError("%s -o %s failed: %r" % (os.path.basename(settings.agent),
                                                 args[1], result))
    return result


def run_logged(sim, settings, token_dir, plug, action, extra=(), ok=(0,)):
    """Run the agent against a clean request log: (result, its requests)."""
    sim.clear_requests()
    result = run_checked(settings, cli_args(sim, token_dir, plug, action, extra), ok)
    return result, sim.requests()   # complete: the simulator logs before it answers


def request_kind(entry):
    path, method = entry["path"], entry["method"]
    if path.endswith("/authentication/login"):
        return "login"
    if "/operations/" in path and "/status/" in path:
        return "poll"
    if method == "POST" and "/operations/" in path:
        return "POST"
    if method == "GET" and path.startswith("/v2/servers/"):
        return "GET"
    if "/datacenters/" in path or "/groups/" in path:
        return "list"
    return "other"


def count_kinds(requests):
    counts = {}
    for entry in requests:
        kind = request_kind(entry)
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def describe_counts(counts):
    order = ("login", "GET", "POST", "poll", "list", "other")
    return ", ".join("%s %d" % (kind, counts[kind]) for kind in order if counts.get(kind))
