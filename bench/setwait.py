#!/usr/bin/env python3
"""Write load for bench/cluster.sh: what redis-benchmark cannot do.

  setwait.py load --port P [--keys N] [--size B]
      SET key:000000000000 .. key:<N-1> (redis-benchmark's key names for
      -r N) to a B-byte value, pipelined 1000 at a time, so that GETs with
      -r N all hit. Prints nothing; exits 1 on any error reply.

  setwait.py run --port P [--requests N] [--clients C] [--keyspace K]
                 [--size B] [--wait R]
      C connections, each with one operation in flight at a time; an
      operation is `SET key:<random below K> <B bytes>`, and with --wait R
      also `WAIT R 0` sent in the same write (so the operation completes when
      R replicas hold the write). Runs N operations in all and prints one CSV
      line: ops_per_s,p50_ms,p99_ms,errors,first_error
      (latency = from sending an operation to its last reply).

A single thread drives every connection with selectors, so the client costs
the same per operation against either server. Standard library only.
"""

import argparse
import random
import selectors
import socket
import sys
import time

from resp import Conn, RespError, encode


def positive_int(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def key_name(i):
    # redis-benchmark's "key:__rand_int__" with -r: 12 digits, zero-padded.
    return b"key:%012d" % i


def load(args):
    value = b"x" * args.size
    c = Conn(args.host, args.port, timeout=60)
    batch = 1000
    for start in range(0, args.keys, batch):
        cmds = [(b"SET", key_name(i), value) for i in range(start, min(start + batch, args.keys))]
        for reply in c.pipeline(cmds):
            if isinstance(reply, RespError) or reply != b"OK":
                sys.exit(f"setwait.py load: SET answered {reply!r}")
    c.close()


class Client:
    __slots__ = ("sock", "inbuf", "lines", "sent_at")

    def __init__(self, sock):
        self.sock = sock
        self.inbuf = b""
        self.lines = 0  # reply lines received for the operation in flight
        self.sent_at = 0.0


def run(args):
    value = args.value = b"x" * args.size
    # Every reply to SET and WAIT is a single line (+OK, :2, -ERR ...), so an
    # operation is complete once it has `expect` lines.
    tail = b"\r\n$%d\r\n%s\r\n" % (len(value), value)
    wait = encode(b"WAIT", str(args.wait), b"0") if args.wait else b""
    expect = 2 if args.wait else 1
    head = b"*3\r\n$3\r\nSET\r\n$16\r\n"
    rand = random.Random(12345).randrange
    keyspace = args.keyspace

    def request():
        return head + key_name(rand(keyspace)) + tail + wait

    sel = selectors.DefaultSelector()
    clients = []
    for _ in range(args.clients):
        s = socket.create_connection((args.host, args.port), timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        cl = Client(s)
        clients.append(cl)
        sel.register(s, selectors.EVENT_READ, cl)

    latencies = []
    errors = 0
    first_error = ""
    issued = 0
    done = 0
    total = args.requests
    clock = time.perf_counter
    deadline = time.monotonic() + args.timeout

    started = clock()
    for cl in clients:
        if issued < total:
            cl.sent_at = clock()
            cl.sock.sendall(request())
            issued += 1
    while done < total:
        events = sel.select(1.0)
        if not events and time.monotonic() > deadline:
            sys.exit(f"setwait.py run: no progress, {done}/{total} operations done after {args.timeout}s")
        for key, _ in events:
            cl = key.data
            try:
                data = cl.sock.recv(1 << 16)
            except BlockingIOError:
                continue
            if not data:
                sys.exit(f"setwait.py run: the server closed a connection ({done}/{total} done)")
            buf = cl.inbuf + data
            n = buf.count(b"\r\n")
            if n:
                cut = buf.rfind(b"\r\n") + 2
                complete, cl.inbuf = buf[:cut], buf[cut:]
                if b"-" in complete:
                    for line in complete.split(b"\r\n"):
                        if line.startswith(b"-"):
                            errors += 1
                            if not first_error:
                                first_error = line[1:].decode(errors="replace")
                cl.lines += n
            else:
                cl.inbuf = buf
            if cl.lines >= expect:
                if cl.lines > expect:
                    sys.exit("setwait.py run: more replies than requests (one connection, one operation in flight)")
                now = clock()
                latencies.append(now - cl.sent_at)
                done += 1
                cl.lines = 0
                if issued < total:
                    cl.sent_at = now
                    cl.sock.sendall(request())
                    issued += 1
    elapsed = clock() - started
    for cl in clients:
        sel.unregister(cl.sock)
        cl.sock.close()

    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p / 100.0 * len(latencies)))] * 1000.0

    first_error = first_error.replace(",", ";")
    print(f"{total / elapsed:.1f},{pct(50):.3f},{pct(99):.3f},{errors},{first_error}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    lp = sub.add_parser("load")
    lp.add_argument("--host", default="127.0.0.1")
    lp.add_argument("--port", type=positive_int, required=True)
    lp.add_argument("--keys", type=positive_int, default=100000)
    lp.add_argument("--size", type=positive_int, default=64)
    rp = sub.add_parser("run")
    rp.add_argument("--host", default="127.0.0.1")
    rp.add_argument("--port", type=positive_int, required=True)
    rp.add_argument("--requests", type=positive_int, default=200000)
    rp.add_argument("--clients", type=positive_int, default=50)
    rp.add_argument("--keyspace", type=positive_int, default=100000)
    rp.add_argument("--size", type=positive_int, default=64)
    rp.add_argument("--wait", type=int, default=0, help="replicas for WAIT (0: no WAIT)")
    rp.add_argument("--timeout", type=float, default=60.0, help="give up after this many seconds without a reply")
    args = ap.parse_args()
    if args.mode == "load":
        load(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
