"""redis-py's Sentinel client against a tricache cluster (every node answers
SENTINEL). Used by test_cluster: `phase1` writes keys 0..99 and prints the
primary's port; `phase2` (after the test killed that primary) keeps writing
keys 100..199 through the same kind of client, retrying while the cluster
elects a new primary, then reads all 200 back and prints the new port."""
import sys
import time

from redis.exceptions import ConnectionError, ReadOnlyError, ResponseError, TimeoutError
from redis.sentinel import MasterNotFoundError, Sentinel


def main():
    phase, ports = sys.argv[1], [int(p) for p in sys.argv[2:]]
    sentinel = Sentinel([("127.0.0.1", p) for p in ports], socket_timeout=1)
    master = sentinel.master_for("test", socket_timeout=1)
    first, last = (0, 100) if phase == "phase1" else (100, 200)
    deadline = time.monotonic() + 20
    for i in range(first, last):
        while True:
            try:
                master.set(f"sentinel:{i}", str(i))
                break
            except (ConnectionError, TimeoutError, ReadOnlyError, MasterNotFoundError, ResponseError) as e:
                if isinstance(e, ResponseError) and "TRYAGAIN" not in str(e):
                    raise
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    for i in range(0, last):
        value = master.get(f"sentinel:{i}")
        if value != str(i).encode():
            sys.exit(f"sentinel:{i} is {value!r}, expected {i}")
    print(sentinel.discover_master("test")[1])


if __name__ == "__main__":
    main()
