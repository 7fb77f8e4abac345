"""Section 3: start-up time and peak memory of fence_clc against fence_dummy
from the same fence-agents install, for the actions that do no I/O.

Peak RSS comes from a small launcher process: a child's ru_maxrss is never
lower than its parent's size at fork, so the big benchmark process cannot
fork the agents itself.

Python compiles a script on every run (only imported modules get a cached
.pyc). The info rows run the agent's code compiled beforehand: the
difference between the two is what compiling the file costs, the rest is
what the agent does when it starts."""

import marshal
import os
import subprocess
import types
from statistics import median

from common import FENCE_DUMMY, SCRATCH, TARGET, BenchError, new_token_dir
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


def commands(agent_file, action):
    """The agent's and fence_dummy's command line for action."""
    if action == "metadata":
        return [agent_file, "-o", "metadata"], [FENCE_DUMMY, "-o", "metadata"]
    nowhere = types.SimpleNamespace(url="http://127.0.0.1:9")   # validate-all sends nothing
    agent = [agent_file] + cli_args(nowhere, new_token_dir(), TARGET, action)
    return agent, [FENCE_DUMMY, "-o", action]


def precompiled(agent_file):
    """A script named fence_clc that runs the agent's code object, compiled
    here once, as if Python had cached it."""
    directory = os.path.join(SCRATCH.name, "precompiled")
    os.makedirs(directory, exist_ok=True)
    with open(agent_file) as source:
        code = compile(source.read(), agent_file, "exec")
    code_file, script = os.path.join(directory, "fence_clc.code"), os.path.join(directory, "fence_clc")
    with open(code_file, "wb") as out:
        marshal.dump(code, out)
    with open(script, "w") as out:
        out.write("#!%s -tt\nimport marshal\nwith open(%r, 'rb') as code:\n"
                  "    exec(marshal.load(code))\n" % (SYSTEM_PYTHON, code_file))
    os.chmod(script, 0o755)
    return script


def medians(runs):
    """(median seconds, median RSS) of (seconds, RSS) runs."""
    return median([run[0] for run in runs]), median([run[1] for run in runs])


def measure_pair(agent_command, dummy_command, dummy_first):
    """(agent's, fence_dummy's) measures, run back to back."""
    if dummy_first:
        dummy = measure_once(dummy_command)
        return measure_once(agent_command), dummy
    return measure_once(agent_command), measure_once(dummy_command)


def compare(settings, action, agent_file=None):
    """Interleaved runs of both; each ratio is the median of the ratios of
    back-to-back pairs, so load changes on a shared machine hit both alike.
    Every other pair runs fence_dummy first: neither profits from the
    other's warm caches. agent_file: the precompiled agent's, for an info
    row."""
    agent_command, dummy_command = commands(agent_file or settings.agent, action)
    pairs = [measure_pair(agent_command, dummy_command, dummy_first=run % 2 == 1)
             for run in range(settings.startup_runs)]
    agent_time, agent_rss = medians([agent for agent, _ in pairs])
    dummy_time, dummy_rss = medians([dummy for _, dummy in pairs])
    time_ratio, rss_ratio = medians([(agent[0] / dummy[0], agent[1] / dummy[1])
                                     for agent, dummy in pairs])
    values = {"agent_seconds": agent_time, "dummy_seconds": dummy_time,
              "agent_rss_kib": agent_rss, "dummy_rss_kib": dummy_rss,
              "time_ratio": time_ratio, "rss_ratio": rss_ratio}
    measured = "%.0f ms vs %.0f ms" % (agent_time * 1000, dummy_time * 1000)
    measured_rss = "%.1f MiB vs %.1f MiB" % (agent_rss / 1024, dummy_rss / 1024)
    if agent_file:
        return [Row("-o %s wall, precompiled" % action, "info", measured, ratio=time_ratio,
                    values=values),
                Row("-o %s RSS, precompiled" % action, "info", measured_rss,
                    ratio=rss_ratio, values=values)]
    return [Row("-o %s wall time" % action, "<= %.2fx fence_dummy" % TIME_GOAL, measured,
                ratio=time_ratio, passed=time_ratio <= TIME_GOAL, values=values),
            Row("-o %s peak RSS" % action, "<= %.2fx fence_dummy" % RSS_GOAL, measured_rss,
                ratio=rss_ratio, passed=rss_ratio <= RSS_GOAL, values=values)]


def run(settings):
    agent_code = precompiled(settings.agent)
    rows = []
    for action in ("metadata", "validate-all"):
        rows += compare(settings, action) + compare(settings, action, agent_code)
    notes = ["%d pairs of runs (fence_clc and fence_dummy back to back, in turn first); times: "
             "medians; ratios: medians of the pairs' ratios" % settings.startup_runs,
             "peak RSS measured from a small launcher process, not from the benchmark",
             "precompiled: the agent's code compiled once beforehand, as Python would "
             "cache a module's; the gap to the row above is compiling the script"]
    return Section("startup", "3. Start-up against fence_dummy", rows, notes)
