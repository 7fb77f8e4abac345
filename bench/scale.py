"""Section 4: a large account. list/list-status must cost one request for
the data centers plus one per data center; status must not grow with the
account's size."""

from statistics import median

from common import TARGET, BenchError, generated_world, new_token_dir, run_logged, start_sim
from report import Row, Section

LIST_SECONDS = 2.0
STATUS_GROWTH = 1.2     # noise allowance: status should cost the same
STATUS_RUNS = 5


def list_row(sim, settings, token_dir, action, cache):
    result, requests = run_logged(sim, settings, token_dir, None, action)
    listed = len(result.stdout.splitlines())
    if listed != settings.servers:
        raise BenchError("-o %s listed %d of %d servers" % (action, listed, settings.servers))
    most = 1 + settings.datacenters + (1 if cache == "cold" else 0)
    ok = len(requests) <= most and result.seconds <= LIST_SECONDS
    return Row("-o %s (%s)" % (action, cache), "<=%d req, <=%.1f s" % (most, LIST_SECONDS),
               "%d req, %.2f s" % (len(requests), result.seconds),
               ratio=result.seconds / LIST_SECONDS, passed=ok,
               values={"requests": len(requests), "seconds": result.seconds})


def status_seconds(sim, settings, token_dir, plug):
    result, requests = run_logged(sim, settings, token_dir, plug, "status")
    return result.seconds, len(requests)


def status_row(big, big_plug, small, settings):
    """Warm status on the big account against the tests' small world, alternating."""
    big_dir, small_dir = new_token_dir(), new_token_dir()
    status_seconds(big, settings, big_dir, big_plug)       # fills the caches
    status_seconds(small, settings, small_dir, TARGET)
    big_runs, small_runs = [], []
    for _ in range(STATUS_RUNS):
        big_runs.append(status_seconds(big, settings, big_dir, big_plug))
        small_runs.append(status_seconds(small, settings, small_dir, TARGET))
    big_time, small_time = median([r[0] for r in big_runs]), median([r[0] for r in small_runs])
    requests = max(r[1] for r in big_runs + small_runs)
    return Row("-o status, %d vs %d servers" % (big.server_count(), small.server_count()),
               "<= %.1fx, 1 req" % STATUS_GROWTH,
               "%.0f ms vs %.0f ms, %d req" % (big_time * 1000, small_time * 1000, requests),
               ratio=big_time / small_time,
               passed=big_time / small_time <= STATUS_GROWTH and requests == 1,
               values={"big_seconds": big_time, "small_seconds": small_time,
                       "requests": requests})


def run(settings):
    world = generated_world(settings.servers, settings.datacenters, settings.groups)
    big = start_sim(settings, world)
    small = start_sim(settings)
    try:
        warm_dir = new_token_dir()   # the cold run fills it
        rows = [list_row(big, settings, warm_dir, "list", "cold"),
                list_row(big, settings, warm_dir, "list", "warm"),
                list_row(big, settings, warm_dir, "list-status", "warm"),
                status_row(big, world["servers"][0]["id"], small, settings)]
    finally:
        big.stop()
        small.stop()
    notes = ["account of %d servers in %d data centers and %d groups; the cold run also "
             "logs in (+1 request); status: median of %d warm runs each"
             % (settings.servers, settings.datacenters, settings.groups, STATUS_RUNS),
             "ratio: seconds / the %.1f s goal for lists; big account / small one for status"
             % LIST_SECONDS]
    return Section("scale", "4. Scale", rows, notes)
