"""Section 1: time to fence against the protocol's physical limit.

The limit, as the benchmark's issue defines it: one round trip to log in,
then per power operation one round trip for its POST, the operation's
duration, and one round trip for the read of the server record that
confirms the new state (CLC's record can lag the operation: no agent may
claim OFF before that read). A run's time above the limit splits into
process start-up and exit, the library's status read before the POST, and
polling (time the agent spends noticing that the operation is over)."""

from common import (TARGET, BenchError, new_token_dir, operation_seconds, request_kind,
                    run_logged, start_sim)
from report import Row, Section

SLACK = 0.5     # the goal: at most half a second above the limit

# name, agent arguments, power operations (each a POST and its wait)
CASES = (
    ("off", "off", (), 1),
    ("reboot, method onoff", "reboot", ("-m", "onoff"), 2),
    ("reboot, method cycle", "reboot", ("-m", "cycle"), 1),
)


def protocol_span(requests):
    """Seconds from the first request's arrival to the last one's answer."""
    first = min(entry["time"] for entry in requests)
    return max(entry["time"] + entry["duration"] for entry in requests) - first


def library_read_seconds(requests):
    """Time of the server reads before the first power POST: the fencing
    library's status check, which the limit does not need."""
    posts = [entry["time"] for entry in requests if request_kind(entry) == "POST"]
    if not posts:
        raise BenchError("the agent fenced a started server without a power POST")
    first_post = min(posts)
    return sum(entry["duration"] for entry in requests
               if request_kind(entry) == "GET" and entry["time"] < first_post)


def fence_once(sim, settings, action, extra):
    """(wall, protocol span, library read seconds) of one cold-cache run."""
    sim.set_server(TARGET, powerState="started")
    result, requests = run_logged(sim, settings, new_token_dir(), TARGET, action, extra)
    return result.seconds, protocol_span(requests), library_read_seconds(requests)


def time_row(sim, settings, name, action, extra, operations, repeats):
    round_trips = 1 + 2 * operations    # the login, then each operation's POST and confirming read
    limit = round_trips * sim.timing_settings()["latency"] + operations * operation_seconds(sim)
    runs = sorted(fence_once(sim, settings, action, extra) for _ in range(repeats))
    wall, span, library_get = runs[len(runs) // 2]   # the median run, for its breakdown
    polling = span - limit - library_get
    return Row(
        "%s (cold token)" % name, "<= %.2f s (limit+%.1f)" % (limit + SLACK, SLACK),
        "%.2f s" % wall, ratio=wall / limit, passed=wall <= limit + SLACK,
        detail="limit %.2f s = %d RTT + %d x %.2f s op; over it: start-up/exit %.2f s, "
               "library status GET %.2f s, polling/other %.2f s" % (
                   limit, round_trips, operations, operation_seconds(sim), wall - span,
                   library_get, polling),
        values={"wall": wall, "limit": limit, "startup_exit": wall - span,
                "library_get": library_get, "polling": polling,
                "walls": [run[0] for run in runs]})


def run(settings):
    sim = start_sim(settings)
    try:
        rows = [time_row(sim, settings, name, action, extra, operations, settings.repeats)
                for name, action, extra, operations in CASES]
        for seconds in settings.long_ops:   # one run each: poll intervals grow with time
            sim.configure(op_duration=seconds - settings.op_start_delay)
            rows.append(time_row(sim, settings, "off, %.0f s operation" % seconds,
                                 "off", (), 1, 1))
    finally:
        sim.stop()
    notes = [
        "median of %d runs (wall time of the whole agent process); ratio: wall / limit; "
        "long operations: one run each, whose polling waste depends on where the operation "
        "ends between two polls (at worst one poll interval + 1 RTT: the poll that sees it "
        "done)" % settings.repeats,
        "library status GET: fence_action reads the state before acting; justified, it "
        "answers 'Already OFF' for an off server without any POST (see section 2)",
        "power_wait defaults to 0 in the agent, so the library adds no sleep after on/off; "
        "stonith_status_sleep is unused on the synchronous path"]
    return Section("time_to_fence", "1. Time to fence (cold token cache)", rows, notes)
