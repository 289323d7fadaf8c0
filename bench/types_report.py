#!/usr/bin/env python3
"""Turn bench/types.sh's raw numbers into a markdown report.

Inputs (CSV with a header line):
  --raw     server,round,pipeline,test,rps,p50,p99            one row per redis-benchmark test
  --memory  dataset,server,before,after,elements,keys         one row per data set and server

Throughput: the median over rounds per (test, pipeline); ratio = median
tricache rps / median redis rps, and the spread of the per-round ratios
(min..max) shows the noise. Memory: bytes per element = used_memory growth /
elements; ratio = tricache / redis (lower is better for tricache).
Standard library only.
"""

import argparse
import csv
import statistics
import sys

from mdreport import fmt_ms, fmt_rps, ratio, table

SERVERS = ("redis", "tricache")
ORDER = ["LPUSH", "RPUSH", "LPOP", "RPOP", "SADD", "HSET", "SPOP", "ZADD", "ZPOPMIN", "LRANGE_100",
         "ZADD 1M", "ZRANGE BYLEX page"]


def fail(msg):
    print(f"types_report.py: {msg}", file=sys.stderr)
    sys.exit(1)


def read_raw(path):
    """{(test, pipeline): {round: {server: (rps, p50, p99)}}}"""
    data = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            key = (row["test"], int(row["pipeline"]))
            data.setdefault(key, {}).setdefault(int(row["round"]), {})[row["server"]] = (
                float(row["rps"]), float(row["p50"]), float(row["p99"]))
    if not data:
        fail(f"{path}: no results")
    return data


def order_key(k):
    return (ORDER.index(k[0]) if k[0] in ORDER else 99, k[0], k[1])


def throughput_table(data):
    header = ["test", "pipeline", "redis rps", "tricache rps", "tricache/redis", "per-round ratios",
              "redis p50 ms", "tricache p50 ms", "redis p99 ms", "tricache p99 ms"]
    rows = []
    for key in sorted(data, key=order_key):
        rounds = [r for r in data[key].values() if all(s in r for s in SERVERS)]
        if not rounds:
            continue
        med = {s: [statistics.median(r[s][i] for r in rounds) for i in range(3)] for s in SERVERS}
        per = [r["tricache"][0] / r["redis"][0] for r in rounds if r["redis"][0]]
        spread = f"{min(per):.2f}..{max(per):.2f}" if per else "n/a"
        rows.append([key[0], str(key[1]), fmt_rps(med["redis"][0]), fmt_rps(med["tricache"][0]),
                     ratio(med["tricache"][0], med["redis"][0]), spread,
                     fmt_ms(med["redis"][1]), fmt_ms(med["tricache"][1]),
                     fmt_ms(med["redis"][2]), fmt_ms(med["tricache"][2])])
    return table(header, rows, left=2)


def memory_table(path):
    mem = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            mem.setdefault(row["dataset"], {})[row["server"]] = row
    if not mem:
        return "(memory step skipped)"
    rows = []
    for dataset, servers in mem.items():
        if not all(s in servers for s in SERVERS):
            continue
        per = {s: (int(servers[s]["after"]) - int(servers[s]["before"])) / int(servers[s]["elements"])
               for s in SERVERS}
        growth = {s: int(servers[s]["after"]) - int(servers[s]["before"]) for s in SERVERS}
        rows.append([dataset, f"{int(servers['redis']['elements']):,}",
                     f"{growth['redis']:,}", f"{growth['tricache']:,}",
                     f"{per['redis']:.1f}", f"{per['tricache']:.1f}", ratio(per["tricache"], per["redis"])])
    return table(["data set", "elements", "redis bytes", "tricache bytes", "redis B/element",
                  "tricache B/element", "tricache/redis"], rows, left=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", required=True)
    ap.add_argument("--memory", required=True)
    ap.add_argument("--machine", required=True)
    ap.add_argument("--rounds", required=True)
    ap.add_argument("--requests", required=True)
    args = ap.parse_args()
    data = read_raw(args.raw)
    out = [
        "# tricache vs redis-server: collection types, single node",
        "",
        f"Machine: {args.machine}",
        "",
        f"{args.rounds} round(s) of {args.requests} requests per test, 50 clients; odd rounds run redis first, "
        "even rounds tricache first. Client and both servers share this machine (and whatever else runs on it).",
        "",
        "## Throughput and latency (medians over rounds)",
        "",
        "`redis-benchmark -t lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100 -r 100000 -d 64`; "
        "`ZADD 1M` is `ZADD bigz __rand_int__ m:__rand_int__ -r 1000000` into a sorted set loaded with 1M "
        "members first; `ZRANGE BYLEX page` is `ZRANGE lexz [m:__rand_int__ + BYLEX LIMIT 0 10` over a set "
        "of equal-score members `m:<12 digits>` (1M random inserts, ~632k distinct): an autocomplete page.",
        "",
        throughput_table(data),
        "",
        "## Memory (used_memory growth from an empty keyspace, loaded with redis-cli --pipe)",
        "",
        memory_table(args.memory),
    ]
    print("\n".join(out))


if __name__ == "__main__":
    main()
