"""Pattern 1: lazy loading (cache-aside) of product rows.

Read the cache; on a miss read the database and fill the cache with a TTL.
A hot key that expires would send every concurrent reader to the database
at once (the thundering herd): one reader per key takes a short lock
(SET lock:<key> <token> NX PX ...) and loads, the others wait for its fill.
"""
import json
import threading
import time
import uuid

from common import Breaker, CacheUnavailable, Db, cache_call, latency_summary, zipf_stream

TTL_MS = 60_000
LOCK_MS = 2_000  # longer than one DB load; a loader that dies frees it by expiry


def load_row(db, pid, cost_s=0.0):
    # cost_s > 0 adds pg_sleep to the query: it stands in for the expensive
    # query (a join, an aggregate) that makes a herd hurt, so the herd demo
    # shows overlapping loads even on an idle laptop.
    rows = db.query("SELECT id, name, price, pg_sleep(%s) FROM products WHERE id = %s", (cost_s, pid))
    return {"id": rows[0][0], "name": rows[0][1], "price": rows[0][2]} if rows else None


def get_product(cache, db, pid, guard=True, stats=None, cost_s=0.0, breaker=None):
    key = f"product:{pid}"
    try:
        cached = (breaker.call if breaker else cache_call)(lambda: cache.get(key))
    except CacheUnavailable:
        # Cache down (or a failover in flight past our budget): never fail the
        # request, answer from the database. A DB error here (DB down too)
        # is the one case the caller sees an error: nothing else has the row.
        if stats is not None:
            stats["fallbacks"] += 1
        return load_row(db, pid, cost_s)
    if cached is not None:
        if stats is not None:
            stats["hits"] += 1
        return json.loads(cached)
    if stats is not None:
        stats["misses"] += 1
    token = uuid.uuid4().hex
    try:
        leader = not guard or cache_call(lambda: cache.set(f"lock:{key}", token, nx=True, px=LOCK_MS))
    except CacheUnavailable:
        leader = True  # cannot coordinate: load it ourselves rather than fail
    if not leader:
        # Someone else is loading this key: wait for their fill, polling up
        # to the lock's lifetime; if it never comes (loader died), load it.
        deadline = time.monotonic() + LOCK_MS / 1000
        while time.monotonic() < deadline:
            try:
                cached = cache_call(lambda: cache.get(key))
            except CacheUnavailable:
                break
            if cached is not None:
                return json.loads(cached)
            time.sleep(0.005)
    row = load_row(db, pid, cost_s)  # DB down: the error goes to the caller (no copy anywhere)
    if row is not None:
        try:
            cache_call(lambda: cache.set(key, json.dumps(row), px=TTL_MS))
            if guard:
                # Deleting a lock that expired and was taken by another
                # loader costs at most one extra load, never a wrong value.
                cache_call(lambda: cache.delete(f"lock:{key}"))
        except CacheUnavailable:
            pass  # the row is served anyway; the next reader fills it
    return row


def herd(world, cache, guard, n_threads=16):
    """n_threads readers ask for the same cold key at once; how many DB loads?"""
    cache.delete("product:1", "lock:product:1")
    before = Db.queries
    barrier = threading.Barrier(n_threads)
    errors = []

    def reader():
        db = Db(world)
        try:
            barrier.wait()
            get_product(cache, db, 1, guard=guard, cost_s=0.05)
        except Exception as e:  # counted, reported
            errors.append(e)
        finally:
            db.close()

    threads = [threading.Thread(target=reader) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return Db.queries - before


def run(world, n_requests, n_products):
    cache = world.sentinel_master()
    db = Db(world)
    stream = zipf_stream(n_products, n_requests)
    res = {}

    # Without the cache: every request is a query.
    before, lat = Db.queries, []
    for pid in stream:
        t = time.perf_counter()
        load_row(db, pid)
        lat.append(time.perf_counter() - t)
    res["without_cache"] = {"db_queries": Db.queries - before, **latency_summary(lat)}

    # With the cache, and a kill -9 of the primary half way through.
    stats = {"hits": 0, "misses": 0, "fallbacks": 0}
    before, lat, failed, killed = Db.queries, [], 0, None
    for n, pid in enumerate(stream):
        if n == len(stream) // 2:
            killed = world.kill_primary()
        t = time.perf_counter()
        try:
            get_product(cache, db, pid, stats=stats)
        except Exception:
            failed += 1
        lat.append(time.perf_counter() - t)
    total = stats["hits"] + stats["misses"] + stats["fallbacks"]
    res["with_cache"] = {"db_queries": Db.queries - before, **latency_summary(lat),
                         "hit_ratio": round(stats["hits"] / total, 3),
                         "served_from_db_during_failover": stats["fallbacks"]}
    res["failover"] = {"killed_node": killed, "requests_failed": failed}
    world.start_node(killed)

    res["herd_16_readers_db_loads"] = {"without_guard": herd(world, cache, False),
                                       "with_guard": herd(world, cache, True)}

    # The whole cache down: every node frozen (SIGSTOP), the same stream's
    # first 200 requests. A breaker keeps them from each waiting out the
    # timeouts; none may fail.
    breaker, failed = Breaker(), 0
    stats = {"hits": 0, "misses": 0, "fallbacks": 0}
    world.pause_nodes()
    try:
        t = time.perf_counter()
        for pid in stream[:200]:
            try:
                get_product(cache, db, pid, stats=stats, breaker=breaker)
            except Exception:
                failed += 1
        elapsed = time.perf_counter() - t
    finally:
        world.resume_nodes()
    res["cache_down"] = {"requests": 200, "requests_failed": failed, "served_from_db": stats["fallbacks"],
                         "total_ms": round(elapsed * 1000, 1)}

    # The database down (then restarted for the next patterns): 180 requests
    # of the stream with the cache warm, and 20 for rows not in the cache.
    # Hits are served; a miss has nowhere to come from and fails.
    cold = list(range(n_products - 19, n_products + 1))  # 20 rows surely not cached
    requests = stream[:180] + cold
    for pid in stream[:180]:
        get_product(cache, db, pid)  # warm again (the run above bypassed the cache)
    cache.delete(*[f"product:{pid}" for pid in cold])
    stats, failed = {"hits": 0, "misses": 0, "fallbacks": 0}, 0
    world.stop_postgres()
    try:
        for pid in requests:
            try:
                get_product(cache, db, pid, stats=stats)
            except Exception:
                failed += 1
    finally:
        world.start_postgres()
    res["db_down"] = {"requests": 200, "served_from_cache": stats["hits"], "requests_failed": failed,
                      "misses": stats["misses"]}
    db.close()
    return res


def check(res):
    assert res["with_cache"]["db_queries"] < res["without_cache"]["db_queries"], res
    assert res["failover"]["requests_failed"] == 0, res
    assert res["herd_16_readers_db_loads"]["with_guard"] == 1, res
    assert res["cache_down"]["requests_failed"] == 0 and res["cache_down"]["served_from_db"] == 200, res
    d = res["db_down"]  # only a miss may fail, and every hit is served
    assert d["requests_failed"] == d["misses"] and d["served_from_cache"] + d["misses"] == d["requests"], res
