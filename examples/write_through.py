"""Pattern 2: write-through of product rows.

A write updates the row in a database transaction, and only after COMMIT
puts the new row in the cache, stamped with the row's version. Reads are
cache-aside and fill with the same stamp.

The orders that serve stale data, and what this example does instead:
  - cache first, then the database: if the transaction then fails, the cache
    holds a row that never existed. We write the cache after COMMIT only.
  - a reader that read version 1 from the database, then stores it after a
    writer stored version 2: a plain SET moves the cache back to version 1
    for a whole TTL. stamped_put (SET ... IFEQ) refuses to go backwards;
    race_demo() below replays that interleaving both ways.
  - the cache update after COMMIT fails (failover in flight): we retry until
    the new primary takes it (Sentinel rediscovery); the stamp makes a retry
    that lands twice harmless.
"""
import random
import time

from common import (CacheUnavailable, Db, cache_call, db_only_baseline, decode, encode, latency_summary,
                    stamped_put, zipf_stream)

TTL_MS = 60_000
WRITE_BUDGET = 15.0  # how long a committed write waits for the cache across a failover


def read_product(cache, db, pid, stats):
    key = f"wt:product:{pid}"
    try:
        version, row = decode(cache_call(lambda: cache.get(key)))
        if row is not None:
            stats["hits"] += 1
            return version, row
    except CacheUnavailable:
        stats["fallbacks"] += 1  # cache down: the database answers
        version = None
    rows = db.query("SELECT id, name, price, version FROM products WHERE id = %s", (pid,))
    if not rows:
        return None, None
    row = {"id": rows[0][0], "name": rows[0][1], "price": rows[0][2]}
    try:
        cache_call(lambda: stamped_put(cache, key, rows[0][3], row, TTL_MS))
    except CacheUnavailable:
        pass  # not filled this time; the row served is the database's own
    return rows[0][3], row


def update_price(cache, db, pid, price):
    # DB down: the UPDATE raises before the cache is touched, nothing to undo.
    rows = db.query("UPDATE products SET price = %s, version = version + 1 WHERE id = %s"
                    " RETURNING id, name, price, version", (price, pid))
    version, row = rows[0][3], {"id": rows[0][0], "name": rows[0][1], "price": rows[0][2]}
    # Committed. Now the cache must not keep the old row: retry through a
    # failover (-READONLY, -TRYAGAIN, connection reset, no primary yet).
    cache_call(lambda: stamped_put(cache, f"wt:product:{pid}", version, row, TTL_MS), budget=WRITE_BUDGET)
    return version


def race_demo(cache, checker):
    """Reader reads v from the DB; writer commits v+1 and caches it; the
    reader's fill arrives last. Plain SET vs stamped_put."""
    out = {}
    for mode in ("plain_set", "stamped_ifeq"):
        key = f"wt:race:{mode}"
        cache.delete(key)
        v_read = checker.query("SELECT version FROM products WHERE id = 2")[0][0]  # reader's read
        v_new = checker.query("UPDATE products SET version = version + 1 WHERE id = 2 RETURNING version")[0][0]
        stamped_put(cache, key, v_new, {"id": 2}, TTL_MS)  # writer caches after commit
        if mode == "plain_set":
            cache.set(key, encode(v_read, {"id": 2}), px=TTL_MS)  # the late fill
        else:
            stamped_put(cache, key, v_read, {"id": 2}, TTL_MS)
        out[mode] = "stale" if decode(cache.get(key))[0] < v_new else "current"
    return out


def run(world, n_requests, n_products):
    cache = world.sentinel_master()
    db, checker = Db(world), world.pg_connect()
    stream = zipf_stream(n_products, n_requests, seed=11)
    without = db_only_baseline(db, stream, 5)
    rng = random.Random(5)
    stats = {"hits": 0, "misses": 0, "fallbacks": 0}
    before, lat, failed, stale, writes, killed = Db.queries, [], 0, 0, 0, None
    for n, pid in enumerate(stream):
        if n == len(stream) // 2:
            killed = world.kill_primary()
        t = time.perf_counter()
        try:
            if rng.random() < 0.2:
                update_price(cache, db, pid, rng.randint(100, 9999))
                writes += 1
            else:
                version, _ = read_product(cache, db, pid, stats)
                # The check itself is not counted as a query of the pattern.
                with checker, checker.cursor() as cur:
                    cur.execute("SELECT version FROM products WHERE id = %s", (pid,))
                    if version < cur.fetchone()[0]:
                        stale += 1
        except Exception:
            failed += 1
        lat.append(time.perf_counter() - t)
    reads = n_requests - writes
    res = {"without_cache": without, "with_cache": {"requests": n_requests, "writes": writes, "db_queries": Db.queries - before,
                          **latency_summary(lat), "hit_ratio": round(stats["hits"] / max(1, reads), 3)},
           "failover": {"killed_node": killed, "requests_failed": failed, "stale_reads": stale}}
    world.start_node(killed)
    res["race_demo"] = race_demo(cache, Db(world))
    db.close()
    checker.close()
    return res


def check(res):
    assert res["with_cache"]["db_queries"] < res["without_cache"]["db_queries"], res
    assert res["failover"]["stale_reads"] == 0, res
    assert res["failover"]["requests_failed"] == 0, res
    assert res["race_demo"] == {"plain_set": "stale", "stamped_ifeq": "current"}, res
