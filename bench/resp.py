"""A small blocking RESP2 client for the bench/ helpers (standard library only).

Enough for the benchmark's needs: send commands (optionally several at once),
read replies of every RESP2 type. Replies come back as Python values:
simple strings and bulk strings as bytes, integers as int, nil as None,
arrays as lists, and errors as RespError instances (returned, not raised, so
a caller can tell -READONLY from -TRYAGAIN without try/except).
"""

import socket


class RespError:
    """An error reply (-READONLY ..., -TRYAGAIN ...)."""

    def __init__(self, text):
        self.text = text

    @property
    def code(self):
        return self.text.split(" ", 1)[0]

    def __repr__(self):
        return f"RespError({self.text!r})"


def encode(*args):
    """One command as a RESP array of bulk strings."""
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        if not isinstance(a, bytes):
            a = str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(parts)


class Conn:
    """One connection. Every socket operation is bounded by `timeout`
    seconds; a timeout raises socket.timeout (an OSError)."""

    def __init__(self, host, port, timeout=2.0):
        self.addr = (host, port)
        self.sock = socket.create_connection(self.addr, timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.pos = 0

    def settimeout(self, timeout):
        self.sock.settimeout(timeout)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        self.sock.sendall(data)

    def call(self, *args):
        self.send(encode(*args))
        return self.read_reply()

    def pipeline(self, commands):
        """Send every command (a list of argument tuples) in one write, then
        read one reply per command."""
        self.send(b"".join(encode(*c) for c in commands))
        return [self.read_reply() for _ in commands]

    # -- reading -----------------------------------------------------------

    def _fill(self):
        data = self.sock.recv(1 << 16)
        if not data:
            raise ConnectionError(f"connection to {self.addr[0]}:{self.addr[1]} closed")
        if self.pos:
            del self.buf[: self.pos]
            self.pos = 0
        self.buf += data

    def _line(self):
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            if end >= 0:
                line = bytes(self.buf[self.pos : end])
                self.pos = end + 2
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) - self.pos < n + 2:
            self._fill()
        data = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n + 2
        return data

    def read_reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            return RespError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read_reply() for _ in range(n)]
        raise ConnectionError(f"unexpected reply line {line!r}")


def try_call(host, port, *args, timeout=1.0):
    """One command on a fresh connection; None when the server cannot be
    reached or does not answer in time."""
    try:
        c = Conn(host, port, timeout)
    except OSError:
        return None
    try:
        return c.call(*args)
    except OSError:
        return None
    finally:
        c.close()


def info_field(info, name):
    """A field of an INFO reply (bytes), as str, or None."""
    if not isinstance(info, bytes):
        return None
    prefix = name.encode() + b":"
    for line in info.split(b"\r\n"):
        if line.startswith(prefix):
            return line[len(prefix) :].decode()
    return None
