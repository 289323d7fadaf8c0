"""Scripts as applications run them, through redis-py (Debian's python3-redis)
against the primary of a three-node tricache cluster. Run by
test_script_clients:

  script_client.py PORT

1. redis-py's Lock: acquire, a second client refused, extend and release (Lua
   scripts sent with EVALSHA, falling back to EVAL on NOSCRIPT), and a release
   after someone else took the key refused (LockNotOwnedError), the key kept.
2. A sliding-window rate limiter (ZREMRANGEBYSCORE, ZCARD, ZADD, PEXPIRE in
   one script, registered with register_script): exactly `limit` requests
   of a burst pass, the window moving lets the next one through, and after
   SCRIPT FLUSH the client's NOSCRIPT fallback loads it again.
3. Redis 7 functions through redis-py's function_* and fcall: the limiter as
   a library (function_load, replace), called with fcall, a no-writes
   function with fcall_ro, function_list, function_stats, and
   function_dump / function_flush / function_restore bringing it back.

Prints "ok" and exits 0, or exits with a message.
"""
import sys

import redis
from redis.exceptions import LockNotOwnedError

LIMITER = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, window * 100)
  return 1
end
return 0
"""


def fail(msg):
    print(f"script_client: {msg}")  # stdout: the test shows what it captured
    sys.exit(1)


def main():
    port = int(sys.argv[1])
    r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10)
    other = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10)

    lock = r.lock("lock:res", timeout=30)
    if not lock.acquire(blocking=False):
        fail("the lock was not acquired")
    if other.lock("lock:res", timeout=30).acquire(blocking=False):
        fail("a second client acquired a held lock")
    if not lock.extend(10):
        fail("extend failed")
    if not (30000 < r.pttl("lock:res") <= 40000):
        fail(f"extend left a pttl of {r.pttl('lock:res')}")
    lock.release()
    if r.exists("lock:res"):
        fail("release left the key")
    stolen = r.lock("lock:stolen", timeout=30)
    stolen.acquire(blocking=False)
    r.set("lock:stolen", "someone-else")
    try:
        stolen.release()
        fail("a release by a token that no longer owns the lock succeeded")
    except LockNotOwnedError:
        pass
    if r.get("lock:stolen") != b"someone-else":
        fail("a refused release changed the key")

    limiter = r.register_script(LIMITER)
    passed = sum(limiter(keys=["rate:user1"], args=[1000 + i, 1000, 5, f"req{i}"]) for i in range(12))
    if passed != 5:
        fail(f"{passed} requests of a burst passed a limit of 5")
    if limiter(keys=["rate:user1"], args=[2500, 1000, 5, "later"]) != 1:
        fail("the moved window did not let a request through")
    if r.zcard("rate:user1") != 1:
        fail(f"the window holds {r.zcard('rate:user1')} requests, want 1")
    r.script_flush()
    if limiter(keys=["rate:user2"], args=[1, 1000, 1, "a"]) != 1:
        fail("the limiter did not run again after SCRIPT FLUSH")

    library = "#!lua name=ratelib\n" + "redis.register_function('limit', function(KEYS, ARGV)\n" + LIMITER + "end)\n" + \
        "redis.register_function{function_name='count', flags={'no-writes'}, " + \
        "callback=function(keys) return redis.call('ZCARD', keys[1]) end}\n"
    if r.function_load(library) not in (b"ratelib", "ratelib"):
        fail("function_load did not answer the library's name")
    if r.function_load(library, replace=True) not in (b"ratelib", "ratelib"):
        fail("function_load with replace failed")
    passed = sum(r.fcall("limit", 1, "rate:fn", 1000 + i, 1000, 3, f"req{i}") for i in range(8))
    if passed != 3:
        fail(f"{passed} requests of a burst passed a limit of 3 through fcall")
    if r.fcall_ro("count", 1, "rate:fn") != 3:
        fail("fcall_ro of a no-writes function did not count 3")
    try:
        r.fcall_ro("limit", 1, "rate:fn", 1, 1000, 3, "x")
        fail("fcall_ro of a writing function succeeded")
    except redis.exceptions.ResponseError as e:
        if "Can not execute a script with write flag using *_ro command." not in str(e):
            fail(f"fcall_ro of a writing function: {e}")
    listed = r.function_list()
    if len(listed) != 1 or b"ratelib" not in listed[0] and "ratelib" not in listed[0]:
        fail(f"function_list: {listed}")
    stats = r.function_stats()
    if b"engines" not in stats and "engines" not in stats:
        fail(f"function_stats: {stats}")
    payload = r.function_dump()
    r.function_flush()
    try:
        r.fcall("limit", 1, "rate:fn", 1, 1000, 3, "x")
        fail("fcall after function_flush succeeded")
    except redis.exceptions.ResponseError as e:
        if "Function not found" not in str(e):
            fail(f"fcall after function_flush: {e}")
    r.function_restore(payload)
    if r.fcall_ro("count", 1, "rate:fn") != 3:
        fail("the restored library did not count 3")
    r.function_delete("ratelib")
    print("ok")


main()
