#!/usr/bin/env python3
"""Turn the raw numbers collected by bench/node.sh into a markdown report.

Inputs (both CSV with a header line, written by node.sh):
  --raw     server,round,pipeline,test,rps,p50,p99   one row per redis-benchmark test
  --memory  server,before,after,keys                 one row per server

The summary table shows, per (test, pipeline), the median over rounds of each
number; the ratio column is median tricache rps / median redis rps. The
detailed table repeats every round so the run-to-run noise is visible.
Standard library only.
"""

import argparse
import csv
import statistics
import sys

from mdreport import fmt_ms, fmt_rps, ratio, table

SERVERS = ("redis", "tricache")
TEST_ORDER = {"SET": 0, "GET": 1}


def fail(msg):
    print(f"summarize.py: {msg}", file=sys.stderr)
    sys.exit(1)


def read_raw(path):
    """{(test, pipeline): {round: {server: (rps, p50, p99)}}}"""
    data = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            key = (row["test"], int(row["pipeline"]))
            per_round = data.setdefault(key, {}).setdefault(int(row["round"]), {})
            if row["server"] in per_round:
                fail(f"duplicate row for {row['server']} {key} round {row['round']}")
            per_round[row["server"]] = (float(row["rps"]), float(row["p50"]), float(row["p99"]))
    if not data:
        fail(f"{path}: no results")
    for key, rounds in data.items():
        for rnd, servers in rounds.items():
            missing = [s for s in SERVERS if s not in servers]
            if missing:
                fail(f"no {', '.join(missing)} result for {key[0]} pipeline {key[1]} round {rnd}")
    return data


def read_memory(path):
    """{server: (before, after, keys)}"""
    mem = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            mem[row["server"]] = (int(row["before"]), int(row["after"]), int(row["keys"]))
    for s in SERVERS:
        if s not in mem:
            fail(f"{path}: no memory result for {s}")
    return mem


def sorted_keys(data):
    return sorted(data, key=lambda k: (TEST_ORDER.get(k[0], 99), k[0], k[1]))


def summary_table(data):
    header = ["test", "pipeline", "redis rps", "tricache rps", "tricache/redis",
              "redis p50 ms", "tricache p50 ms", "redis p99 ms", "tricache p99 ms"]
    rows = []
    for key in sorted_keys(data):
        rounds = data[key].values()
        # med[server][i]: median over rounds of field i (0 rps, 1 p50, 2 p99)
        med = {s: [statistics.median(r[s][i] for r in rounds) for i in range(3)] for s in SERVERS}
        rows.append([key[0], str(key[1]),
                     fmt_rps(med["redis"][0]), fmt_rps(med["tricache"][0]),
                     ratio(med["tricache"][0], med["redis"][0]),
                     fmt_ms(med["redis"][1]), fmt_ms(med["tricache"][1]),
                     fmt_ms(med["redis"][2]), fmt_ms(med["tricache"][2])])
    return table(header, rows, left=2)


def detail_table(data):
    header = ["test", "pipeline", "round", "ran first", "redis rps", "tricache rps", "tricache/redis",
              "redis p50 ms", "tricache p50 ms", "redis p99 ms", "tricache p99 ms"]
    rows = []
    for key in sorted_keys(data):
        for rnd in sorted(data[key]):
            r, t = data[key][rnd]["redis"], data[key][rnd]["tricache"]
            # node.sh runs redis first in odd rounds, tricache first in even ones.
            first = "redis" if rnd % 2 == 1 else "tricache"
            rows.append([key[0], str(key[1]), str(rnd), first,
                         fmt_rps(r[0]), fmt_rps(t[0]), ratio(t[0], r[0]),
                         fmt_ms(r[1]), fmt_ms(t[1]), fmt_ms(r[2]), fmt_ms(t[2])])
    return table(header, rows, left=4)


def read_cpu(path):
    """{pipeline: {server: [cpu_us per request, one per round]}}"""
    out = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            out.setdefault(int(row["pipeline"]), {}).setdefault(row["server"], []).append(float(row["cpu_us"]))
    return out


def cpu_table(cpu):
    rows = []
    for p in sorted(cpu):
        r = statistics.median(cpu[p].get("redis", [float("nan")]))
        t = statistics.median(cpu[p].get("tricache", [float("nan")]))
        rows.append([str(p), f"{r:.2f}", f"{t:.2f}", ratio(t, r)])
    return table(["pipeline", "redis µs/request", "tricache µs/request", "tricache/redis"], rows, left=1)


def memory_table(mem):
    per_key = {s: (mem[s][1] - mem[s][0]) / mem[s][2] for s in SERVERS}
    rows = [
        ["keys (DBSIZE)", f"{mem['redis'][2]:,}", f"{mem['tricache'][2]:,}", ""],
        ["used_memory before", f"{mem['redis'][0]:,}", f"{mem['tricache'][0]:,}", ""],
        ["used_memory after", f"{mem['redis'][1]:,}", f"{mem['tricache'][1]:,}", ""],
        ["**bytes per key**", f"{per_key['redis']:.1f}", f"{per_key['tricache']:.1f}",
         ratio(per_key["tricache"], per_key["redis"])],
    ]
    return table(["", "redis", "tricache", "tricache/redis"], rows, left=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", required=True)
    ap.add_argument("--cpu", required=True)
    ap.add_argument("--memory", required=True)
    ap.add_argument("--machine", required=True)
    ap.add_argument("--command", required=True)
    ap.add_argument("--populate", required=True)
    args = ap.parse_args()

    data = read_raw(args.raw)
    mem = read_memory(args.memory)
    cpu = read_cpu(args.cpu)
    nrounds = max(len(v) for v in data.values())
    pipelines = ", ".join(str(p) for p in sorted({k[1] for k in data}))

    out = [
        "# tricache vs redis-server, single node",
        "",
        f"Machine: {args.machine}",
        "",
        f"Command: `{args.command}`",
        "",
        f"PORT is each server in turn, PIPELINE is {pipelines}; {nrounds} round(s), "
        "odd rounds run redis first, even rounds tricache first. "
        "Client and both servers share this machine.",
        "",
        f"## Throughput and latency (median of {nrounds} round(s))",
        "",
        summary_table(data),
        "",
        f"## Server CPU time per request (median of {nrounds} round(s), SET and GET together; lower is better)",
        "",
        cpu_table(cpu),
        "",
        f"## Memory ({args.populate} after FLUSHALL)",
        "",
        "bytes per key = (used_memory after - used_memory before) / keys.",
        "",
        memory_table(mem),
        "",
        "## Every round",
        "",
        detail_table(data),
    ]
    print("\n".join(out))


if __name__ == "__main__":
    main()
