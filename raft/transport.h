/* tricache's Raft transport: an implementation of libraft's
 * `struct raft_uv_transport` (0.22, <raft/uv.h>) over libuv TCP, used
 * instead of the stock raft_uv_tcp_init.
 *
 * On the wire it is the stock transport: the connecting side writes a
 * handshake (u64 protocol 1, u64 its server id, u64 length of the address
 * buffer, then its NUL-terminated "host:port" padded to 8 bytes, all little
 * endian) and from then on the stream carries libraft's messages, which
 * libraft reads and writes itself on the uv_stream_t handed to it. What it
 * adds:
 *
 *  - the accepting side checks the handshake before a byte reaches libraft:
 *    protocol 1, a node id that cluster.toml lists (founding or join = true)
 *    other than this node, and the raft_addr cluster.toml gives that node.
 *    A peer that says nothing for 1 s, sends garbage or claims anything
 *    else is disconnected and named in one log line (rate-limited);
 *  - TCP_NODELAY on every connection, once, at connect and at accept.
 *
 * What it does not do: authenticate. Without TLS a peer that knows a node
 * id and that node's address can still claim to be it.
 *
 * Where TLS goes later: libraft must keep seeing plain Raft bytes on the
 * stream it is given, so a TLS transport hands libraft one end of a
 * socketpair (a uv_pipe_t) instead of the TCP handle, and pumps TLS between
 * the other end and the real TCP socket (OpenSSL memory BIOs). Peer identity
 * (certificate, or a challenge on a cluster secret) is checked at the place
 * this file checks the handshake, before accept_cb / connect_cb fire.
 *
 * Everything runs on the loop given to tc_transport_init; like the rest of
 * libraft, nothing here is thread-safe. */
#ifndef TC_TRANSPORT_H
#define TC_TRANSPORT_H

#include <raft.h>
#include <raft/uv.h>

#include "config.h"

/* Fills t (version 1 and its methods) for raft_uv_init. cfg's [[node]]
 * list is copied: it is what incoming peers are checked against. This node
 * is the id libraft passes to t->init (raft_init's id), and it listens on
 * the address passed there. t->data is kept (libraft uses it). Returns 0 or
 * RAFT_NOMEM, with t->errmsg set. */
int tc_transport_init(struct raft_uv_transport *t, uv_loop_t *loop, const tc_config *cfg);

/* Frees what tc_transport_init allocated: after t->close's callback has
 * fired (raft_close's callback), or if t->listen was never called. */
void tc_transport_close(struct raft_uv_transport *t);

#endif
