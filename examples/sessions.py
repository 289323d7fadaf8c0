"""Pattern 4: a session store.

One hash per session (session:<id> -> user, cart, ...) with a sliding TTL:
each access reads the hash and pushes its expiry out again, in one MULTI so
the two cannot be split by a failover. Logout deletes the hash; an idle
session expires by itself. The sessions live only in the cache, which is
why the cache must keep them through a kill -9 of its primary: tricache
acknowledges a write once a majority has it in the Raft log.
"""
import time
import uuid

from common import CacheUnavailable, cache_call, latency_summary

IDLE_TTL_MS = 30 * 60 * 1000  # 30 minutes of inactivity


def login(cache, user):
    sid = uuid.uuid4().hex
    key = f"session:{sid}"

    def create():
        with cache.pipeline(transaction=True) as p:
            p.hset(key, mapping={"user": user, "step": "0", "created": str(int(time.time()))})
            p.pexpire(key, IDLE_TTL_MS)
            p.execute()
    # Failover in flight: MULTI/EXEC is all or nothing, so a retry after a
    # dropped connection cannot leave a hash without its TTL.
    cache_call(create, budget=15)
    return sid


def touch(cache, sid, ttl_ms=IDLE_TTL_MS):
    """Read the session and slide its expiry; None if it is gone."""
    key = f"session:{sid}"

    def access():
        with cache.pipeline(transaction=True) as p:
            p.hgetall(key)
            p.pexpire(key, ttl_ms)
            return p.execute()[0]
    # Cache down: a session store has no fallback (the database does not
    # hold sessions); the caller sees CacheUnavailable after the budget and
    # would ask the user to log in again.
    return cache_call(access, budget=15) or None


def record_step(cache, sid, step):
    # HSET of a value, not HINCRBY: a write whose reply was lost in the
    # failover is retried, and must mean the same if it was applied twice.
    return cache_call(lambda: cache.hset(f"session:{sid}", "step", step), budget=15)


def logout(cache, sid):
    cache_call(lambda: cache.delete(f"session:{sid}"), budget=15)


def run(world, n_sessions):
    cache = world.sentinel_master()
    sids = [login(cache, f"user{i}") for i in range(n_sessions)]
    lat, failed = [], 0
    killed = None
    for round_ in range(4):
        if round_ == 2:
            killed = world.kill_primary()
        for sid in sids:
            t = time.perf_counter()
            try:
                record_step(cache, sid, round_ + 1)
                touch(cache, sid)
            except CacheUnavailable:
                failed += 1
            lat.append(time.perf_counter() - t)
    world.start_node(killed)

    # After the failover: every session is still there with its last step,
    # and its TTL slid (close to the full TTL).
    lost = sum(1 for sid in sids if touch(cache, sid) is None)
    steps_ok = sum(1 for sid in sids if cache.hget(f"session:{sid}", "step") == "4")
    ttl_ok = sum(1 for sid in sids if cache.pttl(f"session:{sid}") > IDLE_TTL_MS // 2)

    # Logout removes the session at once.
    logout(cache, sids[0])
    logged_out_gone = touch(cache, sids[0]) is None

    # Expiry: a session whose TTL was slid to 200 ms and then left idle.
    idle = login(cache, "idle-user")
    touch(cache, idle, ttl_ms=200)
    deadline = time.monotonic() + 10
    while cache.exists(f"session:{idle}") and time.monotonic() < deadline:
        time.sleep(0.05)
    expired = not cache.exists(f"session:{idle}")
    return {"sessions": n_sessions, **latency_summary(lat),
            "failover": {"killed_node": killed, "requests_failed": failed, "sessions_lost": lost,
                         "last_step_kept": steps_ok, "ttl_slid": ttl_ok},
            "logout_removes": logged_out_gone, "idle_session_expired": expired}


def check(res):
    f = res["failover"]
    assert f["sessions_lost"] == 0 and f["requests_failed"] == 0, res
    assert f["last_step_kept"] == res["sessions"] and f["ttl_slid"] == res["sessions"], res
    assert res["logout_removes"] and res["idle_session_expired"], res
