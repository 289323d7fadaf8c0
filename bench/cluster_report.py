#!/usr/bin/env python3
"""Turn the raw numbers collected by bench/cluster.sh into a markdown report.

Inputs (CSV with a header line, written by cluster.sh):
  --bench     system,round,test,pipeline,rps,p50,p99,node[,cpu_us]   redis-benchmark runs
              (cpu_us: CPU microseconds per request of the node that served it)
  --client    mode,round,ops,p50,p99,errors,first_error     bench/setwait.py runs
  --failover  system,kind,trial,failover_ms,acked,old_acked,old_refused,
              checked,missing,wrong,settle_s,victim,new_primary
  --terms     term_before,term_after (no header)            tricache's Raft term
                                                            around the throughput runs

Summary tables show medians over rounds; ratios are median tricache /
median Redis. The goals of the issue are listed with what this run measured;
the report never fails on them. Standard library only.
"""

import argparse
import csv
import statistics
import sys

from mdreport import fmt_ms, fmt_rps, ratio, table

SYSTEMS = ("redis", "tricache")
MODES = ("redis-set", "redis-setwait", "tricache-set")
MODE_LABEL = {
    "redis-set": "Redis SET (asynchronous replication)",
    "redis-setwait": "Redis SET + WAIT 2 0",
    "tricache-set": "tricache SET (majority-acknowledged)",
}
TEST_LABEL = {"GET": "GET on a replica", "SET": "SET on the primary"}


def fail(msg):
    print(f"cluster_report.py: {msg}", file=sys.stderr)
    sys.exit(1)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# ---- redis-benchmark runs -------------------------------------------------------


def read_bench(path):
    """{(test, pipeline): {round: {system: (rps, p50, p99, node, cpu_us)}}}"""
    data = {}
    for row in read_csv(path):
        key = (row["test"], int(row["pipeline"]))
        per_round = data.setdefault(key, {}).setdefault(int(row["round"]), {})
        cpu = float(row["cpu_us"]) if row.get("cpu_us") else float("nan")
        per_round[row["system"]] = (float(row["rps"]), float(row["p50"]), float(row["p99"]), row["node"], cpu)
    if not data:
        fail(f"{path}: no results")
    for key, rounds in data.items():
        for rnd, systems in rounds.items():
            for s in SYSTEMS:
                if s not in systems:
                    fail(f"no {s} result for {key} round {rnd}")
    return data


def bench_keys(data):
    return sorted(data, key=lambda k: ({"GET": 0, "SET": 1}.get(k[0], 9), k[1]))


def bench_medians(data):
    """{(test, pipeline): {system: [median rps, p50, p99, cpu_us]}}"""
    return {key: {s: [statistics.median(r[s][i] for r in data[key].values()) for i in (0, 1, 2, 4)]
                  for s in SYSTEMS}
            for key in data}


def syscalls_table(path):
    rows = []
    try:
        with open(path) as f:
            for line in f:
                system, n, w, r, e = line.strip().split(",")
                n = int(n)
                rows.append([system, "%.3f" % (int(w) / n), "%.3f" % (int(r) / n), "%.3f" % (int(e) / n)])
    except (OSError, ValueError):
        rows = []
    if not rows:
        return "(not measured: perf with tracepoints is needed, as root)"
    return table(["primary", "writes/req", "reads/req", "epoll waits/req"], rows, left=1)


def fmt_cpu(us):
    return "-" if us != us else "%.1f" % us


def bench_summary(data, med):
    rows = []
    for key in bench_keys(data):
        m = med[key]
        rows.append([TEST_LABEL.get(key[0], key[0]), str(key[1]),
                     fmt_rps(m["redis"][0]), fmt_rps(m["tricache"][0]), ratio(m["tricache"][0], m["redis"][0]),
                     fmt_ms(m["redis"][1]), fmt_ms(m["tricache"][1]), fmt_ms(m["redis"][2]), fmt_ms(m["tricache"][2]),
                     fmt_cpu(m["redis"][3]), fmt_cpu(m["tricache"][3])])
    return table(["test", "-P", "Redis rps", "tricache rps", "tricache/Redis",
                  "Redis p50 ms", "tricache p50 ms", "Redis p99 ms", "tricache p99 ms",
                  "Redis CPU µs/req", "tricache CPU µs/req"], rows, left=2)


