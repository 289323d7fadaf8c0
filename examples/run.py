#!/usr/bin/python3
"""Runs every caching pattern end to end: starts PostgreSQL and a
three-node tricache cluster in a temp dir, loads the sample data, runs each
pattern (with a kill -9 of the primary in the middle of four of them),
prints what each measured, and stops everything.

  examples/run.py            the full run (a few thousand requests per pattern)
  examples/run.py --quick    a short stream (what CI runs)
  examples/run.py --check    also assert what the patterns claim; exit 1 if not
  --tricache PATH            the server binary (default: build/tricache, or $TC_BINARY)
  --only NAME[,NAME]         run some patterns only (for example lazy_loading)
  --read-consistency MODE    linearizable (default), lease or local: what a read on the primary waits for
"""
import argparse
import json
import os
import signal
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import autocomplete  # noqa: E402
import infra  # noqa: E402
import invalidation  # noqa: E402
import lazy_loading  # noqa: E402
import leaderboard  # noqa: E402
import sessions  # noqa: E402
import write_through  # noqa: E402
from common import load_sample_data  # noqa: E402


def show(name, res, indent=2):
    print(f"{' ' * indent}{name}:")
    for k, v in res.items():
        if isinstance(v, dict):
            show(k, v, indent + 4)
        else:
            print(f"{' ' * (indent + 4)}{k}: {json.dumps(v) if not isinstance(v, (int, float)) else v}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--check", action="store_true")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--tricache", default=os.environ.get("TC_BINARY", os.path.join(here, "..", "build", "tricache")))
    ap.add_argument("--only", default="")
    ap.add_argument("--read-consistency", default="linearizable", choices=["linearizable", "lease", "local"],
                    help="the cluster's read_consistency (README: Configuration)")
    args = ap.parse_args()
    if not os.access(args.tricache, os.X_OK):
        sys.exit(f"no tricache binary at {args.tricache}: run scripts/build.sh first")
    if not os.access(infra.PG_BIN + "/postgres", os.X_OK):
        sys.exit(f"no PostgreSQL at {infra.PG_BIN}: run scripts/install-deps.sh")
    # A SIGTERM (ctest timeout, Ctrl-C from a wrapper) unwinds through the
    # World's exit, which stops every process this run started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    n_products, n_requests = (300, 600) if args.quick else (2000, 5000)
    patterns = [
        ("lazy_loading", lambda w: lazy_loading.run(w, n_requests, n_products), lazy_loading.check),
        ("write_through", lambda w: write_through.run(w, n_requests // 2, n_products), write_through.check),
        ("invalidation", lambda w: invalidation.run(w, n_requests // 2, n_products), invalidation.check),
        ("sessions", lambda w: sessions.run(w, 50 if args.quick else 500), sessions.check),
        ("autocomplete", lambda w: autocomplete.run(w, n_products), autocomplete.check),
        ("leaderboard", lambda w: leaderboard.run(w, 40, 400 if args.quick else 3000), leaderboard.check),
    ]
    only = set(filter(None, args.only.split(",")))
    failures = []
    with infra.World(args.tricache, args.read_consistency) as world:
        print(f"world in {world.dir}")
        print(f"PostgreSQL on 127.0.0.1:{world.pg_port}, tricache nodes on "
              f"{', '.join(f'127.0.0.1:{p}' for p in world.node_ports.values())}")
        load_sample_data(world, n_products)
        for name, run, check in patterns:
            if only and name not in only:
                continue
            t = time.monotonic()
            try:
                res = run(world)
                show(f"{name} ({time.monotonic() - t:.1f} s)", res)
                if args.check:
                    check(res)
            except Exception:
                failures.append(name)
                print(f"  {name}: FAILED")
                traceback.print_exc()
                # A pattern that failed after its kill -9 leaves a node down:
                # bring it back so the next pattern starts from three.
                for i in world.node_ports:
                    if world.procs[f"node{i}"].poll() is not None:
                        world.start_node(i)
        infra.wait_until("the nodes' DEBUG DIGEST to agree", world.converged)
        print("  every node holds the same data (DEBUG DIGEST equal)")
    if failures:
        print("failed: " + ", ".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
