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
 *  - TCP_NODELAY on every connection, once, at connect and at accept;
 *  - with cluster_secret_file set, a challenge-response on the cluster
 *    secret before libraft's handshake, proving both ends:
 *      acceptor  -> connector  "TCRAUTH1", nonce_a (32 random bytes)
 *      connector -> acceptor   "TCRAUTH1", its id (u64 LE), nonce_c (32),
 *                              HMAC-SHA256(secret, 'C' nonce_a id_c id_a nonce_c)
 *      acceptor  -> connector  HMAC-SHA256(secret, 'A' nonce_c id_a id_c nonce_a)
 *    then libraft's handshake, whose id must be the proven one. The acceptor
 *    checks the proof (in constant time) before reading a byte of the
 *    handshake; the connector checks the answer before writing the
 *    handshake, so libraft never sends to a node that cannot prove it holds
 *    the secret. Sizes are fixed, the whole exchange shares the 1 s
 *    deadline, and each refusal is logged (rate-limited) with ip:port.
 *    A node without the setting speaks the stock protocol: a cluster is
 *    either all with the same secret or all without (no rolling change).
 *
 * What it does not do: encrypt. Without a secret, a peer that knows a node
 * id and that node's address can still claim to be it; with one, whoever
 * can read the traffic still sees every entry (TLS is for that).
 *
 * With tls_replication = true (transport_tls.h), peers speak mutual TLS:
 * the connector's ClientHello comes first; the acceptor tells it from the
 * plain handshake and from the secret exchange by its first byte (0x16),
 * completes the handshake, then reads libraft's handshake inside the
 * session and accepts it only if the certificate names node-<claimed id>;
 * the connector accepts only a certificate naming the node it dialled. The
 * cluster-secret exchange is skipped on TLS connections (the certificate
 * proves more), and a TLS connector skips the challenge an acceptor with a
 * secret sends first. libraft then gets one end of a socketpair, the pump
 * carries its bytes over TLS. Plaintext peers are refused, unless
 * transit_encryption_mode = "preferred": then both are accepted, and a
 * dial whose peer hangs up on the ClientHello is made in plaintext for
 * the next 10 s (a rolling change to TLS).
 *
 * Everything runs on the loop given to tc_transport_init; like the rest of
 * libraft, nothing here is thread-safe. */
#ifndef TC_TRANSPORT_H
#define TC_TRANSPORT_H

#include <raft.h>
#include <raft/uv.h>
#include <stdint.h>

#include "config.h"

/* Fills t (version 1 and its methods) for raft_uv_init. cfg's [[node]]
 * list is copied: it is what incoming peers are checked against; the
 * cluster_secret_file is read now (RAFT_INVALID and t->errmsg if it cannot
 * be read, is open to group or others, or is too short). This node
 * is the id libraft passes to t->init (raft_init's id), and it listens on
 * the address passed there. t->data is kept (libraft uses it). Returns 0 or
 * RAFT_NOMEM, with t->errmsg set. */
int tc_transport_init(struct raft_uv_transport *t, uv_loop_t *loop, const tc_config *cfg);

/* Frees what tc_transport_init allocated: after t->close's callback has
 * fired (raft_close's callback), or if t->listen was never called. */
void tc_transport_close(struct raft_uv_transport *t);

/* Connections refused so far, both directions (INFO raft_peers_refused). */
unsigned long long tc_transport_refused(const struct raft_uv_transport *t);

/* 1 if peers prove a cluster secret (INFO raft_peer_auth). */
int tc_transport_authenticates(const struct raft_uv_transport *t);

/* TLS between nodes (transport_tls.h), for INFO; any thread may call
 * them. The mode is "off", "required" (TLS peers only) or "preferred"
 * (plaintext peers accepted too); failures count TLS handshakes that
 * failed and peers whose certificate names another node, both ways;
 * reloads count certificates read again after they changed on disk. */
const char *tc_transport_tls_mode(const struct raft_uv_transport *t);
uint64_t tc_transport_tls_failures(const struct raft_uv_transport *t);
uint64_t tc_transport_tls_reloads(const struct raft_uv_transport *t);

#endif
