"""Failover trials against a running three-node tricache cluster.

For each trial: a client writes unique keys to the primary as fast as it
can; the primary is killed with SIGKILL (or frozen with SIGSTOP for a few
seconds); the client follows the cluster to the new primary. Measured: the
time from the kill to the first write acknowledged by the new primary, and
how many acknowledged writes are missing afterwards (must be 0). The killed
node is restarted and the cluster waits until every node holds the same data.

Usage: failover_trials.py CONFIG TRICACHE TRIALS PIDFILE_DIR
(node N's pid is in PIDFILE_DIR/node-N.pid; it is restarted with the same
command line and log file.)"""
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time


def parse_nodes(config):
    nodes, cur = [], None
    for line in open(config):
        line = line.strip()
        if line == "[[node]]":
            cur = {}
            nodes.append(cur)
        elif cur is not None and "=" in line:
            k, v = [x.strip() for x in line.split("=", 1)]
            cur[k] = v.strip('"')
    return [(int(n["id"]), n["client_addr"].rsplit(":", 1)[0], int(n["client_addr"].rsplit(":", 1)[1])) for n in nodes]


class Conn:
    def __init__(self, host, port, timeout=0.5):
        self.s = socket.create_connection((host, port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        return self.reply()

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise ConnectionError("closed")
            self.buf += d
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l

    def reply(self):
        l = self.line()
        t, rest = l[:1], l[1:]
        if t in (b"+", b"-", b":"):
            return (t, rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return (t, None)
            while len(self.buf) < n + 2:
                d = self.s.recv(65536)
                if not d:
                    raise ConnectionError("closed")
                self.buf += d
            v, self.buf = self.buf[:n], self.buf[n + 2:]
            return (t, v)
        raise ConnectionError("unexpected reply %r" % l)

    def close(self):
        self.s.close()


def info_role(host, port):
    try:
        c = Conn(host, port, 0.3)
        t, v = c.cmd("INFO", "replication")
        c.close()
        m = re.search(rb"role:(\w+)", v or b"")
        return m.group(1).decode() if m else None
    except OSError:
        return None


def primary(nodes, skip=None):
    for node in nodes:
        if node[0] != skip and info_role(node[1], node[2]) == "master":
            return node
    return None


def digests_equal(nodes):
    ds = set()
    for _, h, p in nodes:
        try:
            c = Conn(h, p, 1)
            ds.add(c.cmd("DEBUG", "DIGEST")[1])
            c.close()
        except OSError:
            return False
    return len(ds) == 1


def restart(config, tricache, piddir, node_id):
    log = open(os.path.join(piddir, "node-%d.log" % node_id), "ab")
    p = subprocess.Popen([tricache, "--config", config, "--node", str(node_id)], stdout=log, stderr=log)
    open(os.path.join(piddir, "node-%d.pid" % node_id), "w").write(str(p.pid))
    return p


def trial(nodes, config, tricache, piddir, n, sig, freeze_s, children):
    prim = None
    deadline = time.monotonic() + 10
    while prim is None and time.monotonic() < deadline:
        prim = primary(nodes)
    pid = int(open(os.path.join(piddir, "node-%d.pid" % prim[0])).read())
    c, cur_id = Conn(prim[1], prim[2]), prim[0]
    acked, i = [], 0
    killed_at, first_after = None, None
    start = time.monotonic()
    while first_after is None and time.monotonic() - start < 30:
        if killed_at is None and time.monotonic() - start > 0.5:
            os.kill(pid, sig)
            killed_at = time.monotonic()
        key = "ft:%d:%d" % (n, i)
        try:
            ok = c is not None and c.cmd("SET", key, "v%d" % i)[0] == b"+"
        except OSError:
            ok = False
        if ok:
            acked.append(key)
            i += 1
            if killed_at is not None and cur_id != prim[0]:
                first_after = time.monotonic()
            continue
        # follow the cluster to the new primary (never the faulted node)
        # and retry the same key
        if c is not None:
            c.close()
        c = None
        nxt = primary(nodes, skip=prim[0] if killed_at else None)
        if nxt is not None:
            try:
                c, cur_id = Conn(nxt[1], nxt[2]), nxt[0]
            except OSError:
                c = None
    if c is not None:
        c.close()
    if sig == signal.SIGSTOP:
        time.sleep(max(0.0, freeze_s - (time.monotonic() - killed_at)))
        os.kill(pid, signal.SIGCONT)
    else:
        children.append(restart(config, tricache, piddir, prim[0]))
    # every acknowledged write must be on the new primary
    newp = primary(nodes)
    check = Conn(newp[1], newp[2], 2)
    lost = sum(1 for k in acked if check.cmd("GET", k)[1] is None)
    check.close()
    deadline = time.monotonic() + 30
    while not digests_equal(nodes) and time.monotonic() < deadline:
        time.sleep(0.05)
    return (first_after - killed_at) * 1000 if first_after else None, len(acked), lost


def main():
    global cur_id
    config, tricache, trials, piddir = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    nodes = parse_nodes(config)
    children = []
    times, lost_total, acked_total = [], 0, 0
    for n in range(trials):
        ms, acked, lost = trial(nodes, config, tricache, piddir, n, signal.SIGKILL, 0, children)
        times.append(ms)
        lost_total += lost
        acked_total += acked
        print("kill trial %d: first acknowledged write on the new primary after %.0f ms; %d writes acknowledged, %d lost"
              % (n + 1, ms or -1, acked, lost), file=sys.stderr)
    fms, facked, flost = trial(nodes, config, tricache, piddir, trials, signal.SIGSTOP, 3.0, children)
    ok = [t for t in times if t is not None]
    print("| trials | median ms | max ms | acknowledged writes | lost |")
    print("|---:|---:|---:|---:|---:|")
    print("| %d kill -9 | %.0f | %.0f | %d | %d |" % (trials, statistics.median(ok), max(ok), acked_total, lost_total))
    print("| 1 SIGSTOP 3 s | %.0f (to the first write on the new primary) | | %d | %d |" % (fms or -1, facked, flost))
    for ch in children:
        ch.poll()


if __name__ == "__main__":
    main()
