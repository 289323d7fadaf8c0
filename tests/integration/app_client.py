"""An application on redis-py (Debian's python3-redis) against a three-node
tricache cluster, through a primary kill. Run by test_app_client:

  app_client.py MARKER PORT PORT PORT

1. Before any fault, each pattern is checked exactly: a pipeline() with its
   default transaction=True (MULTI/EXEC), a WATCH/MULTI retry loop of two
   clients contending on one counter (final value == successful
   transactions), a hash-backed session (HSET/HGETALL/HINCRBY, EXPIRE
   refreshed on each request), a leaderboard (ZINCRBY, ZREVRANGE WITHSCORES,
   ZRANK), a job queue (LPUSH, BRPOP, the LMOVE reliable-queue pattern).
2. The steady part: leaderboard increments, queue pushes and workers, session
   requests. After a while it writes MARKER (the test then kills the primary
   with SIGKILL) and goes on, finding the new primary with ROLE on each
   node, until it has done enough work against a new primary.
3. The same exact checks run again on the new primary, and nothing that was
   acknowledged is missing: each player's score is at least the sum of its
   acknowledged increments (at most the sum of all attempted ones), and
   every acknowledged job is in exactly one of the queue's lists.

Outcomes: -READONLY/-MOVED means not applied; a lost connection, a timeout
or -TRYAGAIN leave it unknown (never retried, so never applied twice).
Prints "ok" and exits 0, or exits with a message.
"""
import os
import sys
import threading
import time

import redis
from redis.exceptions import ConnectionError, ReadOnlyError, ResponseError, TimeoutError, WatchError

HOST = "127.0.0.1"
DEADLINE_S = 90          # the whole run, far above what it needs
BEFORE_KILL_OPS = 60     # steady ops before the marker is written
AFTER_FAILOVER_OPS = 80  # steady ops acknowledged by the new primary


def fail(msg):
    sys.exit(f"app_client: {msg}")


def expect(what, got, want):
    if got != want:
        fail(f"{what}: got {got!r}, expected {want!r}")


class Unknown(Exception):
    """The command may or may not have been applied."""


class NotApplied(Exception):
    """The node refused the command before applying it."""


class Cluster:
    """The application's view: one connection to the node that says it is
    the primary, found again with ROLE after a failure."""

    def __init__(self, ports):
        self.ports = ports
        self.port = None
        self.r = None
        self.primaries = []  # every port the client took for the primary, in order
        self.find_primary()

    def find_primary(self, deadline_s=30):
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            for port in self.ports:
                try:
                    c = redis.Redis(host=HOST, port=port, socket_timeout=2, socket_connect_timeout=1)
                    if c.execute_command("ROLE")[0] in (b"master", "master"):
                        self.port, self.r = port, c
                        if not self.primaries or self.primaries[-1] != port:
                            self.primaries.append(port)
                        return
                    c.close()
                except (ConnectionError, TimeoutError, ResponseError):
                    pass
            time.sleep(0.05)
        fail("no node says it is the primary")

    def call(self, fn):
        """fn(redis) once. Unknown or NotApplied after a failure (the primary
        is looked up again before the next call)."""
        try:
            return fn(self.r)
        except (ReadOnlyError,) as e:
            self.find_primary()
            raise NotApplied(str(e))
        except ResponseError as e:
            text = str(e)
            if text.startswith(("MOVED", "READONLY")):
                self.find_primary()
                raise NotApplied(text)
            if text.startswith("TRYAGAIN"):
                self.find_primary()
                raise Unknown(text)
            raise
        except (ConnectionError, TimeoutError) as e:
            self.find_primary()
            raise Unknown(str(e))

    def read(self, fn, deadline_s=20):
        """A read, retried (reads change nothing) until it succeeds."""
        deadline = time.monotonic() + deadline_s
        while True:
            try:
                return self.call(fn)
            except (Unknown, NotApplied):
                if time.monotonic() > deadline:
                    raise


