#!/usr/bin/env python3
"""Failover measurements for bench/cluster.sh (standard library only).

Nodes are given as --nodes ID:PORT,ID:PORT,... (all on --host). The script
never starts processes; it signals only the pid cluster.sh hands it.

  failover.py primary --nodes ... [--timeout S]
      Poll INFO replication until one node says role:master; print
      "ID PORT". Exit 1 on timeout.

  failover.py settle --nodes ... [--sentinels PORT,...] [--master-name NAME]
                     [--timeout S]
      Wait until every node answers, exactly one is role:master and the
      others role:slave (with master_link_status:up when the server reports
      it), and DEBUG DIGEST is the same on all of them; with --sentinels,
      also until every Sentinel names that master and lists the other nodes
      as plain replicas. Prints the seconds it took. Exit 1 on timeout.

  failover.py trial --nodes ... --victim ID --pid PID --signal kill|stop
                    --acked FILE --prefix P [--before S] [--after S]
                    [--freeze S] [--op-timeout S] [--signal-at FILE]
      A client writes unique keys (P:0, P:1, ...) one at a time to the
      primary (node ID). After --before seconds the pid gets SIGKILL, or
      SIGSTOP and SIGCONT --freeze seconds later. The client follows the
      cluster: after an error or a timeout it sends the next write to every
      node at once until one acknowledges it (+OK); the first acknowledgement
      by a node other than the victim ends the failover. It keeps writing for
      --after seconds after that (and after SIGCONT). Every acknowledged
      write goes to FILE ("key value" lines). In a stop trial the write that
      was in flight on the frozen primary stays open: after SIGCONT its
      reply is read and the old primary gets more writes on that connection;
      any of them acknowledged counts as acknowledged.
      Prints one CSV line:
        failover_ms,acked,acked_old_conn,refused_old_conn
      (failover_ms: from the signal to the first write acknowledged by
      another node; empty when none came within 30 s).

  failover.py verify --nodes ... --port PORT --acked FILE
      Read every acknowledged key back from the node on PORT; print
      "checked,missing,wrong" (wrong = present with another value).
"""

import argparse
import os
import select
import signal
import socket
import sys
import threading
import time

from resp import Conn, RespError, encode, info_field, try_call

HOST = "127.0.0.1"
FAILOVER_LIMIT = 30.0  # seconds to wait for a write on another node


def parse_nodes(text):
    nodes = []
    for item in text.split(","):
        node_id, port = item.split(":")
        nodes.append((int(node_id), int(port)))
    return nodes


def role(port):
    info = try_call(HOST, port, "INFO", "replication", timeout=0.5)
    return info_field(info, "role"), info


