"""Section 5: many simultaneous reboots sharing one token cache.

On a small machine, N Python processes started at once need a while before
any of them does work; that floor (N x fence_dummy -o metadata at once) is
measured in the same run and subtracted for the net ratio."""

import time
from concurrent.futures import ThreadPoolExecutor

from common import (FENCE_DUMMY, count_kinds, generated_world, median, new_token_dir,
                    run_checked, start_sim, agent_args)
from report import Row, Section

WALL_GOAL = 1.5
REBOOT = ("-m", "onoff")


def all_at_once(commands):
    """Wall seconds to run every (settings, args) at once, until the last ends."""
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(commands)) as pool:
        list(pool.map(lambda command: run_checked(*command), commands))
    return time.monotonic() - started


def reboot_args(sim, token_dir, plug):
    return agent_args(sim, token_dir, plug, "reboot", REBOOT)


def run(settings):
    count = settings.concurrent
    sim = start_sim(settings, generated_world(count))
    dummy = type(settings)(agent=FENCE_DUMMY)
    try:
        plugs = [server["id"] for server in generated_world(count)["servers"]]
        single = median([all_at_once([(settings, reboot_args(sim, new_token_dir(), plugs[0]))])
                         for _ in range(settings.repeats)])
        one_start = median([all_at_once([(dummy, ["-o", "metadata"])])
                            for _ in range(settings.repeats)])
        floor = all_at_once([(dummy, ["-o", "metadata"])] * count)
        shared_dir = new_token_dir()
        sim.clear_requests()
        wall = all_at_once([(settings, reboot_args(sim, shared_dir, plug)) for plug in plugs])
        time.sleep(0.02)  # the simulator logs a request just after answering it
        counts = count_kinds(sim.requests())
    finally:
        sim.stop()
    raw, net = wall / single, (wall - floor) / (single - one_start)
    values = {"single": single, "wall": wall, "floor": floor, "one_start": one_start,
              "logins": counts.get("login", 0), "posts": counts.get("POST", 0)}
    rows = [
        Row("%d reboots, raw wall" % count, "<= %.1fx one reboot" % WALL_GOAL,
            "%.2f s vs %.2f s" % (wall, single), ratio=raw, passed=raw <= WALL_GOAL, values=values),
        Row("%d reboots, net of start-up floor" % count, "<= %.1fx one reboot" % WALL_GOAL,
            "%.2f s vs %.2f s" % (wall - floor, single - one_start), ratio=net,
            passed=net <= WALL_GOAL, values=values),
        Row("logins for %d reboots (cold cache)" % count, "1", "%d" % values["logins"],
            passed=values["logins"] == 1, values=values),
    ]
    notes = ["floor: %d x fence_dummy -o metadata at once took %.2f s (one alone %.2f s); "
             "net ratio = (wall - floor) / (one reboot - one start-up)" % (count, floor, one_start),
             "one reboot: median of %d runs with a cold cache; the %d share one cold cache "
             "directory; %d power POSTs seen" % (settings.repeats, count, values["posts"])]
    return Section("concurrency", "5. Concurrency", rows, notes)
