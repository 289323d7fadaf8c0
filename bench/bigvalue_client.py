#!/usr/bin/env python3
"""bench/bigvalue.sh's client: SETs a value of random bytes and GETs it back,
--rounds times (--gap seconds apart); prints "set_ms|get_ms|ok_rounds|disk_mb" (medians over the
rounds that answered OK; disk_mb: MB the block device --disk-stat describes
wrote while the SET ran, "-" without one). With --wait N, each SET is
followed by WAIT N 0 (Redis)."""
import argparse
import os
import socket
import statistics
import sys
import time


def read_line(f):
    line = f.readline()
    if not line:
        sys.exit("the server closed the connection")
    return line


def sectors_written(path):
    """Sectors the device has written (field 7 of /sys/class/block/X/stat)."""
    if not path:
        return None
    try:
        with open(path) as f:
            return int(f.read().split()[6])
    except (OSError, IndexError, ValueError):
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mb", type=int, required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--wait", type=int, default=0)
    ap.add_argument("--gap", type=float, default=0.0)
    ap.add_argument("--disk-stat", default="")
    a = ap.parse_args()
    s = socket.create_connection(("127.0.0.1", a.port))
    f = s.makefile("rb")
    value = os.urandom(a.mb << 20)
    sets, gets, disk = [], [], []
    for r in range(a.rounds):
        if a.gap > 0:
            time.sleep(a.gap)
        key = b"bigvalue:%d" % r
        w0 = sectors_written(a.disk_stat)
        t0 = time.monotonic()
        s.sendall(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n" % (len(key), key, len(value)))
        s.sendall(value)
        s.sendall(b"\r\n")
        reply = read_line(f)
        if a.wait:
            s.sendall(b"*3\r\n$4\r\nWAIT\r\n$1\r\n%d\r\n$1\r\n0\r\n" % a.wait)
            read_line(f)
        t1 = time.monotonic()
        w1 = sectors_written(a.disk_stat)
        if reply != b"+OK\r\n":
            print("round %d: SET answered %r" % (r, reply[:120]), file=sys.stderr)
            continue
        s.sendall(b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(key), key))
        head = read_line(f)
        n = int(head[1:])
        got = f.read(n + 2)
        t2 = time.monotonic()
        if got[:-2] != value:
            sys.exit("round %d: GET returned other bytes" % r)
        sets.append((t1 - t0) * 1000)
        if w0 is not None and w1 is not None:
            disk.append((w1 - w0) * 512 / (1 << 20))
        gets.append((t2 - t1) * 1000)
        # the next round writes into the memory this one leaves
        s.sendall(b"*2\r\n$3\r\nDEL\r\n$%d\r\n%s\r\n" % (len(key), key))
        read_line(f)
    if not sets:
        print("-|-|0/%d|-" % a.rounds)
        return
    mb = "%d" % statistics.median(disk) if disk else "-"
    print("%d|%d|%d/%d|%s" % (statistics.median(sets), statistics.median(gets), len(sets), a.rounds, mb))


if __name__ == "__main__":
    main()