def find_primary(nodes, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        masters = [(i, p) for i, p in nodes if role(p)[0] == "master"]
        if len(masters) == 1:
            return masters[0]
        time.sleep(0.02)
    return None


def cmd_primary(args):
    found = find_primary(parse_nodes(args.nodes), args.timeout)
    if found is None:
        sys.exit(f"failover.py: no single primary within {args.timeout}s")
    print(f"{found[0]} {found[1]}")


# ---- settle -------------------------------------------------------------------


def settled(nodes, sentinels, name):
    """None when settled, else a short reason (for the timeout message)."""
    master = None
    for _, port in nodes:
        r, info = role(port)
        if r is None:
            return f"port {port} does not answer"
        if r == "master":
            if master is not None:
                return "two nodes say role:master"
            master = port
        elif r == "slave":
            link = info_field(info, "master_link_status")
            if link is not None and link != "up":
                return f"port {port}: master_link_status:{link}"
        else:
            return f"port {port}: role:{r}"
    if master is None:
        return "no primary"
    digests = set()
    for _, port in nodes:
        d = try_call(HOST, port, "DEBUG", "DIGEST", timeout=5)
        if not isinstance(d, bytes):
            return f"port {port}: DEBUG DIGEST answered {d!r}"
        digests.add(d)
    if len(digests) != 1:
        return "DEBUG DIGEST differs"
    others = {p for _, p in nodes if p != master}
    for sport in sentinels:
        m = try_call(HOST, sport, "SENTINEL", "master", name)
        if not isinstance(m, list):
            return f"sentinel {sport}: SENTINEL master answered {m!r}"
        fields = dict(zip(m[0::2], m[1::2]))
        if fields.get(b"flags") != b"master" or int(fields.get(b"num-other-sentinels", 0)) != len(sentinels) - 1:
            return f"sentinel {sport}: master flags {fields.get(b'flags')!r}, other sentinels {fields.get(b'num-other-sentinels')!r}"
        addr = try_call(HOST, sport, "SENTINEL", "get-master-addr-by-name", name)
        if not isinstance(addr, list) or len(addr) != 2 or int(addr[1]) != master:
            return f"sentinel {sport} names {addr!r} as master"
        reps = try_call(HOST, sport, "SENTINEL", "replicas", name)
        if not isinstance(reps, list):
            return f"sentinel {sport}: SENTINEL replicas answered {reps!r}"
        ok = set()
        for rep in reps:
            fields = dict(zip(rep[0::2], rep[1::2]))
            if fields.get(b"flags") == b"slave" and fields.get(b"master-link-status") == b"ok":
                ok.add(int(fields[b"port"]))
        if not others <= ok:
            return f"sentinel {sport} does not yet see the replicas as healthy"
    return None


def cmd_settle(args):
    nodes = parse_nodes(args.nodes)
    sentinels = [int(p) for p in args.sentinels.split(",")] if args.sentinels else []
    start = time.monotonic()
    deadline = start + args.timeout
    while True:
        reason = settled(nodes, sentinels, args.master_name)
        if reason is None:
            break
        if time.monotonic() > deadline:
            sys.exit(f"failover.py settle: not settled after {args.timeout}s: {reason}")
        time.sleep(0.05)
    print(f"{time.monotonic() - start:.2f}")


# ---- trial --------------------------------------------------------------------


class Prober:
    """Sends one write to every node at once and waits for the first +OK.
    Nodes that cannot be reached are retried every 10 ms; a node that does
    not answer (frozen) keeps its request in flight and is not sent another."""

    def __init__(self, nodes):
        self.nodes = nodes
        self.conns = {}  # node id -> Conn
        self.inflight = {}  # node id -> (key, value) sent, no reply yet
        self.retry_at = {}  # node id -> monotonic time before which we do not reconnect

    def drop(self, node_id):
        c = self.conns.pop(node_id, None)
        if c is not None:
            c.close()
        self.inflight.pop(node_id, None)
        self.retry_at[node_id] = time.monotonic() + 0.01

    def write(self, key, value, deadline):
        """Returns (node_id, port, conn) of the node that acknowledged
        key=value, or None at the deadline. Other connections are closed."""
        request = encode("SET", key, value)
        while time.monotonic() < deadline:
            now = time.monotonic()
            for node_id, port in self.nodes:
                if node_id in self.inflight:
                    continue
                if node_id not in self.conns:
                    if now < self.retry_at.get(node_id, 0):
                        continue
                    try:
                        self.conns[node_id] = Conn(HOST, port, timeout=0.05)
                    except OSError:
                        self.retry_at[node_id] = now + 0.01
                        continue
                try:
                    self.conns[node_id].send(request)
                    self.inflight[node_id] = (key, value)
                except OSError:
                    self.drop(node_id)
            waiting = {self.conns[n].sock: n for n in self.inflight}
            if not waiting:
                time.sleep(0.002)
                continue
            readable, _, _ = select.select(list(waiting), [], [], 0.01)
            for sock in readable:
                node_id = waiting[sock]
                c = self.conns[node_id]
                try:
                    c.settimeout(0.5)
                    reply = c.read_reply()
                except (OSError, ConnectionError):
                    self.drop(node_id)
                    continue
                sent = self.inflight.pop(node_id)
                if reply == b"OK" and sent == (key, value):
                    port = dict(self.nodes)[node_id]
                    del self.conns[node_id]
                    self.close()
                    return node_id, port, c
                if isinstance(reply, RespError) or reply == b"OK":
                    # -READONLY / -TRYAGAIN, or the +OK of an earlier probe
                    # (a key we already gave up on): try again shortly.
                    time.sleep(0.001)
                    continue
                self.drop(node_id)
        self.close()
        return None

    def close(self):
        for c in self.conns.values():
            c.close()
        self.conns.clear()
        self.inflight.clear()


def cmd_trial(args):
    nodes = parse_nodes(args.nodes)
    ports = dict(nodes)
    victim = args.victim
    sig = signal.SIGKILL if args.signal == "kill" else signal.SIGSTOP
    acked = []  # (key, value), appended by both threads (list.append is atomic)
    times = {}
    stale = {}  # the stop trial's connection to the frozen primary
    old_conn_stats = {"acked": 0, "refused": 0}
    stop_event = threading.Event()

    def old_primary_writes():
        """After SIGCONT: read the reply to the write that was in flight
        when the primary froze, then keep writing to it on that connection."""
        c, key, value = stale.get("conn"), stale.get("key"), stale.get("value")
        if c is None:
            return
        n = 0
        try:
            c.settimeout(2.0)
            while True:
                reply = c.read_reply()
                if reply == b"OK":
                    acked.append((key, value))
                    old_conn_stats["acked"] += 1
                else:
                    old_conn_stats["refused"] += 1
                if stop_event.is_set():
                    break
                key, value = f"{args.prefix}:old:{n}", f"o{n}"
                n += 1
                c.send(encode("SET", key, value))
        except (OSError, ConnectionError):
            pass
        finally:
            c.close()

    def fault():
        time.sleep(args.before)
        times["fault"] = time.monotonic()
        if args.signal_at:
            with open(args.signal_at, "w") as f:
                f.write("%d\n" % int(time.time() * 1000))
        os.kill(args.pid, sig)
        if sig == signal.SIGSTOP:
            time.sleep(args.freeze)
            os.kill(args.pid, signal.SIGCONT)
            times["cont"] = time.monotonic()
            old_primary_writes()

    killer = threading.Thread(target=fault, daemon=True)
    conn = Conn(HOST, ports[victim], timeout=args.op_timeout)
    current = victim
    prober = Prober(nodes)
    i = 0
    killer.start()
    try:
        while True:
            now = time.monotonic()
            first = times.get("first")
            if first is not None and now - first >= args.after:
                if sig == signal.SIGKILL or ("cont" in times and now - times["cont"] >= args.after):
                    break
            if "fault" in times and first is None and now - times["fault"] > FAILOVER_LIMIT:
                break
            key, value = f"{args.prefix}:{i}", f"v{i}"
            i += 1
            if conn is not None:
                try:
                    conn.send(encode("SET", key, value))
                    reply = conn.read_reply()
                except socket.timeout:
                    # Outcome unknown. A frozen primary keeps this request
                    # (see old_primary_writes); otherwise drop it.
                    if current == victim and sig == signal.SIGSTOP and "fault" in times and "conn" not in stale:
                        stale.update(conn=conn, key=key, value=value)
                    else:
                        conn.close()
                    conn = None
                    continue
                except (OSError, ConnectionError):
                    conn.close()
                    conn = None
                    continue
                if reply == b"OK":
                    acked.append((key, value))
                    if current != victim and "fault" in times and "first" not in times:
                        times["first"] = time.monotonic()
                    continue
                # -READONLY or -TRYAGAIN: this node is not (or no longer) the
                # primary; the outcome of a -TRYAGAIN write is unknown.
                conn.close()
                conn = None
                continue
            found = prober.write(key, value, time.monotonic() + FAILOVER_LIMIT)
            if found is None:
                continue
            current, _, conn = found
            conn.settimeout(args.op_timeout)
            acked.append((key, value))
            if current != victim and "fault" in times and "first" not in times:
                times["first"] = time.monotonic()
    finally:
        stop_event.set()
        if conn is not None:
            conn.close()
        prober.close()
    killer.join(timeout=10)
    if killer.is_alive():
        sys.exit("failover.py trial: the fault thread did not finish")

    with open(args.acked, "w") as f:
        for key, value in acked:
            f.write(f"{key} {value}\n")
    ms = "" if "first" not in times else f"{(times['first'] - times['fault']) * 1000:.1f}"
    print(f"{ms},{len(acked)},{old_conn_stats['acked']},{old_conn_stats['refused']}")


# ---- verify -------------------------------------------------------------------


def cmd_verify(args):
    pairs = []
    with open(args.acked) as f:
        for line in f:
            key, value = line.split()
            pairs.append((key, value.encode()))
    c = Conn(HOST, args.port, timeout=30)
    missing = wrong = 0
    batch = 500
    for start in range(0, len(pairs), batch):
        chunk = pairs[start : start + batch]
        values = c.call("MGET", *[k for k, _ in chunk])
        if not isinstance(values, list) or len(values) != len(chunk):
            sys.exit(f"failover.py verify: MGET answered {values!r}")
        for (_, expected), got in zip(chunk, values):
            if got is None:
                missing += 1
            elif got != expected:
                wrong += 1
    c.close()
    print(f"{len(pairs)},{missing},{wrong}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="mode", required=True)

    p = sub.add_parser("primary")
    p.add_argument("--nodes", required=True)
    p.add_argument("--timeout", type=float, default=15)

    p = sub.add_parser("settle")
    p.add_argument("--nodes", required=True)
    p.add_argument("--sentinels", default="")
    p.add_argument("--master-name", default="bench")
    p.add_argument("--timeout", type=float, default=60)

    p = sub.add_parser("trial")
    p.add_argument("--nodes", required=True)
    p.add_argument("--victim", type=int, required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--signal", choices=("kill", "stop"), required=True)
    p.add_argument("--acked", required=True)
    p.add_argument("--prefix", required=True)
    p.add_argument("--before", type=float, default=0.5)
    p.add_argument("--after", type=float, default=0.5)
    p.add_argument("--freeze", type=float, default=3.0)
    p.add_argument("--op-timeout", type=float, default=0.25)
    p.add_argument("--signal-at", default="", help="write the signal's wall-clock time (unix ms) to this file")

    p = sub.add_parser("verify")
    p.add_argument("--nodes", default="")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--acked", required=True)

    args = ap.parse_args()
    {"primary": cmd_primary, "settle": cmd_settle, "trial": cmd_trial, "verify": cmd_verify}[args.mode](args)


if __name__ == "__main__":
    main()
