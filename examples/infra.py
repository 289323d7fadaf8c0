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

    def __init__(self, tricache_bin, read_consistency="linearizable"):
        self.bin = tricache_bin
        self.read_consistency = read_consistency
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
        # Our own children, by pid. PostgreSQL gets SIGINT ("fast" shutdown:
        # it disconnects clients; SIGTERM would wait for them) and SIGQUIT
        # if that hangs: a SIGKILLed postmaster would orphan its workers.
        for name, p in list(self.procs.items()):
            if p.poll() is None:
                p.send_signal(signal.SIGINT if name == "postgres" else signal.SIGTERM)
                if name != "postgres":
                    p.send_signal(signal.SIGCONT)  # a node left frozen by a failed pattern
        for name, p in list(self.procs.items()):
            for last_resort in (signal.SIGQUIT if name == "postgres" else signal.SIGKILL, signal.SIGKILL):
                try:
                    p.wait(timeout=15)
                    break
                except subprocess.TimeoutExpired:
                    p.send_signal(last_resort)
            p.wait()
        self.procs.clear()
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- PostgreSQL ------------------------------------------------------
    def _pg_user(self):
        # postgres refuses to run as root; as root we run it as "nobody",
        # which owns the data directory we make for it. Popen switches user
        # in the child itself (no runuser in between), so the pid we hold is
        # the postmaster's and signals reach it directly.
        if os.geteuid() == 0:
            return {"user": "nobody", "group": "nogroup", "extra_groups": []}
        return {}

    def _start_postgres(self):
        pgdir = os.path.join(self.dir, "pg")
        os.mkdir(pgdir)
        if os.geteuid() == 0:
            shutil.chown(pgdir, "nobody")
            os.chmod(self.dir, 0o755)
        subprocess.run([f"{PG_BIN}/initdb", "-D", f"{pgdir}/data", "-U", "postgres", "-A", "trust", "--no-sync"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=pgdir,
                       **self._pg_user())
        self.pg_port = free_port()
        self.start_postgres()

    def start_postgres(self):
        pgdir = os.path.join(self.dir, "pg")
        log = open(os.path.join(pgdir, "postgres.log"), "a")
        # fsync off: a throwaway database; its durability is not what we show.
        self.procs["postgres"] = subprocess.Popen(
            [f"{PG_BIN}/postgres", "-D", f"{pgdir}/data", "-p", str(self.pg_port), "-k", pgdir,
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off"],
            stdout=log, stderr=subprocess.STDOUT, cwd=pgdir, **self._pg_user())
        wait_until("postgres", lambda: self.pg_connect().close() is None)

    def stop_postgres(self):
        """The database down: a fast shutdown (SIGINT) of the postmaster,
        which ends every client connection."""
        p = self.procs["postgres"]
        p.send_signal(signal.SIGINT)
        p.wait(timeout=30)

    def pg_connect(self):
        return psycopg2.connect(host="127.0.0.1", port=self.pg_port, user="postgres", dbname="postgres")

    # ---- tricache --------------------------------------------------------
    def _start_cluster(self):
        self.config = os.path.join(self.dir, "cluster.toml")
        with open(self.config, "w") as f:
            # shutdown_timeout 0: at the end the whole cluster stops, so no
            # primary needs to hand over (that would wait for peers also stopping).
            f.write(f'cluster_name = "{CLUSTER_NAME}"\ndata_dir = "{self.dir}/data"\nshutdown_timeout = "0"\n'
                    f'read_consistency = "{self.read_consistency}"\n')
            for i in (1, 2, 3):
                self.node_ports[i] = free_port()
                f.write(f'[[node]]\nid = {i}\nzone = "zone-{i}"\n'
                        f'client_addr = "127.0.0.1:{self.node_ports[i]}"\n'
                        f'raft_addr = "127.0.0.1:{free_port()}"\n')
        for i in (1, 2, 3):
            self.start_node(i, wait=False)  # together: they elect once all are up
        for i in (1, 2, 3):
            self._wait_node(i)
        wait_until("a primary", lambda: self.primary_id() is not None)

    def start_node(self, i, wait=True):
        log = open(os.path.join(self.dir, f"node-{i}.log"), "a")
        self.procs[f"node{i}"] = subprocess.Popen([self.bin, "--config", self.config, "--node", str(i)],
                                                  stdout=log, stderr=subprocess.STDOUT)
        if wait:
            self._wait_node(i)

    def _wait_node(self, i):
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

    def pause_nodes(self):
        """Freeze every node (SIGSTOP): the cache as good as down, its
        sockets open but silent, the nastiest way for it to fail."""
        for i in self.node_ports:
            self.procs[f"node{i}"].send_signal(signal.SIGSTOP)

    def resume_nodes(self):
        for i in self.node_ports:
            self.procs[f"node{i}"].send_signal(signal.SIGCONT)
        wait_until("a primary after the pause", lambda: self.primary_id() is not None)

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
