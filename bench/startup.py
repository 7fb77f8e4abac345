"""Section 3: start-up time and peak memory of fence_clc against fence_dummy
from the same fence-agents install, for the actions that do no I/O.

Peak RSS comes from a small launcher process: a child's ru_maxrss is never
lower than its parent's size at fork, so the big benchmark process cannot
fork the agents itself."""

import subprocess
import types
from statistics import median

from common import FENCE_DUMMY, TARGET, BenchError, new_token_dir
from report import Row, Section
from agentrun import SYSTEM_PYTHON, agent_env, cli_args

TIME_GOAL = 1.25  # the project's decision (issue 22): start-up no longer shapes the code
RSS_GOAL = 1.2

# Forks, execs argv[1:] with output discarded, prints "seconds maxrss_kb rc".
LAUNCHER = """
import os, sys, time
started = time.monotonic()
pid = os.fork()
if pid == 0:
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(time.monotonic() - started, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def measure_once(command):
    """(wall seconds, peak RSS in KiB) of one run of command."""
    out = subprocess.run([SYSTEM_PYTHON, "-S", "-E", "-c", LAUNCHER] + command,
                         stdout=subprocess.PIPE, universal_newlines=True, env=agent_env(),
                         check=True, timeout=60).stdout.split()
    if out[2] != "0":
        raise BenchError("%s exited with %s" % (" ".join(command), out[2]))
    return float(out[0]), int(out[1])


def commands(settings, action):
    """The agent's and fence_dummy's command line for action."""
    if action == "metadata":
        return [settings.agent, "-o", "metadata"], [FENCE_DUMMY, "-o", "metadata"]
    nowhere = types.SimpleNamespace(url="http://127.0.0.1:9")   # validate-all sends nothing
    agent = [settings.agent] + cli_args(nowhere, new_token_dir(), TARGET, action)
    return agent, [FENCE_DUMMY, "-o", action]


def medians(runs):
    """(median seconds, median RSS) of (seconds, RSS) runs."""
    return median([run[0] for run in runs]), median([run[1] for run in runs])


def measure_pair(agent_command, dummy_command, dummy_first):
    """(agent's, fence_dummy's) measures, run back to back."""
    if dummy_first:
        dummy = measure_once(dummy_command)
        return measure_once(agent_command), dummy
    return measure_once(agent_command), measure_once(dummy_command)


def compare(settings, action):
    """Interleaved runs of both; each ratio is the median of the ratios of
    back-to-back pairs, so load changes on a shared machine hit both alike.
    Every other pair runs fence_dummy first: neither profits from the
    other's warm caches."""
    agent_command, dummy_command = commands(settings, action)
    pairs = [measure_pair(agent_command, dummy_command, dummy_first=run % 2 == 1)
             for run in range(settings.startup_runs)]
    agent_time, agent_rss = medians([agent for agent, _ in pairs])
    dummy_time, dummy_rss = medians([dummy for _, dummy in pairs])
    time_ratio, rss_ratio = medians([(agent[0] / dummy[0], agent[1] / dummy[1])
                                     for agent, dummy in pairs])
    values = {"agent_seconds": agent_time, "dummy_seconds": dummy_time,
              "agent_rss_kib": agent_rss, "dummy_rss_kib": dummy_rss,
              "time_ratio": time_ratio, "rss_ratio": rss_ratio}
    time_row = Row("-o %s wall time" % action, "<= %.2fx fence_dummy" % TIME_GOAL,
                   "%.0f ms vs %.0f ms" % (agent_time * 1000, dummy_time * 1000),
                   ratio=time_ratio, passed=time_ratio <= TIME_GOAL, values=values)
    rss_row = Row("-o %s peak RSS" % action, "<= %.2fx fence_dummy" % RSS_GOAL,
                  "%.1f MiB vs %.1f MiB" % (agent_rss / 1024, dummy_rss / 1024),
                  ratio=rss_ratio, passed=rss_ratio <= RSS_GOAL, values=values)
    return [time_row, rss_row]


def run(settings):
    rows = compare(settings, "metadata") + compare(settings, "validate-all")
    notes = ["%d pairs of runs (fence_clc and fence_dummy back to back, in turn first); times: "
             "medians; ratios: medians of the pairs' ratios" % settings.startup_runs,
             "peak RSS measured from a small launcher process, not from the benchmark"]
    return Section("startup", "3. Start-up against fence_dummy", rows, notes)