def exact_checks(cl, tag):
    """Each pattern once, with exact expectations; cl's primary must stay up."""
    r = cl.r
    # pipeline(): transaction=True by default, so MULTI ... EXEC, one result each
    p = r.pipeline()
    p.set(f"{tag}:tx:a", "1")
    p.incr(f"{tag}:tx:n")
    p.rpush(f"{tag}:tx:log", "first", "second")
    p.hset(f"{tag}:tx:h", mapping={"x": "1", "y": "2"})
    p.get(f"{tag}:tx:a")
    expect("pipeline results", p.execute(), [True, 1, 2, 2, b"1"])
    expect("pipeline is transactional", r.pipeline().transaction, True)

    # WATCH/MULTI optimistic retry loop, two clients contending on one counter
    key = f"{tag}:counter"
    r.set(key, 0)
    per_client = 60
    results = {}

    def worker(name):
        c = redis.Redis(host=HOST, port=cl.port, socket_timeout=5)
        ok = conflicts = 0
        while ok < per_client:
            with c.pipeline() as pipe:
                try:
                    pipe.watch(key)
                    value = int(pipe.get(key))
                    pipe.multi()
                    pipe.set(key, value + 1)
                    pipe.execute()
                    ok += 1
                except WatchError:
                    conflicts += 1
        results[name] = (ok, conflicts)

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        if t.is_alive():
            fail("a WATCH/MULTI worker did not finish")
    successes = sum(ok for ok, _ in results.values())
    expect("WATCH counter", int(r.get(key)), successes)
    expect("WATCH successes", successes, 2 * per_client)
    print(f"{tag}: WATCH/MULTI: {successes} transactions, "
          f"{sum(c for _, c in results.values())} retried after a conflict", flush=True)

    # a session in a hash: TTL refreshed on every request
    skey = f"{tag}:session:42"
    r.hset(skey, mapping={"user": "alice", "visits": 0, "cart": ""})
    r.expire(skey, 30)
    for i in range(5):
        r.hincrby(skey, "visits", 1)
        r.expire(skey, 30)
    expect("session", r.hgetall(skey), {b"user": b"alice", b"visits": b"5", b"cart": b""})
    ttl = r.ttl(skey)
    if not 0 < ttl <= 30:
        fail(f"session TTL {ttl}")
    r.expire(skey, 1000)
    if r.ttl(skey) <= 30:
        fail("EXPIRE did not refresh the session's TTL")

    # a leaderboard
    bkey = f"{tag}:board"
    for player, points in (("ann", 10), ("bob", 25), ("cy", 5), ("ann", 20), ("cy", 1.5)):
        r.zincrby(bkey, points, player)
    expect("leaderboard top", r.zrevrange(bkey, 0, 1, withscores=True), [(b"ann", 30.0), (b"bob", 25.0)])
    expect("rank of cy", r.zrank(bkey, "cy"), 0)
    expect("reverse rank of ann", r.zrevrank(bkey, "ann"), 0)

    # a job queue: BRPOP wakes on a push from another client
    qkey = f"{tag}:wake"
    got = {}

    def waiter():
        c = redis.Redis(host=HOST, port=cl.port, socket_timeout=10)
        got["v"] = c.brpop(qkey, timeout=0)  # blocks until a push

    t = threading.Thread(target=waiter, daemon=True)
    t.start()
    # push once the waiter is blocked (either way BRPOP must return the job)
    deadline = time.monotonic() + 5
    while r.info("clients")["blocked_clients"] < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    r.lpush(qkey, "job-1")
    t.join(timeout=10)
    expect("BRPOP", got.get("v"), (qkey.encode(), b"job-1"))
    # the reliable queue: LMOVE into a processing list, LREM when done
    jobs, proc = f"{tag}:jobs", f"{tag}:processing"
    r.lpush(jobs, "j1", "j2", "j3")
    expect("LMOVE", r.lmove(jobs, proc, "RIGHT", "LEFT"), b"j1")
    expect("processing", r.lrange(proc, 0, -1), [b"j1"])
    expect("LREM", r.lrem(proc, 1, "j1"), 1)
    expect("queue left", r.lrange(jobs, 0, -1), [b"j3", b"j2"])


