"""Command line: run a CLC v2 API simulator until SIGTERM/SIGINT."""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading

from .faults import KINDS
from .simulator import Simulator
from .world import generate_config

DESCRIPTION = """\
Serve a simulated CenturyLink Cloud v2 API (login, servers, power operations,
operation status, data centers, groups), for testing fence_clc.

On start, prints one line: "clcsim listening on URL" (plus " ca=PATH" with
--tls, the CA certificate a client must trust). Steer it at run time through
the /_sim/ control endpoints (faults, request log, server state, tokens,
timing); see clcsim/README.md.
"""

EPILOG = """\
examples:
  python3 -m clcsim --port 8443 --tls
  python3 -m clcsim --servers 5000 --datacenters 3 --groups 200
  python3 -m clcsim --fault '{"kind": "status", "status": 503, "path": "/login", "count": 2}'
  python3 -m clcsim --on-power-change 'echo "$CLCSIM_SERVER_ID is $CLCSIM_POWER_STATE"'

default world (no --config/--servers): account ACCT (sub-account SUBA),
user admin@acct, password s3cret-Passw0rd, data centers UC1 and VA1.
"""


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python3 -m clcsim", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default 0: any free port)")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS, with a certificate from a CA made at start")
    world = parser.add_argument_group("world (default: a small built-in world)")
    world.add_argument("--config", metavar="FILE.json", help="load accounts, data centers, groups, servers")
    world.add_argument("--servers", type=int, metavar="N", help="generate N servers in account ACCT")
    world.add_argument("--datacenters", type=int, default=1, metavar="D",
                       help="with --servers: spread over D data centers (default 1)")
    world.add_argument("--groups", type=int, default=0, metavar="G",
                       help="with --servers: and over G nested groups (default 0)")
    timing = parser.add_argument_group("timing (seconds)")
    timing.add_argument("--latency", type=float, default=0.0, metavar="S",
                        help="added to every API request (default 0)")
    timing.add_argument("--op-duration", type=float, default=0.5, metavar="S",
                        help="how long a power operation is executing (default 0.5)")
    timing.add_argument("--op-start-delay", type=float, default=0.05, metavar="S",
                        help="how long an operation is notStarted first (default 0.05)")
    timing.add_argument("--record-lag", type=float, default=0.0, metavar="S",
                        help="how long the server record lags an operation's success (default 0)")
    timing.add_argument("--token-ttl", type=float, default=14 * 86400, metavar="S",
                        help="bearer token lifetime (default 1209600: 14 days)")
    parser.add_argument("--fault", action="append", default=[], metavar="JSON",
                        help='inject a fault at start, e.g. \'{"kind": "hang", "path": "/status/"}\' '
                             "(repeatable); kinds: " + ", ".join(KINDS))
    parser.add_argument("--ready-file", metavar="PATH",
                        help='once listening, write {"url", "ca_file", "pid"} there atomically')
    parser.add_argument("--on-power-change", metavar="CMD",
                        help="shell command run when a server's power state changes, with "
                             "CLCSIM_SERVER_ID and CLCSIM_POWER_STATE in its environment")
    args = parser.parse_args(argv)
    if args.config and args.servers is not None:
        parser.error("use either --config or --servers, not both")
    return args


def load_world(args):
    if args.servers is not None:
        return generate_config(args.servers, args.datacenters, args.groups)
    if args.config:
        with open(args.config) as config_file:
            return json.load(config_file)
    return None


def power_change_hook(command):
    """A callback that runs `command` through the shell without waiting for it."""
    def run(server_id, state):
        env = dict(os.environ, CLCSIM_SERVER_ID=server_id, CLCSIM_POWER_STATE=state)
        child = subprocess.Popen(command, shell=True, env=env)
        threading.Thread(target=child.wait, daemon=True).start()  # reap it, never block on it
    return run


def write_ready_file(path, sim):
    temporary = "%s.%d.tmp" % (path, os.getpid())
    with open(temporary, "w") as ready:
        json.dump({"url": sim.url, "ca_file": sim.ca_file, "pid": os.getpid()}, ready)
    os.replace(temporary, path)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        sim = Simulator(config=load_world(args), tls=args.tls, latency=args.latency,
                        op_duration=args.op_duration, op_start_delay=args.op_start_delay,
                        record_lag=args.record_lag, token_ttl=args.token_ttl,
                        host=args.host, port=args.port,
                        on_power_change=power_change_hook(args.on_power_change) if args.on_power_change else None)
        for spec in args.fault:
            sim.add_fault(**json.loads(spec))
    except (OSError, ValueError, TypeError) as err:
        print("clcsim: %s" % err, file=sys.stderr)
        return 2
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    sim.start()
    if args.ready_file:
        write_ready_file(args.ready_file, sim)
    print("clcsim listening on %s%s" % (sim.url, " ca=%s" % sim.ca_file if sim.ca_file else ""), flush=True)
    while not stopping.wait(0.1):
        pass
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
