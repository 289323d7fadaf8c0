"""redis-py's RedisCluster against a tricache cluster with cluster_mode = true.
Used by test_rediscluster, one phase per run, each with a new client:

  start PORT                 RedisCluster(host, port) starts (INFO's
                             cluster_enabled, CLUSTER SLOTS); set/get, a
                             hash-tag mset/mget, a pipeline, and reads with
                             read_from_replicas that the replicas serve;
                             prints the primary's port
  after-kill KILLED PORT...  (the test killed the primary KILLED) a new
                             client from each surviving PORT writes and reads;
                             started from the primary it does not list KILLED
                             and its replica reads succeed
  restarted BACK PORT        (KILLED restarted as BACK) a new client from the
                             primary PORT lists BACK again and BACK serves
                             replica reads
"""
import sys
import time

from redis import Redis
from redis.cluster import RedisCluster
from redis.exceptions import ClusterDownError, ConnectionError, RedisClusterException, TimeoutError

HOST = "127.0.0.1"


def fail(msg):
    sys.exit(f"rediscluster_client: {msg}")


def expect(what, got, want):
    if got != want:
        fail(f"{what}: got {got!r}, expected {want!r}")


def client(port, **kw):
    """A new RedisCluster from one startup node; retried for a few seconds
    in case an election is still settling."""
    deadline = time.monotonic() + 20
    while True:
        try:
            return RedisCluster(host=HOST, port=port, socket_timeout=5, **kw)
        except (RedisClusterException, ClusterDownError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def ports_of(nodes):
    return sorted(n.port for n in nodes)


def get_calls(port):
    stats = Redis(host=HOST, port=port, socket_timeout=2).info("commandstats")
    return stats.get("cmdstat_get", {}).get("calls", 0)


def replica_reads(port, key, want, rounds=40):
    """GETs through a read_from_replicas client started at port; returns the
    client. Replicas apply the write a moment after the primary acknowledged
    it, so each read is retried until it sees the value."""
    ro = client(port, read_from_replicas=True)
    for _ in range(rounds):
        deadline = time.monotonic() + 5
        while True:
            value = ro.get(key)
            if value == want:
                break
            if time.monotonic() > deadline:
                fail(f"read_from_replicas GET {key} is {value!r}, expected {want!r}")
            time.sleep(0.02)
    return ro


def start(port):
    rc = client(port)
    if not rc.get_primaries():
        fail("no primary in CLUSTER SLOTS")
    expect("nodes", len(rc.get_nodes()), 3)
    expect("set", rc.set("rc:foo", "bar"), True)
    expect("get", rc.get("rc:foo"), b"bar")
    expect("keyslot", rc.keyslot("{user1}:a"), rc.keyslot("{user1}:b"))
    expect("mset", rc.mset({"{user1}:a": "1", "{user1}:b": "2"}), True)
    expect("mget", rc.mget("{user1}:a", "{user1}:b"), [b"1", b"2"])
    # idempotent commands only: redis-py resends a pipeline's command that
    # met an error such as TRYAGAIN, whose write may have been applied
    pipe = rc.pipeline()
    pipe.set("{pipe}:1", "one")
    pipe.set("{pipe}:2", "two")
    pipe.get("{pipe}:1")
    pipe.exists("{pipe}:1", "{pipe}:2", "{pipe}:none")
    pipe.get("{pipe}:2")
    expect("pipeline", pipe.execute(), [True, True, b"one", 2, b"two"])
    replicas = ports_of(rc.get_replicas())
    expect("replicas", len(replicas), 2)
    before = sum(get_calls(p) for p in replicas)
    replica_reads(port, "rc:foo", b"bar")
    if sum(get_calls(p) for p in replicas) <= before:
        fail("read_from_replicas: no GET reached a replica")
    print(rc.get_primaries()[0].port)


def after_kill(killed, ports):
    for port in ports:
        rc = client(port)
        primary = rc.get_primaries()[0].port
        if primary == killed:
            fail(f"the client started at {port} takes the killed node {killed} for the primary")
        key = f"rc:after:{port}"
        expect("set after the kill", rc.set(key, str(port)), True)
        expect("get after the kill", rc.get(key), str(port).encode())
        if port == primary:
            # the primary knows the killed node is down: CLUSTER SLOTS leaves it out
            if killed in ports_of(rc.get_nodes()):
                fail(f"the primary's CLUSTER SLOTS still lists the killed node {killed}")
            replica_reads(port, key, str(port).encode())
        rc.close()


def restarted(back, port):
    rc = client(port)
    if back not in ports_of(rc.get_replicas()):
        fail(f"node {back} is not listed again after its restart: {ports_of(rc.get_nodes())}")
    expect("set", rc.set("rc:back", "again"), True)
    before = get_calls(back)
    replica_reads(port, "rc:back", b"again")
    if get_calls(back) <= before:
        fail(f"read_from_replicas: the restarted node {back} served no GET")


def main():
    phase, args = sys.argv[1], [int(a) for a in sys.argv[2:]]
    if phase == "start":
        start(args[0])
    elif phase == "after-kill":
        after_kill(args[0], args[1:])
    elif phase == "restarted":
        restarted(args[0], args[1])
    else:
        fail(f"unknown phase {phase}")


if __name__ == "__main__":
    main()
