#!/usr/bin/env python3
"""A fake Raft peer for test_raft_tls: connects to a node's raft_addr, in
plaintext or over TLS (with or without a client certificate), sends
libraft's handshake claiming a node id and address, then the RequestVote
with a huge term and the disrupt-leader flag that deposes a primary whose
transport lets it through. Prints what happened on one line:

  tls-failed <reason>   the TLS handshake itself failed
  closed                the node closed the connection
  open                  the node kept the connection open for 10 s

usage: raft_peer.py PORT ID ADDRESS plain|tls [CERT KEY]
"""
import socket
import ssl
import struct
import sys


def handshake(node_id, address):
    raw = address.encode() + b"\0"
    padded = (len(raw) + 7) & ~7
    return struct.pack("<QQQ", 1, node_id, padded) + raw.ljust(padded, b"\0")


def request_vote(node_id):
    body = struct.pack("<QQQQQ", 1000000, node_id, 1000000, 1000000, 1)
    return bytes([3, 0, 2, 0, 0, 0, 0, 0]) + struct.pack("<Q", len(body)) + body


def main():
    port, node_id, address, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    if mode == "tls":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # an outsider does not care who answers
        if len(sys.argv) > 6:
            ctx.load_cert_chain(sys.argv[5], sys.argv[6])
        try:
            sock = ctx.wrap_socket(sock)
        except (ssl.SSLError, OSError) as e:
            print("tls-failed", e)
            return
    try:
        sock.sendall(handshake(node_id, address) + request_vote(node_id))
        sock.settimeout(10)
        data = sock.recv(1)
        print("closed" if not data else "open")
    except socket.timeout:
        print("open")
    except (ssl.SSLError, OSError):
        print("closed")


if __name__ == "__main__":
    main()
