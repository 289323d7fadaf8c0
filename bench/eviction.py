#!/usr/bin/env python3
"""bench/eviction.py: one tricache node against redis-server, both with the
same maxmemory and policy, under a cache workload that cannot fit.

A benchmark, not a test: it prints a markdown table and never fails on the
numbers. For each policy (allkeys-lru, allkeys-lfu) both servers get:
  - hit ratio: a cache-aside client (GET; on a miss, SET) over --keys keys
    drawn from a Zipf distribution (exponent --zipf), about ten times more
    keys than fit; counted after a warm-up of a fifth of the requests;
  - throughput while evicting: redis-benchmark SET with random keys over the
    same key count, pipeline depths 1 and 16;
  - memory: used_memory and peak RSS (INFO) against maxmemory.

Usage: bench/eviction.py [--tricache build/tricache] [--maxmemory 32mb]
                          [--keys 2000000] [--requests 1000000] [--zipf 0.99]
"""

import argparse
import bisect
import itertools
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import resp  # noqa: E402

VALUE = b"v" * 100


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_ready(port, proc, deadline_s=10):
    end = time.time() + deadline_s
    while time.time() < end:
        if proc.poll() is not None:
            sys.exit(f"server on port {port} exited during startup")
        if resp.try_call("127.0.0.1", port, "PING") == b"PONG":
            return
        time.sleep(0.05)
    sys.exit(f"server on port {port} did not answer PING")


def start_redis(tmp, maxmemory):
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", tmp,
         "--maxmemory", maxmemory],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(port, proc)
    return port, proc


def start_tricache(binary, tmp, maxmemory):
    port, raft = free_port(), free_port()
    conf = os.path.join(tmp, "cluster.toml")
    with open(conf, "w") as f:
        f.write(f'cluster_name = "bench"\ndata_dir = "{tmp}/data"\nmaxmemory = "{maxmemory}"\n'
                f'[[node]]\nid = 1\nzone = "a"\nclient_addr = "127.0.0.1:{port}"\n'
                f'raft_addr = "127.0.0.1:{raft}"\n')
    proc = subprocess.Popen([binary, "--config", conf, "--node", "1"], stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(tmp, "node.log"), "w"))
    wait_ready(port, proc)
    return port, proc


def zipf_sampler(n, s, rng):
    """Ranks 0..n-1 with P(r) proportional to 1/(r+1)^s, keys shuffled so the
    hot ones are spread over the key space."""
    cdf = list(itertools.accumulate(1.0 / (r + 1) ** s for r in range(n)))
    total = cdf[-1]
    perm = list(range(n))
    rng.shuffle(perm)
    return lambda: perm[min(bisect.bisect_left(cdf, rng.random() * total), n - 1)]


def info(conn, field):
    return resp.info_field(conn.call("INFO", "memory"), field)


def hit_ratio(port, keys, requests, zipf, seed):
    rng = random.Random(seed)
    draw = zipf_sampler(keys, zipf, rng)
    c = resp.Conn("127.0.0.1", port, timeout=30)
    hits = gets = 0
    warm = requests // 5
    peak_rss = 0
    done = 0
    while done < requests:
        batch = [b"k:%d" % draw() for _ in range(500)]
        replies = c.pipeline([("GET", k) for k in batch])
        misses = [k for k, r in zip(batch, replies) if r is None]
        if misses:
            for r in c.pipeline([("SET", k, VALUE) for k in misses]):
                if isinstance(r, resp.RespError):
                    sys.exit(f"SET refused: {r.text}")
        if done >= warm:
            gets += len(batch)
            hits += len(batch) - len(misses)
        done += len(batch)
        if done % 50000 < 500:
            peak_rss = max(peak_rss, int(info(c, "used_memory_rss")))
    used = int(info(c, "used_memory"))
    c.close()
    return hits / gets, used, peak_rss


def benchmark(port, keys, pipeline, requests):
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-t", "set", "-n", str(requests), "-r", str(keys), "-d", "100",
         "-P", str(pipeline), "-q"], capture_output=True, text=True).stdout
    for line in out.replace("\r", "\n").splitlines():
        if "requests per second" in line:
            last = line
    return float(last.split()[1])


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--tricache", default=os.path.join(here, "build", "tricache"))
    ap.add_argument("--maxmemory", default="32mb")
    ap.add_argument("--keys", type=int, default=2000000)
    ap.add_argument("--requests", type=int, default=1000000)
    ap.add_argument("--zipf", type=float, default=0.99)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="tc-bench-evict-")
    procs = []
    try:
        rport, rproc = start_redis(tmp, a.maxmemory)
        procs.append(rproc)
        tport, tproc = start_tricache(a.tricache, tmp, a.maxmemory)
        procs.append(tproc)
        rows = []
        for policy in ("allkeys-lru", "allkeys-lfu"):
            for name, port in (("redis-server", rport), ("tricache", tport)):
                c = resp.Conn("127.0.0.1", port, timeout=30)
                c.call("FLUSHALL")
                c.call("CONFIG", "SET", "maxmemory-policy", policy)
                c.close()
                print(f"{policy} {name}: hit ratio ...", file=sys.stderr)
                ratio, used, rss = hit_ratio(port, a.keys, a.requests, a.zipf, 42)
                print(f"{policy} {name}: throughput ...", file=sys.stderr)
                p1 = benchmark(port, a.keys * 10, 1, 100000)
                p16 = benchmark(port, a.keys * 10, 16, 500000)
                rows.append((policy, name, ratio, p1, p16, used, rss))
        print(f"maxmemory {a.maxmemory}, {a.keys} keys (Zipf {a.zipf}), {a.requests} cache-aside requests; "
              "throughput: redis-benchmark SET -d 100 over 10x the keys\n")
        print("| policy | server | hit ratio | SET/s -P 1 | SET/s -P 16 | used_memory | peak RSS |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for p, n, ratio, p1, p16, used, rss in rows:
            print(f"| {p} | {n} | {ratio:.3f} | {p1:.0f} | {p16:.0f} | {used / 1048576:.1f} MiB | "
                  f"{rss / 1048576:.1f} MiB |")
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
