"""What the patterns share: a database handle that counts its queries, the
cache call wrapper that names the failure cases, the sample data, a Zipf
request stream, latency percentiles and the version-stamped cache entry."""
import json
import random
import threading
import time

from redis.exceptions import ConnectionError, ReadOnlyError, ResponseError, TimeoutError
from redis.sentinel import MasterNotFoundError


class Db:
    """A psycopg2 connection that counts the queries it sends, so each
    pattern can say how many the cache saved. Thread-safe counter; one
    connection per Db (psycopg2 connections are not for sharing)."""
    queries = 0
    _lock = threading.Lock()

    def __init__(self, world):
        self.world = world
        self.conn = world.pg_connect()

    def query(self, sql, args=()):
        with Db._lock:
            Db.queries += 1
        # DB down: a broken connection is replaced on the next query, never
        # retried within this one (an UPDATE that may have committed must not
        # run twice); while the database is down the error reaches the caller.
        if self.conn.closed:
            self.conn = self.world.pg_connect()
        with self.conn, self.conn.cursor() as cur:  # one transaction
            cur.execute(sql, args)
            return cur.fetchall() if cur.description else None

    def close(self):
        self.conn.close()


def load_sample_data(world, n_products):
    """products(id, name, price, version) with a trigger that NOTIFYs every
    change (used by the invalidation pattern), and a scores table."""
    conn = world.pg_connect()
    with conn, conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS products, scores")
        cur.execute("CREATE TABLE products (id int PRIMARY KEY, name text NOT NULL,"
                    " price int NOT NULL, version int NOT NULL DEFAULT 1)")
        cur.execute("CREATE TABLE scores (player text PRIMARY KEY, points int NOT NULL)")
        # The payload is "id:version": the invalidator needs the version so a
        # late notification can never undo a newer one (see stamped_put).
        cur.execute("""CREATE OR REPLACE FUNCTION products_notify() RETURNS trigger AS $$
            BEGIN
              IF TG_OP = 'DELETE' THEN
                PERFORM pg_notify('products_changed', OLD.id || ':' || (OLD.version + 1));
              ELSE
                PERFORM pg_notify('products_changed', NEW.id || ':' || NEW.version);
              END IF;
              RETURN NULL;
            END $$ LANGUAGE plpgsql""")
        cur.execute("CREATE TRIGGER products_changed AFTER INSERT OR UPDATE OR DELETE ON products"
                    " FOR EACH ROW EXECUTE FUNCTION products_notify()")
        rng = random.Random(16)
        syll = ["ka", "lo", "mi", "ra", "to", "ne", "su", "vi", "po", "da", "ze", "qu"]
        names = set()
        while len(names) < n_products:
            w = "".join(rng.choice(syll) for _ in range(rng.randint(2, 4)))
            names.add(w.capitalize() + " " + rng.choice(["Lamp", "chair", "Desk", "mug", "Pen"]))
        cur.executemany("INSERT INTO products (id, name, price) VALUES (%s, %s, %s)",
                        [(i + 1, n, rng.randint(100, 9999)) for i, n in enumerate(sorted(names))])
    conn.close()


def zipf_stream(n_keys, n_requests, s=1.1, seed=7):
    """Key ids 1..n_keys drawn with P(k) ~ 1/k^s: a few hot products, a
    long tail, as real read traffic tends to be."""
    weights = [1.0 / (k ** s) for k in range(1, n_keys + 1)]
    return random.Random(seed).choices(range(1, n_keys + 1), weights=weights, k=n_requests)


def percentile(samples, p):
    if not samples:
        return 0.0
    s = sorted(samples)
    return s[min(len(s) - 1, int(p / 100.0 * len(s)))]


def latency_summary(samples):
    # max shows the pause a failover costs the slowest request
    return {"p50_ms": round(percentile(samples, 50) * 1000, 3),
            "p99_ms": round(percentile(samples, 99) * 1000, 3),
            "max_ms": round(max(samples, default=0) * 1000, 1)}