def bench_rounds(data):
    rows = []
    for key in bench_keys(data):
        for rnd in sorted(data[key]):
            r, t = data[key][rnd]["redis"], data[key][rnd]["tricache"]
            rows.append([TEST_LABEL.get(key[0], key[0]), str(key[1]), str(rnd),
                         "Redis" if rnd % 2 == 1 else "tricache",
                         fmt_rps(r[0]), fmt_rps(t[0]), ratio(t[0], r[0]),
                         fmt_ms(r[1]), fmt_ms(t[1]), fmt_ms(r[2]), fmt_ms(t[2]), t[3]])
    return table(["test", "-P", "round", "ran first", "Redis rps", "tricache rps", "tricache/Redis",
                  "Redis p50 ms", "tricache p50 ms", "Redis p99 ms", "tricache p99 ms", "tricache node"],
                 rows, left=4)


# ---- setwait.py runs ---------------------------------------------------------------


def read_client(path):
    """{mode: {round: (ops, p50, p99, errors, first_error)}}"""
    data = {}
    for row in read_csv(path):
        data.setdefault(row["mode"], {})[int(row["round"])] = (
            float(row["ops"]), float(row["p50"]), float(row["p99"]), int(row["errors"]), row["first_error"])
    for m in MODES:
        if m not in data:
            fail(f"{path}: no {m} result")
    return data


def client_medians(data):
    return {m: [statistics.median(r[i] for r in data[m].values()) for i in range(3)] for m in MODES}


def client_summary(data, med):
    rows = []
    for m in MODES:
        errors = sum(r[3] for r in data[m].values())
        rows.append([MODE_LABEL[m], fmt_rps(med[m][0]), fmt_ms(med[m][1]), fmt_ms(med[m][2]), str(errors)])
    return table(["client operation", "ops/s", "p50 ms", "p99 ms", "error replies"], rows)


def client_rounds(data):
    rows = []
    for m in MODES:
        for rnd in sorted(data[m]):
            ops, p50, p99, errors, first = data[m][rnd]
            rows.append([MODE_LABEL[m], str(rnd), fmt_rps(ops), fmt_ms(p50), fmt_ms(p99),
                         str(errors) + (f" ({first})" if first else "")])
    return table(["client operation", "round", "ops/s", "p50 ms", "p99 ms", "error replies"], rows, left=2)


# ---- failover -------------------------------------------------------------------------


def read_failover(path):
    rows = []
    for row in read_csv(path):
        row["failover_ms"] = float(row["failover_ms"]) if row["failover_ms"] else None
        for k in ("trial", "acked", "old_acked", "old_refused", "checked", "missing", "wrong"):
            row[k] = int(row[k])
        row["lost"] = row["missing"] + row["wrong"]
        rows.append(row)
    return rows


def failover_stats(rows):
    """(trials, failovers that completed, median, min, max, acked, lost)"""
    times = [r["failover_ms"] for r in rows if r["failover_ms"] is not None]
    return (len(rows), len(times),
            statistics.median(times) if times else None,
            min(times) if times else None,
            max(times) if times else None,
            sum(r["acked"] for r in rows), sum(r["lost"] for r in rows))


def fmt_opt_ms(x):
    return "n/a" if x is None else f"{x:.0f}"


def failover_summary(fo, args):
    rows = []
    tc_kill = [r for r in fo if r["system"] == "tricache" and r["kind"] == "kill"]
    tc_stop = [r for r in fo if r["system"] == "tricache" and r["kind"] == "stop"]
    rd_kill = [r for r in fo if r["system"] == "redis" and r["kind"] == "kill"]

    def row(label, rs):
        n, ok, med, lo, hi, acked, lost = failover_stats(rs)
        trials = f"{n}" if ok == n else f"{n} ({n - ok} without failover in 30 s)"
        return [label, trials, fmt_opt_ms(med), fmt_opt_ms(lo), fmt_opt_ms(hi), f"{acked:,}", str(lost)]

    if tc_kill:
        rows.append(row("tricache, kill -9 of the primary", tc_kill))
    if rd_kill:
        rows.append(row(f"Redis + 3 Sentinels (down-after {args.down_after} ms), kill -9 of the master", rd_kill))
    if tc_stop:
        rows.append(row(f"tricache, SIGSTOP of the primary for {args.freeze:g} s", tc_stop))
    return table(["trial", "trials", "median ms", "min ms", "max ms", "acknowledged writes", "lost"], rows)


