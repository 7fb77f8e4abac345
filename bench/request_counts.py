"""Section 2: requests per action, read from the simulator's request log,
with a cold (empty) and a warm (filled) token cache."""

from common import (TARGET, count_kinds, describe_counts, new_token_dir, run_logged,
                    start_sim)
from report import Row, Section

# name, agent arguments, the server's power state before, cache, most requests allowed
CASES = (
    ("status", "status", (), "started", "warm", {"total": 1}),
    ("status", "status", (), "started", "cold", {"login": 1, "total": 2}),
    ("monitor", "monitor", (), "started", "warm", {"total": 1}),
    ("off", "off", (), "started", "warm", {"login": 0, "POST": 1, "GET": 2}),
    ("off", "off", (), "started", "cold", {"login": 1, "POST": 1, "GET": 2}),
    ("off, server already off", "off", (), "stopped", "warm", {"total": 1}),
    ("reboot, method onoff", "reboot", ("-m", "onoff"), "started", "warm",
     {"login": 0, "POST": 2, "GET": 3}),
    ("reboot, method cycle", "reboot", ("-m", "cycle"), "started", "warm",
     {"login": 0, "POST": 1, "GET": 2}),
)


def within(counts, limits):
    total = sum(counts.values())
    return all((total if kind == "total" else counts.get(kind, 0)) <= most
               for kind, most in limits.items())


def count_row(sim, settings, warm_dir, case):
    name, action, extra, power, cache, limits = case
    sim.set_server(TARGET, powerState=power)
    token_dir = warm_dir if cache == "warm" else new_token_dir()
    _, requests = run_logged(sim, settings, token_dir, TARGET, action, extra, ok=(0, 2))
    counts = count_kinds(requests)
    return Row("%s (%s)" % (name, cache),
               ", ".join("%s<=%d" % item for item in limits.items()),
               "%d: %s" % (len(requests), describe_counts(counts)),
               passed=within(counts, limits), values=dict(counts, total=len(requests)))


def run(settings):
    sim = start_sim(settings)
    warm_dir = new_token_dir()
    try:
        run_logged(sim, settings, warm_dir, TARGET, "status", ok=(0, 2))  # fills the cache
        rows = [count_row(sim, settings, warm_dir, case) for case in CASES]
    finally:
        sim.stop()
    notes = ["GET: reads of the server record, including the library's status read before "
             "acting (1 per off/reboot; it spares the POST for a server already off, see "
             "'off, server already off') and the agent's confirming reads (1 per operation)",
             "poll: reads of the operation's status link; their number grows with the "
             "operation's duration (section 1 shows what they cost in time)"]
    return Section("requests", "2. Requests per action", rows, notes)
