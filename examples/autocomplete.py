"""Pattern 5: autocomplete on a sorted set.

Every product name goes into one sorted set with score 0, as
"<lowercased name>:<original name>". Members of equal score are ordered
byte-wise, so the names starting with a prefix are one range:
ZRANGE ac [<prefix> [<prefix>\\xff BYLEX LIMIT 0 n. Lowercasing the part
before ':' makes the match case-insensitive while the part after it keeps
the name as written. The set follows the table: the application changes
both, database first (insert, rename, delete).
"""
import random

from common import CacheUnavailable, Db, cache_call

KEY = "ac:products"


def entry(name):
    return f"{name.lower()}:{name}"


def build_index(cache, db):
    names = [r[0] for r in db.query("SELECT name FROM products")]
    cache.delete(KEY)
    for i in range(0, len(names), 500):
        cache.zadd(KEY, {entry(n): 0 for n in names[i:i + 500]})


def suggest(cache, db, prefix, limit=1000):
    p = prefix.lower()
    try:
        # ZRANGE ... BYLEX, Redis 6.2+ syntax.
        # The upper bound is the byte 0xff (bytes: a str "\xff" would be
        # sent as UTF-8, c3 bf, and miss names with non-ASCII letters).
        hi = b"[" + p.encode() + b"\xff"
        found = cache_call(lambda: cache.execute_command("ZRANGE", KEY, "[" + p, hi, "BYLEX", "LIMIT", 0, limit))
        return [m.split(":", 1)[1] for m in found]
    except CacheUnavailable:
        # Cache down: the same answer, slower, from the database.
        like = p.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = db.query("SELECT name FROM products WHERE name ILIKE %s ORDER BY lower(name), name LIMIT %s",
                        (like, limit))
        return [r[0] for r in rows]


def insert(cache, db, pid, name):
    db.query("INSERT INTO products (id, name, price) VALUES (%s, %s, 100)", (pid, name))
    cache_call(lambda: cache.zadd(KEY, {entry(name): 0}), budget=15)


def rename(cache, db, pid, new):
    old = db.query("SELECT name FROM products WHERE id = %s", (pid,))[0][0]
    db.query("UPDATE products SET name = %s, version = version + 1 WHERE id = %s", (new, pid))

    def swap():
        with cache.pipeline(transaction=True) as p:  # never both or neither visible
            p.zrem(KEY, entry(old))
            p.zadd(KEY, {entry(new): 0})
            p.execute()
    cache_call(swap, budget=15)


def delete(cache, db, pid):
    name = db.query("DELETE FROM products WHERE id = %s RETURNING name", (pid,))[0][0]
    cache_call(lambda: cache.zrem(KEY, entry(name)), budget=15)


def run(world, n_products):
    cache, db = world.sentinel_master(), Db(world)
    build_index(cache, db)
    rng = random.Random(3)
    insert(cache, db, n_products + 1, "KALO Special Lamp")
    insert(cache, db, n_products + 2, "kalo tiny mug")
    rename(cache, db, 5, "Kalimera Desk")
    delete(cache, db, 6)
    ids = [r[0] for r in db.query("SELECT id FROM products ORDER BY id")]
    for pid in rng.sample(ids, 10):
        rename(cache, db, pid, "Ka" + rng.choice(["lo", "li", "ra"]) + f" renamed {pid}")
    for pid in rng.sample(ids[20:], 5):
        delete(cache, db, pid)
    prefixes = ["k", "ka", "KA", "kal", "Kalo", "kalo ", "lo", "mira", "zz", "z", "t", "su", "q"]
    mismatches = []
    for prefix in prefixes:
        got = suggest(cache, db, prefix)
        like = prefix.replace("%", "\\%").replace("_", "\\_") + "%"
        want = [r[0] for r in db.query("SELECT name FROM products WHERE name ILIKE %s", (like,))]
        if sorted(got) != sorted(want):
            mismatches.append({"prefix": prefix, "cache": sorted(got), "db": sorted(want)})
    sample = suggest(cache, db, "kal", limit=5)
    db.close()
    return {"prefixes_compared": len(prefixes), "mismatches": mismatches,
            "example": {"prefix": "kal", "top5": sample}}


def check(res):
    assert not res["mismatches"], res