def failover_rounds(fo):
    rows = []
    for r in fo:
        rows.append([r["system"], r["kind"], str(r["trial"]), f"{r['victim']} → {r['new_primary']}",
                     fmt_opt_ms(r["failover_ms"]), f"{r['acked']:,}", f"{r['old_acked']} / {r['old_refused']}",
                     str(r["missing"]), str(r["wrong"]), r["settle_s"]])
    return table(["system", "fault", "trial", "primary (node) before → after", "failover ms",
                  "acknowledged", "old-primary conn. acked / refused", "missing", "wrong value", "settled in s"],
                 rows, left=4)


# ---- goals ------------------------------------------------------------------------------


def verdict(ok):
    if ok is None:
        return "n/a"
    return "yes" if ok else "**no**"


def goals_table(bmed, cmed, fo):
    rows = []
    for p in (1, 16):
        m = bmed.get(("GET", p))
        if m:
            r = m["tricache"][0] / m["redis"][0]
            rows.append([f"(1) replica GET, -P {p}", "≥ 1.0× Redis replica", f"{r:.2f}×", verdict(r >= 1.0)])
    for p in (1, 16):
        m = bmed.get(("SET", p))
        if m:
            r = m["tricache"][0] / m["redis"][0]
            rows.append([f"(2) SET, -P {p} (redis-benchmark)", "≥ 1.0× Redis asynchronous SET", f"{r:.2f}×",
                         verdict(r >= 1.0)])
    r = cmed["tricache-set"][0] / cmed["redis-setwait"][0]
    rows.append(["(2) SET vs SET + WAIT 2 0 (setwait.py)", "≥ 1.5× Redis SET + WAIT 2 0", f"{r:.2f}×", verdict(r >= 1.5)])
    t50, w50 = cmed["tricache-set"][1], cmed["redis-setwait"][1]
    rows.append(["(3) SET p50 latency (setwait.py)", "≤ Redis SET + WAIT p50",
                 f"{t50:.3f} ms vs {w50:.3f} ms", verdict(t50 <= w50)])
    rows.append(["(3) SET p99 latency (setwait.py)", "reported",
                 f"{cmed['tricache-set'][2]:.3f} ms vs {cmed['redis-setwait'][2]:.3f} ms", "—"])
    kills = [r for r in fo if r["system"] == "tricache" and r["kind"] == "kill"]
    n, ok, med, _, hi, _, _ = failover_stats(kills)
    complete = ok == n and n > 0
    rows.append(["(4) failover median (kill -9)", "≤ 600 ms", f"{fmt_opt_ms(med)} ms",
                 verdict(complete and med <= 600) if n else "n/a"])
    rows.append(["(4) failover max (kill -9)", "≤ 1000 ms", f"{fmt_opt_ms(hi)} ms",
                 verdict(complete and hi <= 1000) if n else "n/a"])
    tc = [r for r in fo if r["system"] == "tricache"]
    lost = sum(r["lost"] for r in tc)
    acked = sum(r["acked"] for r in tc)
    rows.append(["(5) acknowledged writes lost (kill and freeze trials)", "0", f"{lost} of {acked:,}",
                 verdict(lost == 0) if tc else "n/a"])
    return table(["goal", "target", "measured", "met"], rows, left=2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", required=True)
    ap.add_argument("--client", required=True)
    ap.add_argument("--failover", required=True)
    ap.add_argument("--terms", required=True)
    ap.add_argument("--syscalls", default="")
    ap.add_argument("--machine", required=True)
    ap.add_argument("--command", required=True)
    ap.add_argument("--client-command", required=True)
    ap.add_argument("--trials", type=int, required=True)
    ap.add_argument("--freeze", type=float, required=True)
    ap.add_argument("--down-after", type=int, required=True)
    ap.add_argument("--sentinel-note", default="")
    ap.add_argument("--sentinel-earlier", required=True)
    args = ap.parse_args()

    bench = read_bench(args.bench)
    bmed = bench_medians(bench)
    client = read_client(args.client)
    cmed = client_medians(client)
    fo = read_failover(args.failover)
    with open(args.terms) as f:
        term_before, term_after = f.read().strip().split(",")
    nrounds = max(len(v) for v in bench.values())

    notes = []
    if term_before != term_after:
        notes.append(f"- tricache held an election during the throughput runs (Raft term {term_before} → "
                     f"{term_after}); each run looks the primary up again, but a run that overlapped the "
                     "election is disturbed.")
    rd_trials = sum(1 for r in fo if r["system"] == "redis")
    if args.sentinel_note or rd_trials < args.trials:
        why = args.sentinel_note or "not all Sentinel trials ran"
        notes.append(f"- Redis Sentinel trials: {why} ({rd_trials} of {args.trials} completed). "
                     f"Figure measured earlier on this machine: {args.sentinel_earlier}.")

    w = cmed["redis-setwait"]
    t = cmed["tricache-set"]
    a = cmed["redis-set"]
    out = [
        "# tricache (3 nodes, Raft) vs Redis (primary + 2 replicas), one machine",
        "",
        f"Machine: {args.machine}",
        "",
        "Everything runs on 127.0.0.1: three tricache nodes (election timeout 300 ms), three "
        "redis-server processes (persistence off, replicas by `--replicaof`), three Sentinels for "
        "the failover trials, and every client. Numbers from a shared machine are noisy; see "
        "\"Every round\" before trusting a ratio.",
        "",
        "Commands:",
        "",
        f"- throughput: `{args.command}` — TEST `get` against a replica (after SETting all "
        "keys on the primary, so every GET hits) and `set` against the primary; PIPELINE 1 and 16; "
        f"{nrounds} round(s), odd rounds run Redis first.",
        f"- SET + WAIT: `{args.client_command}` — one thread, 50 connections, one operation in "
        "flight per connection; an operation is `SET` (tricache, Redis) or `SET` + `WAIT 2 0` "
        "sent together (Redis); latency from sending the operation to its last reply.",
        f"- failover: `bench/failover.py trial`, {args.trials} trial(s) per system: a client writes "
        "unique keys one at a time to the primary; after 0.5 s the primary gets `kill -9`; on an "
        "error the client sends the next write to every node until one acknowledges it. Failover "
        "time = from the kill to the first write acknowledged by another node. The killed node is "
        "restarted and the trial ends when all nodes agree (`DEBUG DIGEST` equal; for Redis also "
        "Sentinel's view), then every acknowledged key is read back from the primary "
        "(lost = missing or wrong value). One more tricache trial freezes the primary "
        f"(`SIGSTOP`) for {args.freeze:g} s instead, then `SIGCONT`.",
        "",
        "## Goals (from the issue; for reference, the benchmark does not enforce them)",
        "",
        goals_table(bmed, cmed, fo),
        "",
        f"## 1–2. redis-benchmark (median of {nrounds} round(s))",
        "",
        "tricache acknowledges a SET once a majority (2 of 3 nodes) holds it; Redis acknowledges "
        "before its replicas have it.",
        "",
        bench_summary(bench, bmed),
        "",
        f"## 2–3. SET with the same client, bench/setwait.py (median of {nrounds} round(s))",
        "",
        client_summary(client, cmed),
        "",
        f"tricache SET / Redis SET + WAIT 2 0: {ratio(t[0], w[0])}× the ops/s, "
        f"p50 {t[1]:.3f} vs {w[1]:.3f} ms, p99 {t[2]:.3f} vs {w[2]:.3f} ms. "
        f"tricache SET / Redis asynchronous SET with this client: {ratio(t[0], a[0])}× "
        "(the Redis asynchronous row also shows how fast the Python client itself can go).",
        "",
        "## The primary's syscalls per SET (-P 16, perf tracepoints, every thread)",
        "",
        syscalls_table(args.syscalls),
        "",
        "## 3–4. Failover and acknowledged writes",
        "",
        failover_summary(fo, args),
        "",
    ]
    if notes:
        out += ["Notes:", ""] + notes + [""]
    out += [
        "## Every round",
        "",
        bench_rounds(bench),
        "",
        client_rounds(client),
        "",
        "## Every failover trial",
        "",
        "\"old-primary conn.\": in the SIGSTOP trial, the write in flight on the frozen primary and "
        "the writes sent on that connection after SIGCONT (any acknowledged one is checked too).",
        "",
        failover_rounds(fo),
    ]
    print("\n".join(out))


if __name__ == "__main__":
    main()
