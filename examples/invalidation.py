"""Pattern 3: invalidation driven by the database.

A trigger on products (common.load_sample_data) runs pg_notify('products_changed',
'<id>:<version>') on every INSERT, UPDATE and DELETE, whoever makes it: our
program, a migration, someone in psql. A listener (LISTEN products_changed)
turns each notification into a tombstone "<version>|" in the cache, so the
next read goes to the database. Reads are cache-aside with version-stamped
fills (common.stamped_put): a reader that read the old row before the change
cannot put it back over the tombstone.

What it cannot do: a read between COMMIT and the notification's arrival
(a few ms) still sees the previous row. We measure that window separately
from stale reads, which are reads older than a change the listener had
already applied, and which must never happen, also across a failover.
"""
import random
import select
import threading
import time

from common import (CacheUnavailable, Db, cache_call, db_only_baseline, decode, latency_summary,
                    stamped_put, zipf_stream)

TTL_MS = 60_000
WRITE_BUDGET = 15.0


class Invalidator(threading.Thread):
    def __init__(self, world, cache):
        super().__init__(daemon=True)
        self.conn = world.pg_connect()
        self.conn.autocommit = True  # LISTEN takes effect at once
        self.cache = cache
        self.applied = {}  # id -> newest version tombstoned
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.error = None
        with self.conn.cursor() as cur:
            cur.execute("LISTEN products_changed")

    def run(self):
        try:
            while not self.stop.is_set():
                # DB down: select() sees the socket close and poll() raises;
                # the thread records it and the run reports it.
                if select.select([self.conn], [], [], 0.1)[0]:
                    self.conn.poll()
                    while self.conn.notifies:
                        n = self.conn.notifies.pop(0)
                        pid, version = (int(x) for x in n.payload.split(":"))
                        # Failover in flight: keep retrying, the tombstone
                        # must land or the old row would be served until TTL.
                        cache_call(lambda: stamped_put(self.cache, f"inv:product:{pid}", version, None, TTL_MS),
                                   budget=WRITE_BUDGET)
                        with self.lock:
                            self.applied[pid] = max(version, self.applied.get(pid, 0))
        except Exception as e:
            self.error = e
        finally:
            self.conn.close()

    def applied_version(self, pid):
        with self.lock:
            return self.applied.get(pid, 0)


def read_product(cache, db, pid, stats):
    key = f"inv:product:{pid}"
    try:
        version, row = decode(cache_call(lambda: cache.get(key)))
        if row is not None:
            stats["hits"] += 1
            return version, row
    except CacheUnavailable:
        stats["fallbacks"] += 1  # cache down: the database answers
    rows = db.query("SELECT id, name, price, version FROM products WHERE id = %s", (pid,))
    row = {"id": rows[0][0], "name": rows[0][1], "price": rows[0][2]}
    try:
        cache_call(lambda: stamped_put(cache, key, rows[0][3], row, TTL_MS))
    except CacheUnavailable:
        pass
    return rows[0][3], row


def run(world, n_requests, n_products):
    cache = world.sentinel_master()
    db, other, checker = Db(world), world.pg_connect(), world.pg_connect()
    stream = zipf_stream(n_products, n_requests, seed=13)
    without = db_only_baseline(db, stream, 9)  # before LISTEN: its writes change nothing
    inv = Invalidator(world, world.sentinel_master())
    inv.start()
    before = Db.queries
    rng = random.Random(9)
    stats = {"hits": 0, "fallbacks": 0}
    lat, failed, stale, in_lag, writes, killed, written = [], 0, 0, 0, 0, None, set()
    for n, pid in enumerate(stream):
        if n == len(stream) // 2:
            killed = world.kill_primary()
        t = time.perf_counter()
        try:
            if rng.random() < 0.2:
                # "Another program" changes the row with plain SQL; it knows
                # nothing about the cache.
                with other, other.cursor() as cur:
                    cur.execute("UPDATE products SET price = %s, version = version + 1 WHERE id = %s",
                                (rng.randint(100, 9999), pid))
                writes += 1
                written.add(pid)
                lat.append(time.perf_counter() - t)
                continue
            applied = inv.applied_version(pid)
            version, _ = read_product(cache, db, pid, stats)
            lat.append(time.perf_counter() - t)
            with checker, checker.cursor() as cur:
                cur.execute("SELECT version FROM products WHERE id = %s", (pid,))
                current = cur.fetchone()[0]
            if version < applied:
                stale += 1  # older than a change already invalidated: a bug
            elif version < current:
                in_lag += 1  # the notification was still on its way
        except Exception:
            failed += 1
    reads_queries = Db.queries - before
    world.start_node(killed)

    # Every change must end up invalidated: wait for the listener to catch
    # up with the database, then no cached row may be older than its row.
    with checker, checker.cursor() as cur:
        cur.execute("SELECT id, version FROM products")
        db_versions = dict(cur.fetchall())
    deadline = time.monotonic() + 20
    while any(inv.applied_version(p) < db_versions[p] for p in written) and time.monotonic() < deadline \
            and inv.error is None:
        time.sleep(0.05)
    left_stale = 0
    for pid, v in db_versions.items():
        cached_version, row = decode(cache_call(lambda: cache.get(f"inv:product:{pid}"), budget=5))
        if row is not None and cached_version < v:
            left_stale += 1
    inv.stop.set()
    inv.join()
    db.close()
    other.close()
    checker.close()
    # the external writes are queries too, in both runs
    return {"without_cache": without,
            "with_cache": {"reads": n_requests - writes, "external_writes": writes,
                           "db_queries": reads_queries + writes, **latency_summary(lat),
                           "hit_ratio": round(stats["hits"] / max(1, n_requests - writes), 3)},
            "failover": {"killed_node": killed, "requests_failed": failed, "stale_reads": stale,
                         "reads_inside_notify_lag": in_lag, "stale_rows_left_in_cache": left_stale,
                         "listener_error": repr(inv.error) if inv.error else None}}


def check(res):
    assert res["with_cache"]["db_queries"] < res["without_cache"]["db_queries"], res
    f = res["failover"]
    assert f["stale_reads"] == 0 and f["stale_rows_left_in_cache"] == 0, res
    assert f["requests_failed"] == 0 and f["listener_error"] is None, res
