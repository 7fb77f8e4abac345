"""Section 5: many simultaneous reboots sharing one token cache.

On a small machine, N Python processes started at once need a while before
any of them does work; that floor (N x fence_dummy -o metadata at once) is
measured in the same run and subtracted for the net ratio."""

import os
import resource
import time
from concurrent.futures import ThreadPoolExecutor
from statistics import median

from common import (FENCE_DUMMY, Settings, count_kinds, generated_world, new_token_dir,
                    run_checked, start_sim)
from report import Row, Section
from agentrun import cli_args

WALL_GOAL = 1.5
REBOOT = ("-m", "onoff")


def all_at_once(commands):
    """Wall seconds to run every (settings, args) at once, until the last ends."""
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(commands)) as pool:
        list(pool.map(lambda command: run_checked(*command), commands))
    return time.monotonic() - started


def cpu_seconds(who):
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def reboot_args(sim, token_dir, plug):
    return cli_args(sim, token_dir, plug, "reboot", REBOOT)


def start_up_floor(count):
    """Wall of `count` fence_dummy -o metadata at once: Python start-up alone."""
    dummy = Settings(agent=FENCE_DUMMY)
    return all_at_once([(dummy, ["-o", "metadata"])] * count)


def one_reboot(sim, settings, plug):
    """Median wall of a lone reboot with a cold token cache."""
    return median([all_at_once([(settings, reboot_args(sim, new_token_dir(), plug))])
                   for _ in range(settings.repeats)])


def reboot_burst(sim, settings, plugs):
    """Reboot every plug at once, sharing one cold token cache."""
    shared_dir = new_token_dir()
    sim.clear_requests()
    cpu_before = cpu_seconds(resource.RUSAGE_CHILDREN), cpu_seconds(resource.RUSAGE_SELF)
    wall = all_at_once([(settings, reboot_args(sim, shared_dir, plug)) for plug in plugs])
    agents_cpu = cpu_seconds(resource.RUSAGE_CHILDREN) - cpu_before[0]
    sim_cpu = cpu_seconds(resource.RUSAGE_SELF) - cpu_before[1]
    counts = count_kinds(sim.requests())
    return {"wall": wall, "logins": counts.get("login", 0), "posts": counts.get("POST", 0),
            "agents_cpu": agents_cpu, "simulator_cpu": sim_cpu}


def measure(settings):
    count = settings.concurrent
    world = generated_world(count)
    plugs = [server["id"] for server in world["servers"]]
    sim = start_sim(settings, world)
    try:
        values = {"single": one_reboot(sim, settings, plugs[0]),
                  "one_start": median([start_up_floor(1) for _ in range(settings.repeats)])}
        floor_before = start_up_floor(count)
        values.update(reboot_burst(sim, settings, plugs))
        values["floor"] = (floor_before + start_up_floor(count)) / 2
    finally:
        sim.stop()
    return values


def run(settings):
    count, v = settings.concurrent, measure(settings)
    raw, net = v["wall"] / v["single"], (v["wall"] - v["floor"]) / (v["single"] - v["one_start"])
    rows = [
        Row("%d reboots, raw wall" % count, "<= %.1fx one reboot" % WALL_GOAL,
            "%.2f s vs %.2f s" % (v["wall"], v["single"]), ratio=raw, passed=raw <= WALL_GOAL,
            values=v),
        Row("%d reboots, net of start-up floor" % count, "<= %.1fx one reboot" % WALL_GOAL,
            "%.2f s vs %.2f s" % (v["wall"] - v["floor"], v["single"] - v["one_start"]),
            ratio=net, passed=net <= WALL_GOAL, values=v),
        Row("logins for %d reboots (cold cache)" % count, "1", "%d" % v["logins"],
            passed=v["logins"] == 1, values=v),
    ]
    allowance = (WALL_GOAL - 1) * v["single"]   # what the raw goal allows above one reboot
    notes = [
        "start-up floor: %d x fence_dummy -o metadata at once took %.2f s (mean of a run "
        "before and one after the burst; one alone %.2f s); net ratio = (wall - floor) / "
        "(one reboot - one start-up)" % (count, v["floor"], v["one_start"]),
        "the raw goal allows %.2f s above one reboot; the start-up floor alone is %.1fx that "
        "on %d cores" % (allowance, v["floor"] / allowance, os.cpu_count()),
        "one reboot: median of %d runs with a cold cache; the %d share one cold cache "
        "directory; %d power POSTs seen" % (settings.repeats, count, v["posts"]),
        "CPU during the burst: agents %.2f s, simulator and benchmark %.2f s, on %d cores "
        "(%.2f of their capacity over the burst; the rest went to other processes or to "
        "waiting)" % (v["agents_cpu"], v["simulator_cpu"], os.cpu_count(),
                      (v["agents_cpu"] + v["simulator_cpu"]) / (v["wall"] * os.cpu_count()))]
    return Section("concurrency", "5. Concurrency", rows, notes)
