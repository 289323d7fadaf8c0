#!/usr/bin/env python3
"""The writing client of bench/restart.sh (standard library only).

  restart_writer.py --ports P1,P2,P3 --ready FILE --stop FILE [--gap-ms 10]
                    [--gaps FILE]

INCRs the key restart:counter one write at a time on the primary (the node
whose ROLE says master), as an application would, until FILE --stop exists.
It creates --ready after its first 100 acknowledged writes.

A -READONLY or -MOVED reply was not applied: the writer looks the primary
up again and sends the same INCR there (no write lost, none failed). A
closed connection, a timeout (1 s), -TRYAGAIN or any other error is a
failed write: the client cannot know whether it was applied (each is
described on stderr: when, which node, what happened).

Prints one line of key=value pairs at the end:
  acked failed max_gap_ms total_gap_ms gaps
max_gap_ms: the longest time between two acknowledged writes (from the last
ack before the gap to the first after it); total_gap_ms: the sum of every
such gap longer than --gap-ms (a write normally takes well under 1 ms on
loopback); gaps: how many there were. With --gaps, each such gap is also
written to FILE as "start end" (wall-clock seconds, time.time()), so that
restart.sh can pick the ones that overlap a node's stop.
"""

import argparse
import os
import sys
import time

from resp import Conn, RespError

HOST = "127.0.0.1"


def find_primary(ports):
    for port in ports:
        try:
            c = Conn(HOST, port, timeout=0.5)
        except OSError:
            continue
        try:
            r = c.call("ROLE")
            if isinstance(r, list) and r and r[0] == b"master":
                c.settimeout(1.0)
                return c
        except OSError:
            pass
        c.close()
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ports", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--stop", required=True)
    ap.add_argument("--gap-ms", type=float, default=10.0)
    ap.add_argument("--limit-s", type=float, default=600.0)
    ap.add_argument("--gaps", default=None)
    args = ap.parse_args()
    ports = [int(p) for p in args.ports.split(",")]

    acked = failed = 0
    max_gap = total_gap = 0.0
    gaps = 0
    last = None
    last_wall = None
    gap_log = []
    why = []  # each failed write, for stderr
    conn = None
    deadline = time.monotonic() + args.limit_s
    while not os.path.exists(args.stop) and time.monotonic() < deadline:
        if conn is None:
            conn = find_primary(ports)
            if conn is None:
                time.sleep(0.001)
                continue
        try:
            r = conn.call("INCR", "restart:counter")
        except OSError as e:
            failed += 1
            why.append(f"{time.time():.3f} port {conn.addr[1]}: {type(e).__name__} {e}")
            conn.close()
            conn = None
            continue
        if isinstance(r, RespError):
            if r.code not in ("READONLY", "MOVED"):
                failed += 1
                why.append(f"{time.time():.3f} port {conn.addr[1]}: -{r.text}")
            conn.close()
            conn = None
            continue
        now = time.monotonic()
        if last is not None:
            gap = (now - last) * 1000
            max_gap = max(max_gap, gap)
            if gap > args.gap_ms:
                total_gap += gap
                gaps += 1
                gap_log.append((last_wall, time.time()))
        last = now
        last_wall = time.time()
        acked += 1
        if acked == 100:
            open(args.ready, "w").close()
    for w in why:
        print(f"failed write at {w}", file=sys.stderr)
    if args.gaps:
        with open(args.gaps, "w") as f:
            for a, b in gap_log:
                f.write(f"{a:.6f} {b:.6f}\n")
    print(f"acked={acked} failed={failed} max_gap_ms={max_gap:.1f} total_gap_ms={total_gap:.1f} gaps={gaps}")


if __name__ == "__main__":
    main()
