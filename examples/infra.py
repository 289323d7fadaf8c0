"""The world the examples run in: a throwaway PostgreSQL and a three-node
tricache cluster, both on free loopback ports in one temp dir, started and
stopped by this module. Every process it starts is remembered by pid and
stopped by pid (never by name), also when a pattern fails half way."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import psycopg2
import redis
from redis.sentinel import Sentinel

PG_BIN = "/usr/lib/postgresql/15/bin"
CLUSTER_NAME = "examples"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, check, timeout=20.0):
    """Poll check() until it is true; fail with `what` after timeout s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:  # not up yet: that is what we poll for
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


class World:
    """PostgreSQL + 3 tricache nodes. Use as a context manager."""

    def __init__(self, tricache_bin):
        self.bin = tricache_bin
        self.dir = tempfile.mkdtemp(prefix="tricache-examples-")
        self.procs = {}  # name -> Popen
        self.node_ports = {}

    # ---- lifecycle -------------------------------------------------------
    def __enter__(self):
        try:
            self._start_postgres()
            self._start_cluster()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        for name, p in list(self.procs.items()):
            if p.poll() is None:
                p.terminate()  # SIGTERM to our own child, by pid
        for name, p in list(self.procs.items()):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs.clear()
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- PostgreSQL ------------------------------------------------------
    def _as_pg_user(self, argv):
        # postgres refuses to run as root; as root we run it as "nobody",
        # which owns the data directory we make for it.
        if os.geteuid() == 0:
            return ["runuser", "-u", "nobody", "--"] + argv
        return argv

    def _start_postgres(self):
        pgdir = os.path.join(self.dir, "pg")
        os.mkdir(pgdir)
        if os.geteuid() == 0:
            shutil.chown(pgdir, "nobody")
            os.chmod(self.dir, 0o755)
        subprocess.run(self._as_pg_user([f"{PG_BIN}/initdb", "-D", f"{pgdir}/data", "-U", "postgres",
                                         "-A", "trust", "--no-sync"]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.pg_port = free_port()
        log = open(os.path.join(pgdir, "postgres.log"), "w")
        self.procs["postgres"] = subprocess.Popen(
            self._as_pg_user([f"{PG_BIN}/postgres", "-D", f"{pgdir}/data", "-p", str(self.pg_port),
                              "-k", pgdir, "-c", "listen_addresses=127.0.0.1",
                              "-c", "fsync=off", "-c", "synchronous_commit=off"]),
            stdout=log, stderr=subprocess.STDOUT)
        wait_until("postgres", lambda: self.pg_connect().close() is None)

    def pg_connect(self):
        return psycopg2.connect(host="127.0.0.1", port=self.pg_port, user="postgres", dbname="postgres")

    # ---- tricache --------------------------------------------------------
    def _start_cluster(self):
        self.config = os.path.join(self.dir, "cluster.toml")
        with open(self.config, "w") as f:
            f.write(f'cluster_name = "{CLUSTER_NAME}"\ndata_dir = "{self.dir}/data"\n')
            for i in (1, 2, 3):
                self.node_ports[i] = free_port()
                f.write(f'[[node]]\nid = {i}\nzone = "zone-{i}"\n'
                        f'client_addr = "127.0.0.1:{self.node_ports[i]}"\n'
                        f'raft_addr = "127.0.0.1:{free_port()}"\n')
        for i in (1, 2, 3):
            self.start_node(i)
        wait_until("a primary", lambda: self.primary_id() is not None)

    def start_node(self, i):
        log = open(os.path.join(self.dir, f"node-{i}.log"), "a")
        self.procs[f"node{i}"] = subprocess.Popen([self.bin, "--config", self.config, "--node", str(i)],
                                                  stdout=log, stderr=subprocess.STDOUT)
        wait_until(f"node {i}", lambda: redis.Redis(port=self.node_ports[i], socket_timeout=1).ping())

    def primary_id(self):
        for i, port in self.node_ports.items():
            p = self.procs.get(f"node{i}")
            if p is None or p.poll() is not None:
                continue
            try:
                role = redis.Redis(port=port, socket_timeout=1).info("replication")["role"]
            except redis.RedisError:
                continue
            if role == "master":
                return i
        return None

    def kill_primary(self):
        """kill -9 the primary; return its id (restart it with start_node)."""
        i = self.primary_id()
        self.procs[f"node{i}"].send_signal(signal.SIGKILL)
        self.procs[f"node{i}"].wait()
        return i

    def sentinel_master(self):
        """redis-py's Sentinel client: every node answers SENTINEL, so the
        nodes themselves are the "sentinels" and follow failovers."""
        sentinel = Sentinel([("127.0.0.1", p) for p in self.node_ports.values()],
                            socket_timeout=0.5, socket_connect_timeout=0.5)
        return sentinel.master_for(CLUSTER_NAME, socket_timeout=0.5, socket_connect_timeout=0.5,
                                   decode_responses=True)

    def converged(self):
        """True once every running node reports the same DEBUG DIGEST."""
        digests = set()
        for i, port in self.node_ports.items():
            if self.procs[f"node{i}"].poll() is None:
                digests.add(redis.Redis(port=port, socket_timeout=1).execute_command("DEBUG", "DIGEST"))
        return len(digests) == 1
