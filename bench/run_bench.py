#!/usr/bin/python3
"""make bench: fence_clc's speed side by side with its limits.

Runs the agent as a real process against the bundled CLC simulator with
injected latency, prints one table per section (goal, measured, ratio,
pass/fail) and writes the same as JSON. Absolute times on a shared machine
are noise; the ratios from one run are the result.

    /usr/bin/python3 bench/run_bench.py [--smoke] [--output FILE] [--latency S]
"""

import argparse
import os
import sys
import time

import common
from report import print_report, write_json

import concurrency
import request_counts
import scale
import startup
import time_to_fence

SECTIONS = {"time": time_to_fence, "requests": request_counts, "startup": startup,
            "scale": scale, "concurrency": concurrency}
DEFAULT_OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.json")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes and no latency: proves the benchmark runs (for tests)")
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help="JSON results file")
    parser.add_argument("--latency", type=float, help="injected round trip per request, s")
    parser.add_argument("--agent", default=common.AGENT,
                        help="the agent to measure (e.g. a modified copy)")
    parser.add_argument("--only", action="append", choices=sorted(SECTIONS),
                        help="run only this section (repeatable)")
    return parser.parse_args(argv)


def settings_from(args):
    settings = common.Settings.smoke(args.agent) if args.smoke else common.Settings(agent=args.agent)
    if args.latency is not None:
        settings.latency = args.latency
    return settings


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    settings = settings_from(args)
    started = time.monotonic()
    try:
        sections = [module.run(settings) for name, module in SECTIONS.items()
                    if not args.only or name in args.only]
    except common.BenchError as ex:
        print("bench: cannot measure: %s" % ex, file=sys.stderr)
        return 1
    write_json(args.output, sections, settings, time.monotonic() - started)
    print_report(sections, settings)
    print("results in %s (%.0f s)" % (args.output, time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
