"""A client that writes while the test shuts nodes down, as an application
would with redis-py: INCR of one counter in a loop against the primary; a
redirect (-READONLY) or a closed connection sends it to whichever node is
the primary now. It runs until the file STOP exists, then prints one line:

  acked=N tryagain=N other=N max_gap_ms=F

acked: INCRs answered with an integer; tryagain: -TRYAGAIN answers (a write
of unknown outcome, what a planned shutdown must never cause); other: any
other error; max_gap_ms: the longest time between two acknowledged writes.
Usage: shutdown_writer.py STOP port [port ...]
TC_WRITER_SECONDS (default 60) bounds its run if STOP never appears."""
import os
import sys
import time

import redis


def primary(ports):
    """A connection to the node whose ROLE says master, or None. Asking is
    quick (a node that is down refuses at once); the connection it returns
    waits long for its answers: an INCR that timed out would have an
    unknown outcome, which this client could not count either way."""
    for p in ports:
        try:
            r = redis.Redis(port=p, socket_timeout=0.5, socket_connect_timeout=0.5)
            if r.execute_command("ROLE")[0] in (b"master", "master"):
                return redis.Redis(port=p, socket_timeout=30, socket_connect_timeout=0.5)
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
            pass
    return None


def main():
    stop, ports = sys.argv[1], [int(p) for p in sys.argv[2:]]
    acked = tryagain = other = 0
    max_gap = 0.0
    last_ack = time.monotonic()
    conn = None
    # bounded even if the test never stops it
    deadline = time.monotonic() + float(os.environ.get("TC_WRITER_SECONDS", "60"))
    while not os.path.exists(stop) and time.monotonic() < deadline:
        if conn is None:
            conn = primary(ports)
            if conn is None:
                time.sleep(0.002)
                continue
        try:
            conn.incr("counter")
            now = time.monotonic()
            max_gap = max(max_gap, now - last_ack)
            last_ack = now
            acked += 1
        except redis.ReadOnlyError:
            conn = None  # a redirect: the primary moved
        except redis.TimeoutError:
            other += 1  # 30 s without an answer: an unknown outcome
            print("error: an INCR timed out", file=sys.stderr)
            conn = None
        except redis.ConnectionError:
            conn = None  # the node closed; find the new primary
        except redis.ResponseError as e:
            if str(e).startswith("TRYAGAIN"):
                tryagain += 1
                # when, and from which node: to match against the nodes' logs
                print(f"tryagain at {time.strftime('%H:%M:%S')}.{int(time.time() * 1000) % 1000:03d} "
                      f"from port {conn.connection_pool.connection_kwargs['port']}: {e}", file=sys.stderr)
            else:
                other += 1
                print(f"error: {e}", file=sys.stderr)
    print(f"acked={acked} tryagain={tryagain} other={other} max_gap_ms={max_gap * 1000:.1f}")


if __name__ == "__main__":
    main()