# ---- the cache call and its failure cases ------------------------------

class CacheUnavailable(Exception):
    """The cache did not answer within the caller's budget."""


def cache_call(fn, budget=0.3):
    """Run fn() against the cache, retrying what a failover throws:
      - ConnectionError / TimeoutError: the primary died (kill -9) or the
        socket broke; redis-py's Sentinel pool asks the nodes for the new
        primary on the next attempt;
      - ReadOnlyError (-READONLY): we reached a node that is a replica now;
        the Sentinel connection drops it and rediscovers;
      - MasterNotFoundError: an election is in flight, nobody is primary yet;
      - -TRYAGAIN: the node cannot answer right now (election, stale replica).
    Past `budget` seconds we give up with CacheUnavailable; readers then fall
    back to the database ("cache down: never fail the request")."""
    deadline = time.monotonic() + budget
    while True:
        try:
            return fn()
        except (ConnectionError, TimeoutError, ReadOnlyError, MasterNotFoundError, ResponseError) as e:
            if isinstance(e, ResponseError) and not isinstance(e, ReadOnlyError) \
                    and "TRYAGAIN" not in str(e):
                raise  # a real error in our command: a bug, not a failover
            if time.monotonic() > deadline:
                raise CacheUnavailable(str(e)) from e
            time.sleep(0.02)


class Breaker:
    """A circuit breaker for reads: once the cache failed to answer within
    the budget, skip it for `open_s` seconds instead of making every request
    wait out the timeouts again (cache down: the database answers at its own
    speed), then try it again with one request."""

    def __init__(self, open_s=1.0):
        self.open_s, self.open_until = open_s, 0.0

    def call(self, fn, budget=0.3):
        if time.monotonic() < self.open_until:
            raise CacheUnavailable("breaker open")
        try:
            return cache_call(fn, budget)
        except CacheUnavailable:
            self.open_until = time.monotonic() + self.open_s
            raise


# ---- version-stamped entries (write-through and invalidation) ---------

def encode(version, row):
    """Cache value "<version>|<json row>", or "<version>|" for a tombstone
    (the row at that version is gone or must be re-read)."""
    return f"{version}|" + ("" if row is None else json.dumps(row))


def decode(value):
    if value is None:
        return None, None
    v, _, body = value.partition("|")
    return int(v), (json.loads(body) if body else None)


def stamped_put(cache, key, version, row, ttl_ms):
    """Store `row` at `version` unless the cache already holds the same or a
    newer version. The compare and the swap are one command, SET ... IFEQ
    (SET NX for an empty slot), so two writers racing, or a slow reader
    filling an old row after a writer stored a new one, can never move the
    entry backwards. A tombstone of version v blocks fills older than v and
    is replaced by a real row of version v. Returns True if stored."""
    new = encode(version, row)
    while True:
        old = cache.get(key)
        old_version, old_row = decode(old)
        if old is not None and (old_version > version or (old_version == version and old_row is not None)
                                or (old_version == version and row is None)):
            return False
        if old is None:
            done = cache.set(key, new, px=ttl_ms, nx=True)
        else:
            done = cache.execute_command("SET", key, new, "PX", ttl_ms, "IFEQ", old)
        if done:
            return True
        # someone changed the entry between our GET and SET: look again


def db_only_baseline(db, stream, seed, write_share=0.2):
    """The same mixed stream (same seed: the same reads and writes) served by
    the database alone: one query per request. What the cache is compared to."""
    rng, lat, before = random.Random(seed), [], Db.queries
    for pid in stream:
        t = time.perf_counter()
        if rng.random() < write_share:
            rng.randint(100, 9999)  # keep the draws in step with the cached run
            db.query("UPDATE products SET price = price WHERE id = %s", (pid,))
        else:
            db.query("SELECT id, name, price, version FROM products WHERE id = %s", (pid,))
        lat.append(time.perf_counter() - t)
    return {"db_queries": Db.queries - before, **latency_summary(lat)}
