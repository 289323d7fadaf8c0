"""A Sidekiq-style scheduler, a lock and a rate limiter through a failover,
with redis-py (Debian's python3-redis) finding the primary through the
Sentinel protocol every tricache node answers. Run by test_script_clients:

  scheduler_client.py --sentinels H:P,H:P,H:P --name NAME --jobs N
                      --ready FILE --gate FILE --deadline MS

What runs, as such applications run it:
- Producers schedule jobs: ZADD schedule <due ms> job:i, and HSET job:i due.
- Two pollers (two scheduler processes, one at a time through redis-py's
  Lock, whose acquire/release are Lua scripts) move the jobs that are due
  from the schedule to a queue with one script (ZRANGEBYSCORE, ZREM, LPUSH),
  as Sidekiq's scheduler does.
- Workers take a job with LMOVE queue -> processing (a reliable queue), ask a
  sliding-window rate limiter script for a slot, and complete the job with a
  script (LREM from processing, SADD done, HINCRBY job:i runs).
The first half of the jobs is scheduled at the start; once a quarter is done
the script writes FILE --ready and waits for FILE --gate (the test kills the
primary with SIGKILL in between), then schedules the second half.

Checked at the end: every job done (nothing acknowledged lost), none taken
before it was due, the lock never held by both pollers at once, no window of
the limiter admitted more than its limit, nothing left in the schedule or the
queue. A call whose outcome is unknown (the connection dropped, TRYAGAIN) is
retried with the same arguments, as applications do; everything above holds
under that (runs >= 1, not == 1). Prints "ok ..." and exits 0, or exits 1
with the reason.
"""
import argparse
import os
import random
import sys
import threading
import time

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockNotOwnedError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.sentinel import MasterNotFoundError, Sentinel

MOVE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 50)
for _, job in ipairs(due) do
  if redis.call('ZREM', KEYS[1], job) == 1 then redis.call('LPUSH', KEYS[2], job) end
end
return #due
"""

# The window is measured on the primary's clock (TIME), not the workers':
# the limiter's bound only holds when the `now` of successive calls never
# goes backwards, and calls from several workers (or a call retried after a
# failover) arrive in another order than their callers read their clocks.
# A retried call whose first attempt was applied finds its member and
# answers the slot's time again, so the client records each slot once.
LIMITER = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local held = redis.call('ZSCORE', KEYS[1], ARGV[3])
if held then return tonumber(held) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window * 10)
  return now
end
return 0
"""

COMPLETE = """
redis.call('LREM', KEYS[1], 1, ARGV[1])
redis.call('SADD', KEYS[2], ARGV[1])
return redis.call('HINCRBY', ARGV[1], 'runs', 1)
"""

WINDOW_MS = 200
LIMIT = 40
RETRYABLE = ("TRYAGAIN", "READONLY", "NOREPLICAS", "LOADING", "MASTERDOWN", "CLUSTERDOWN")


class Failed(Exception):
    pass


def now_ms():
    return int(time.time() * 1000)


