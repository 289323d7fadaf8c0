#!/usr/bin/env python3
"""bench/eviction.py: one tricache node against redis-server (or, with
--cluster, a three-node tricache cluster against redis-server with two
replicas), both with the same maxmemory and policy, under a cache workload
that cannot fit.

A benchmark, not a test: it prints a markdown table and never fails on the
numbers. For each policy (allkeys-lru, allkeys-lfu) both servers get:
  - hit ratio: a cache-aside client (GET; on a miss, SET) over --keys keys
    drawn from a Zipf distribution (exponent --zipf), about ten times more
    keys than fit; counted after a warm-up of a fifth of the requests;
  - throughput while evicting: redis-benchmark SET with random keys over the
    same key count, pipeline depths 1 and 16;
  - memory: used_memory and peak RSS (INFO) against maxmemory; with
    --cluster the largest of the three nodes, and whether every node holds
    the same data (DEBUG DIGEST) afterwards.

Usage: bench/eviction.py [--tricache build/tricache] [--maxmemory 32mb]
                          [--keys 2000000] [--requests 1000000] [--zipf 0.99]
                          [--cluster]
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
         "--maxmemory", maxmemory, "--enable-debug-command", "yes"],
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


def start_redis_replicated(tmp, maxmemory):
    """A primary and two replicas (they apply the primary's evictions)."""
    port, proc = start_redis(tmp, maxmemory)
    ports, procs = [port], [proc]
    for i in range(2):
        d = os.path.join(tmp, f"replica{i}")
        os.mkdir(d)
        rp = free_port()
        procs.append(subprocess.Popen(
            ["redis-server", "--port", str(rp), "--save", "", "--appendonly", "no", "--dir", d,
             "--maxmemory", maxmemory, "--replicaof", "127.0.0.1", str(port), "--enable-debug-command", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_ready(rp, procs[-1])
        ports.append(rp)
    end = time.time() + 20
    while time.time() < end:
        if all(b"master_link_status:up" in (resp.try_call("127.0.0.1", p, "INFO", "replication") or b"")
               for p in ports[1:]):
            return ports, procs
        time.sleep(0.1)
    sys.exit("redis replicas did not connect to their primary")


def start_tricache_cluster(binary, tmp, maxmemory):
    """Three nodes; returns the ports with the primary's first."""
    ports = [free_port() for _ in range(3)]
    conf = os.path.join(tmp, "cluster3.toml")
    with open(conf, "w") as f:
        f.write(f'cluster_name = "bench3"\ndata_dir = "{tmp}/data3"\nmaxmemory = "{maxmemory}"\n')
        for i in range(3):
            f.write(f'[[node]]\nid = {i + 1}\nzone = "z{i}"\nclient_addr = "127.0.0.1:{ports[i]}"\n'
                    f'raft_addr = "127.0.0.1:{free_port()}"\n')
    procs = [subprocess.Popen([binary, "--config", conf, "--node", str(i + 1)], stdout=subprocess.DEVNULL,
                              stderr=open(os.path.join(tmp, f"node{i + 1}.log"), "w")) for i in range(3)]
    for port, proc in zip(ports, procs):
        wait_ready(port, proc)
    end = time.time() + 20
    while time.time() < end:
        for i, port in enumerate(ports):
            role = resp.try_call("127.0.0.1", port, "ROLE")
            if isinstance(role, list) and role and role[0] == b"master":
                return ports[i:i + 1] + ports[:i] + ports[i + 1:], procs
        time.sleep(0.1)
    sys.exit("no tricache primary elected")


def digests_equal(ports):
    """Every node holds the same data, once the replicas caught up."""
    end = time.time() + 30
    while time.time() < end:
        answers = [resp.try_call("127.0.0.1", p, "DEBUG", "DIGEST") for p in ports]
        if not all(isinstance(a, bytes) for a in answers):
            return "n/a"
        if len(set(answers)) == 1:
            return "yes"
        time.sleep(0.2)
    return "no"


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


def rss_max(ports):
    return max(int(resp.info_field(resp.try_call("127.0.0.1", p, "INFO", "memory"), "used_memory_rss"))
               for p in ports)


def hit_ratio(port, keys, requests, zipf, seed, all_ports):
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
            peak_rss = max(peak_rss, rss_max(all_ports))
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
    ap.add_argument("--cluster", action="store_true",
                    help="three tricache nodes against redis-server with two replicas")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="tc-bench-evict-")
    procs = []
    try:
        if a.cluster:
            rports, rprocs = start_redis_replicated(tmp, a.maxmemory)
            tports, tprocs = start_tricache_cluster(a.tricache, tmp, a.maxmemory)
        else:
            rport, rproc = start_redis(tmp, a.maxmemory)
            tport, tproc = start_tricache(a.tricache, tmp, a.maxmemory)
            rports, rprocs, tports, tprocs = [rport], [rproc], [tport], [tproc]
        procs = rprocs + tprocs
        rows = []
        for policy in ("allkeys-lru", "allkeys-lfu"):
            for name, ports in (("redis-server", rports), ("tricache", tports)):
                c = resp.Conn("127.0.0.1", ports[0], timeout=30)
                c.call("FLUSHALL")
                # tricache logs the setting to every node; Redis's replicas
                # take the primary's deletions whatever their own policy
                c.call("CONFIG", "SET", "maxmemory-policy", policy)
                c.close()
                print(f"{policy} {name}: hit ratio ...", file=sys.stderr)
                ratio, used, rss = hit_ratio(ports[0], a.keys, a.requests, a.zipf, 42, ports)
                print(f"{policy} {name}: throughput ...", file=sys.stderr)
                p1 = benchmark(ports[0], a.keys * 10, 1, 100000)
                p16 = benchmark(ports[0], a.keys * 10, 16, 500000)
                rss = max(rss, rss_max(ports))
                same = digests_equal(ports) if a.cluster else "-"
                rows.append((policy, name, ratio, p1, p16, used, rss, same))
        what = "primary + 2 replicas each" if a.cluster else "one node each"
        print(f"{what}; maxmemory {a.maxmemory}, {a.keys} keys (Zipf {a.zipf}), {a.requests} cache-aside "
              "requests; throughput: redis-benchmark SET -d 100 over 10x the keys; peak RSS: the largest node\n")
        print("| policy | server | hit ratio | SET/s -P 1 | SET/s -P 16 | used_memory | peak RSS | nodes equal |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for p, n, ratio, p1, p16, used, rss, same in rows:
            print(f"| {p} | {n} | {ratio:.3f} | {p1:.0f} | {p16:.0f} | {used / 1048576:.1f} MiB | "
                  f"{rss / 1048576:.1f} MiB | {same} |")
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
