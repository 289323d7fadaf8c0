"""Pattern 6: a leaderboard on a sorted set.

Each scoring event adds points with ZINCRBY to the all-time board and to
today's board (board:daily:<date>, which expires a day after the day
ends, so old days clean themselves up). Top-N is ZRANGE ... REV
WITHSCORES; a player's rank as SQL's RANK() counts it (ties share a
rank) is 1 + the number of players with strictly more points, ZCOUNT
board (score +inf. The database keeps the points too (scores table), and
the check compares the two.
"""
import datetime
import random
import time

from redis.exceptions import WatchError

from common import Db, cache_call

BOARD = "board:alltime"


def daily_key(day):
    return f"board:daily:{day.isoformat()}"


def add_points(cache, db, event_id, player, points, day):
    # The database is the record (UPSERT, committed first); the boards are
    # the fast read path.
    db.query("INSERT INTO scores VALUES (%s, %s) ON CONFLICT (player)"
             " DO UPDATE SET points = scores.points + EXCLUDED.points", (player, points))
    end_of_day = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(),
                                           tzinfo=datetime.timezone.utc)
    expire_at = int(end_of_day.timestamp()) + 24 * 3600
    seen = f"board:event:{event_id}"

    def incr():
        # ZINCRBY is not idempotent: after a timeout or a failover the reply
        # may be lost although the increment was applied, and a blind retry
        # would count the points twice. The event's own key, set in the same
        # MULTI and WATCHed first, tells a retry that it already happened.
        with cache.pipeline(transaction=True) as p:
            while True:
                try:
                    p.watch(seen)
                    if p.exists(seen):
                        return
                    p.multi()
                    p.set(seen, 1, exat=expire_at)
                    p.zincrby(BOARD, points, player)
                    p.zincrby(daily_key(day), points, player)
                    p.expireat(daily_key(day), expire_at)
                    p.execute()
                    return
                except WatchError:
                    continue  # someone wrote the event key meanwhile: look again
    cache_call(incr, budget=15)


def top(cache, n):
    return cache.zrange(BOARD, 0, n - 1, desc=True, withscores=True)  # ZRANGE ... REV WITHSCORES


def rank(cache, player):
    score = cache.zscore(BOARD, player)
    return None if score is None else 1 + cache.zcount(BOARD, f"({score}", "+inf")


def run(world, n_players, n_events):
    cache, db = world.sentinel_master(), Db(world)
    cache.delete(BOARD)
    day = datetime.datetime.now(datetime.timezone.utc).date()
    cache.delete(daily_key(day))
    rng = random.Random(21)
    run_id = rng.getrandbits(32) ^ int(time.time())  # event ids unique to this run
    for n in range(n_events):
        # few distinct point values, so ties happen and RANK()'s rule matters
        add_points(cache, db, f"{run_id}:{n}", f"player{rng.randint(1, n_players)}", rng.choice([1, 2, 5]), day)
    want = {p: (r, pts) for p, pts, r in db.query(
        "SELECT player, points, RANK() OVER (ORDER BY points DESC) FROM scores")}
    rank_mismatch = [p for p, (r, pts) in want.items()
                     if rank(cache, p) != r or cache.zscore(BOARD, p) != pts]
    top5 = top(cache, 5)
    top5_db = db.query('SELECT player, points FROM scores ORDER BY points DESC, player COLLATE "C" DESC LIMIT 5')
    ttl = cache.ttl(daily_key(day))
    db.close()
    return {"players": len(want), "events": n_events, "rank_mismatches": rank_mismatch,
            "top5": [(p, int(s)) for p, s in top5], "top5_matches_db": [(p, int(s)) for p, s in top5] ==
            [(p, s) for p, s in top5_db],
            "daily_board_ttl_s": ttl, "zrevrank_of_leader": cache.zrevrank(BOARD, top5[0][0])}


def check(res):
    assert not res["rank_mismatches"], res
    assert res["top5_matches_db"], res
    assert 24 * 3600 < res["daily_board_ttl_s"] <= 48 * 3600, res