class Run:
    def __init__(self, args):
        self.args = args
        hosts = [(h, int(p)) for h, p in (a.rsplit(":", 1) for a in args.sentinels.split(","))]
        self.sentinel = Sentinel(hosts, socket_timeout=2.0)
        self.r = self.sentinel.master_for(args.name, socket_timeout=3.0, socket_connect_timeout=2.0)
        self.deadline = time.monotonic() + args.deadline / 1000.0
        self.stop = threading.Event()
        self.errors = []
        self.lock_holders = 0
        self.guard = threading.Lock()
        self.admitted = []  # the primary's time of every slot the limiter granted
        self.retries = 0
        self.early = []
        self.move = self.r.register_script(MOVE_DUE)
        self.limiter = self.r.register_script(LIMITER)
        self.complete = self.r.register_script(COMPLETE)

    def fail(self, msg):
        with self.guard:
            self.errors.append(msg)
        self.stop.set()

    def call(self, fn, *a, **kw):
        """fn(*a, **kw), again with the same arguments while the cluster
        changes its primary; any other error fails the run."""
        while not self.stop.is_set():
            if time.monotonic() > self.deadline:
                raise Failed("deadline passed")
            try:
                return fn(*a, **kw)
            except (RedisConnectionError, RedisTimeoutError, MasterNotFoundError):
                pass
            except ResponseError as e:
                if not str(e).startswith(RETRYABLE):
                    raise
            with self.guard:
                self.retries += 1
            time.sleep(0.05)
        raise Failed("stopped")

    def schedule(self, first, last):
        for i in range(first, last):
            due = now_ms() + random.randint(0, 800)
            job = "job:%d" % i
            self.call(self.r.hset, job, "due", due)
            self.call(self.r.zadd, "schedule", {job: due})

    def acquire(self, lock):
        """redis-py's Lock.acquire with one token for all its retries: an
        attempt whose reply was lost may have taken the lock for us."""
        token = "%s-%d" % (threading.current_thread().name, random.getrandbits(64))
        if self.call(lock.acquire, token=token):
            return True
        if self.call(self.r.get, lock.name) == token.encode():
            lock.local.token = token.encode()
            return True
        return False

    def release(self, lock):
        """Lock.release, retried with the same token until it is known to be
        released; "not owned" after a retry means the first attempt did it."""
        token = lock.local.token
        lock.local.token = None
        tries = 0
        while True:
            tries += 1
            try:
                lock.do_release(token)
                return
            except LockNotOwnedError:
                if tries > 1:
                    return
                raise
            except (RedisConnectionError, RedisTimeoutError, MasterNotFoundError):
                pass
            except ResponseError as e:
                if not str(e).startswith(RETRYABLE):
                    raise
            if self.stop.is_set() or time.monotonic() > self.deadline:
                raise Failed("release did not finish")
            time.sleep(0.05)

    def poller(self):
        lock = self.r.lock("scheduler-lock", timeout=30, blocking=False)
        while not self.stop.is_set():
            if not self.acquire(lock):
                time.sleep(0.01)
                continue
            with self.guard:
                self.lock_holders += 1
                both = self.lock_holders > 1
            if both:
                self.fail("the scheduler lock was held by both pollers at once")
            self.call(self.move, keys=["schedule", "queue"], args=[now_ms()])
            with self.guard:
                self.lock_holders -= 1
            self.release(lock)
            time.sleep(0.02)

    def worker(self, n):
        seq = 0
        while not self.stop.is_set():
            job = self.call(self.r.lmove, "queue", "processing", "RIGHT", "LEFT")
            if job is None:
                time.sleep(0.01)
                continue
            job = job.decode()
            due = int(self.call(self.r.hget, job, "due"))
            taken = now_ms()
            if taken < due:
                with self.guard:
                    self.early.append("%s taken at %d, due %d" % (job, taken, due))
            while not self.stop.is_set():
                seq += 1
                rid = "w%d-%d" % (n, seq)
                at = self.call(self.limiter, keys=["limiter"], args=[WINDOW_MS, LIMIT, rid])
                if at:
                    with self.guard:
                        self.admitted.append(at)
                    break
                time.sleep(0.005)
            self.call(self.complete, keys=["processing", "done"], args=[job])

    def guarded(self, fn, *a):
        try:
            fn(*a)
        except Failed:
            pass
        except Exception as e:  # noqa: BLE001 -- any surprise fails the run, with its text
            self.fail("%s: %r" % (fn.__name__, e))

    def wait_done(self, count):
        """Until `count` jobs are done; a job whose LMOVE outcome was lost to
        the failover stays in processing with no worker: once nothing else
        moves, it is put back in the queue (reliable-queue recovery)."""
        last, still = -1, time.monotonic()
        while not self.stop.is_set():
            done = self.call(self.r.scard, "done")
            if done >= count:
                return
            if done != last:
                last, still = done, time.monotonic()
            elif time.monotonic() - still > 3.0:
                if self.call(self.r.zcard, "schedule") == 0 and self.call(self.r.llen, "queue") == 0:
                    while self.call(self.r.lmove, "processing", "queue", "RIGHT", "LEFT") is not None:
                        pass
                still = time.monotonic()
            time.sleep(0.05)
        raise Failed("stopped")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentinels", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--jobs", type=int, default=400)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--gate", required=True)
    ap.add_argument("--deadline", type=int, default=120000)
    args = ap.parse_args()
    run = Run(args)
    half = args.jobs // 2
    threads = [threading.Thread(target=run.guarded, args=(run.poller,)) for _ in range(2)]
    threads += [threading.Thread(target=run.guarded, args=(run.worker, n)) for n in range(3)]
    try:
        run.schedule(0, half)
        for t in threads:
            t.start()
        run.wait_done(args.jobs // 4)
        with open(args.ready, "w"):
            pass
        while not os.path.exists(args.gate):
            if time.monotonic() > run.deadline:
                raise Failed("no gate file")
            time.sleep(0.02)
        run.schedule(half, args.jobs)
        run.wait_done(args.jobs)
    except Failed as e:
        run.fail(str(e))
    except Exception as e:  # noqa: BLE001
        run.fail("main: %r" % e)
    run.stop.set()
    for t in threads:
        t.join()
    if run.errors:
        print("FAILED: " + "; ".join(run.errors))
        return 1
    problems = list(run.early)
    r = run.r
    done = {m.decode() for m in r.smembers("done")}
    missing = [i for i in range(args.jobs) if "job:%d" % i not in done]
    if missing:
        problems.append("%d jobs never done (first: job:%d)" % (len(missing), missing[0]))
    runs = [int(r.hget("job:%d" % i, "runs") or 0) for i in range(args.jobs)]
    if min(runs) < 1:
        problems.append("a done job has no run recorded")
    if r.zcard("schedule") or r.llen("queue"):
        problems.append("jobs left: %d scheduled, %d queued" % (r.zcard("schedule"), r.llen("queue")))
    admitted = sorted(run.admitted)
    j = 0
    for i, t in enumerate(admitted):
        while admitted[j] <= t - WINDOW_MS:
            j += 1
        if i - j + 1 > LIMIT:
            problems.append("the limiter admitted %d in the window ending %d (limit %d)" % (i - j + 1, t, LIMIT))
            break
    if problems:
        print("FAILED: " + "; ".join(problems))
        return 1
    print("ok jobs %d done %d repeated %d retries %d" % (args.jobs, len(done), sum(runs) - len(runs), run.retries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