class Steady:
    """Leaderboard increments, queue pushes and workers, session requests;
    what was acknowledged, what is unknown."""

    PLAYERS = ["p%d" % i for i in range(8)]

    def __init__(self, cl):
        self.cl = cl
        self.acked_points = {p: 0 for p in self.PLAYERS}
        self.maybe_points = {p: 0 for p in self.PLAYERS}
        self.acked_jobs = set()
        self.maybe_jobs = set()
        self.next_job = 0
        self.ops = 0
        self.failures = 0

    def step(self):
        cl = self.cl
        i = self.ops
        player = self.PLAYERS[i % len(self.PLAYERS)]
        points = 1 + i % 5
        try:
            cl.call(lambda r: r.zincrby("app:board", points, player))
            self.acked_points[player] += points
        except Unknown:
            self.maybe_points[player] += points
            self.failures += 1
        except NotApplied:
            self.failures += 1
        job = f"job-{self.next_job}"
        self.next_job += 1
        try:
            cl.call(lambda r: r.lpush("app:jobs", job))
            self.acked_jobs.add(job)
        except Unknown:
            self.maybe_jobs.add(job)
            self.failures += 1
        except NotApplied:
            self.failures += 1
        if i % 3 == 0:
            # a worker takes the oldest job, then finishes it in one MULTI/EXEC
            try:
                moved = cl.call(lambda r: r.lmove("app:jobs", "app:processing", "RIGHT", "LEFT"))
                if moved is not None:
                    def finish(r):
                        p = r.pipeline()
                        p.lrem("app:processing", 1, moved)
                        p.lpush("app:done", moved)
                        return p.execute()
                    cl.call(finish)
            except (Unknown, NotApplied):
                self.failures += 1
        try:
            def request(r):
                p = r.pipeline()
                p.hincrby("app:session:7", "requests", 1)
                p.expire("app:session:7", 60)
                return p.execute()
            cl.call(request)
        except (Unknown, NotApplied):
            self.failures += 1
        self.ops += 1

    def verify(self):
        cl = self.cl
        scores = dict(cl.read(lambda r: r.zrange("app:board", 0, -1, withscores=True)))
        for p in self.PLAYERS:
            got = scores.get(p.encode(), 0)
            lo, hi = self.acked_points[p], self.acked_points[p] + self.maybe_points[p]
            if not lo <= got <= hi:
                fail(f"leaderboard {p}: score {got}, acknowledged increments {lo}, at most {hi} attempted")
        lists = {}
        for name in ("app:jobs", "app:processing", "app:done"):
            lists[name] = [j.decode() for j in cl.read(lambda r: r.lrange(name, 0, -1))]
        everywhere = [j for js in lists.values() for j in js]
        if len(everywhere) != len(set(everywhere)):
            fail("a job is in the queue's lists twice")
        present = set(everywhere)
        lost = self.acked_jobs - present
        if lost:
            fail(f"{len(lost)} acknowledged jobs are gone, e.g. {sorted(lost)[:5]}")
        strange = present - self.acked_jobs - self.maybe_jobs
        if strange:
            fail(f"jobs nobody pushed: {sorted(strange)[:5]}")
        ttl = cl.read(lambda r: r.ttl("app:session:7"))
        if not 0 < ttl <= 60:
            fail(f"session TTL after the steady part: {ttl}")
        print(f"steady: {self.ops} rounds, {sum(self.acked_points.values())} points and "
              f"{len(self.acked_jobs)} jobs acknowledged, all present "
              f"({len(self.maybe_jobs)} pushes unknown, {len(lists['app:done'])} jobs done)", flush=True)


def main():
    if len(sys.argv) != 5:
        fail("usage: app_client.py MARKER PORT PORT PORT")
    marker = sys.argv[1]
    ports = [int(p) for p in sys.argv[2:]]
    start = time.monotonic()
    cl = Cluster(ports)
    first = cl.port
    exact_checks(cl, "before")
    print(f"exact checks passed on the primary {first}", flush=True)

    steady = Steady(cl)
    after = 0
    marked = False
    while after < AFTER_FAILOVER_OPS:
        if time.monotonic() - start > DEADLINE_S:
            fail(f"no failover seen in time (primaries {cl.primaries}, {steady.ops} rounds)")
        steady.step()
        if steady.ops == BEFORE_KILL_OPS and not marked:
            with open(marker, "w") as f:
                f.write(f"{first}\n")
            marked = True
        if cl.port != first:
            after += 1
        elif marked:
            time.sleep(0.005)  # waiting for the kill: don't spin
    print(f"the application moved from the primary {first} to {cl.port} "
          f"({steady.failures} failed or unknown calls on the way)", flush=True)
    steady.verify()
    exact_checks(cl, "after")
    print(f"exact checks passed on the new primary {cl.port}", flush=True)
    print("ok", flush=True)


if __name__ == "__main__":
    main()
