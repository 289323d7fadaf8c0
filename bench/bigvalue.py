#!/usr/bin/env python3
"""Big string values, for bench/bigvalue.sh (standard library only).

  bigvalue.py rw --port P [--wait R] --size B [--rounds N] [--term-ports P,P,P]
      N rounds of SET k <B bytes> (with --wait R followed by WAIT R 0, as a
      Redis primary with replicas acknowledges a write only to itself) and
      GET k. Prints one CSV line: write_p50_ms,write_max_ms,read_p50_ms,
      read_max_ms,errors,first_error,elections. With --term-ports, the Raft
      terms of those nodes (INFO replication, raft_term) before and after;
      elections = how far the highest moved.

  bigvalue.py stall --port P [--wait R] --piece B --total T [--seconds S]
      Builds a T-byte value by APPENDs of B bytes each (WAIT after each with
      --wait), then a slow client asks for it with GET and does not read for
      S seconds while another client runs SET/GET of a small key in a loop;
      then the slow client reads the whole reply and checks its length.
      Prints: build_s,probe_ops,probe_p50_ms,probe_max_ms,slow_read_s
"""

import argparse
import socket
import statistics
import sys
import time

from resp import Conn, RespError, encode


def terms(ports):
    out = []
    for p in ports:
        c = Conn("127.0.0.1", p, timeout=10)
        info = c.call("INFO", "replication")
        c.close()
        text = info.decode() if isinstance(info, bytes) else ""
        t = [line.split(":", 1)[1] for line in text.split("\r\n") if line.startswith("raft_term:")]
        out.append(int(t[0]) if t else 0)
    return out


def cmd_rw(a):
    ports = [int(p) for p in a.term_ports.split(",")] if a.term_ports else []
    before = terms(ports)
    c = Conn("127.0.0.1", a.port, timeout=60)
    value = bytes((97 + i % 26) for i in range(26)) * (a.size // 26 + 1)
    value = value[: a.size]
    writes, reads, errors, first = [], [], 0, ""
    # one round unmeasured: the first WAIT on a fresh Redis waits for its
    # replicas' first acknowledgement, not for this write
    warm = [("SET", "bigvalue:k", value)] + ([("WAIT", a.wait, 0)] if a.wait else [])
    c.pipeline(warm)
    for i in range(a.rounds):
        t0 = time.perf_counter()
        cmds = [("SET", "bigvalue:k", value)]
        if a.wait:
            cmds.append(("WAIT", a.wait, 0))
        replies = c.pipeline(cmds)
        writes.append((time.perf_counter() - t0) * 1000)
        bad = [r for r in replies if isinstance(r, RespError)]
        if bad or (a.wait and replies[-1] < a.wait):
            errors += 1
            first = first or (bad[0].text if bad else f"WAIT answered {replies[-1]}")
            continue
        t0 = time.perf_counter()
        got = c.call("GET", "bigvalue:k")
        reads.append((time.perf_counter() - t0) * 1000)
        if got != value:
            errors += 1
            first = first or "GET returned other bytes"
    c.call("DEL", "bigvalue:k")
    c.close()
    after = terms(ports)
    moved = max(after) - max(before) if ports else 0

    def p50(v):
        return f"{statistics.median(v):.1f}" if v else ""

    def mx(v):
        return f"{max(v):.1f}" if v else ""

    print(f"{p50(writes)},{mx(writes)},{p50(reads)},{mx(reads)},{errors},{first.replace(',', ';')[:80]},{moved}")


def cmd_stall(a):
    c = Conn("127.0.0.1", a.port, timeout=60)
    piece = b"x" * a.piece
    c.call("DEL", "bigvalue:huge")
    t0 = time.perf_counter()
    built = 0
    while built < a.total:
        cmds = [("APPEND", "bigvalue:huge", piece)]
        if a.wait:
            cmds.append(("WAIT", a.wait, 0))
        r = c.pipeline(cmds)
        if isinstance(r[0], RespError):
            sys.exit(f"APPEND failed: {r[0].text}")
        built = r[0]
    build_s = time.perf_counter() - t0

    slow = socket.create_connection(("127.0.0.1", a.port))
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
    slow.sendall(encode("GET", "bigvalue:huge"))
    probe = Conn("127.0.0.1", a.port, timeout=60)
    lat = []
    end = time.perf_counter() + a.seconds
    while time.perf_counter() < end:
        t = time.perf_counter()
        probe.call("SET", "bigvalue:small", "x")
        probe.call("GET", "bigvalue:small")
        lat.append((time.perf_counter() - t) * 1000)
        time.sleep(0.005)
    probe.close()
    t0 = time.perf_counter()
    want = len(b"$%d\r\n" % built) + built + 2
    got = 0
    while got < want:
        chunk = slow.recv(1 << 20)
        if not chunk:
            sys.exit("the slow reader's connection closed early")
        got += len(chunk)
    slow_s = time.perf_counter() - t0
    slow.close()
    c.call("DEL", "bigvalue:huge", "bigvalue:small")
    c.close()
    print(f"{build_s:.1f},{len(lat)},{statistics.median(lat):.2f},{max(lat):.1f},{slow_s:.1f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    rw = sub.add_parser("rw")
    rw.add_argument("--port", type=int, required=True)
    rw.add_argument("--wait", type=int, default=0)
    rw.add_argument("--size", type=int, required=True)
    rw.add_argument("--rounds", type=int, default=10)
    rw.add_argument("--term-ports", default="")
    st = sub.add_parser("stall")
    st.add_argument("--port", type=int, required=True)
    st.add_argument("--wait", type=int, default=0)
    st.add_argument("--piece", type=int, required=True)
    st.add_argument("--total", type=int, required=True)
    st.add_argument("--seconds", type=float, default=2.0)
    a = ap.parse_args()
    (cmd_rw if a.cmd == "rw" else cmd_stall)(a)


if __name__ == "__main__":
    main()
