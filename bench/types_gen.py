#!/usr/bin/env python3
"""Write RESP command streams for bench/types.sh to stdout, for redis-cli --pipe.

  types_gen.py zset KEY N          ZADDs of 1000: N members "member:<i>", scores spread over the order
  types_gen.py lex KEY N           ZADDs of 1000: N members "m:<12 digits>", all score 0 (for BYLEX)
  types_gen.py hashes N FIELDS     N hashes "h:<i>", each one HSET of FIELDS short fields and values
  types_gen.py sets N MEMBERS      N sets "s:<i>", each one SADD of MEMBERS short string members

Deterministic (a fixed seed), so both servers get the same data. Standard library only.
"""

import random
import sys

BATCH = 1000


def bulk(s):
    b = s.encode() if isinstance(s, str) else s
    return b"$%d\r\n%s\r\n" % (len(b), b)


def command(args):
    return b"*%d\r\n" % len(args) + b"".join(bulk(a) for a in args)


def emit_zadds(out, key, members):
    """members: list of (score, member) strings; ZADDs of BATCH."""
    for i in range(0, len(members), BATCH):
        args = ["ZADD", key]
        for score, m in members[i:i + BATCH]:
            args += [score, m]
        out.write(command(args))


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    kind, out, rng = sys.argv[1], sys.stdout.buffer, random.Random(42)
    if kind == "zset":
        key, n = sys.argv[2], int(sys.argv[3])
        for i in range(0, n, BATCH):
            chunk = [(str(rng.randrange(10**9)), "member:%d" % j) for j in range(i, min(n, i + BATCH))]
            emit_zadds(out, key, chunk)
    elif kind == "lex":
        key, n = sys.argv[2], int(sys.argv[3])
        # the same 12-digit form redis-benchmark's __rand_int__ takes with -r 1000000
        for i in range(0, n, BATCH):
            chunk = [("0", "m:%012d" % rng.randrange(10**6)) for _ in range(i, min(n, i + BATCH))]
            emit_zadds(out, key, chunk)
    elif kind == "hashes":
        n, fields = int(sys.argv[2]), int(sys.argv[3])
        for i in range(n):
            args = ["HSET", "h:%d" % i]
            for f in range(fields):
                args += ["f%d" % f, "v%d" % rng.randrange(10**6)]
            out.write(command(args))
    elif kind == "sets":
        n, members = int(sys.argv[2]), int(sys.argv[3])
        for i in range(n):
            out.write(command(["SADD", "s:%d" % i] + ["tag%d" % t for t in rng.sample(range(1000), members)]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
