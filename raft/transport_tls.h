/* Mutual TLS for the Raft transport (tls_replication): the contexts a node
 * dials and answers its peers with, one connection's TLS session, and the
 * pump that carries libraft's plain bytes over it.
 *
 * Identity: a peer's certificate must chain to the cluster's CA
 * (tls_ca_cert_file / tls_ca_cert_dir) and name the node id the peer
 * stands for as "node-<id>", in a DNS subjectAltName or, for a certificate
 * without DNS names, in its CN (X509_check_host's rules, no wildcards). Both
 * ends check: the acceptor against the id the peer's handshake claims, the
 * connector against the id libraft asked it to reach.
 *
 * How libraft gets plain bytes: it reads and writes the uv_stream_t it is
 * handed itself, so once a session is established (handshake done, peer
 * checked) the pump gives libraft one end of a socketpair (a uv_pipe_t,
 * raft_malloc'd: libraft frees it) and moves bytes between the other end
 * and the TCP socket through OpenSSL memory BIOs, with backpressure both
 * ways. Either end closing closes the other.
 *
 * Certificates renewed on disk: every new session first compares the
 * files' identity (inode, size, mtime) with the ones the context was built
 * from and builds a new context when they differ; a context that does not
 * build (a half-written renewal) leaves the previous one in use and is
 * logged. Sessions hold a reference to the context they began with.
 *
 * Threads: everything but the counters runs on the transport's loop (the
 * Raft thread). The counters are atomics, for INFO on the command thread.
 * Nothing here reads node/ state after tc_raft_tls_new: it copies what it
 * needs from the configuration. */
#ifndef TC_TRANSPORT_TLS_H
#define TC_TRANSPORT_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"

typedef struct tc_raft_tls tc_raft_tls;
typedef struct tc_raft_tls_conn tc_raft_tls_conn;

/* Builds the context from cfg's tls_* settings ({id} in tls_raft_*_file
 * becomes node_id); NULL with err naming the file and OpenSSL's reason.
 * pump_gone(arg) is called each time a pump has closed both its handles. */
tc_raft_tls *tc_raft_tls_new(const tc_config *cfg, unsigned long long node_id, uv_loop_t *loop,
                             void (*pump_gone)(void *arg), void *arg, char *err, size_t errlen);
/* Once every pump has gone (tc_raft_tls_close_pumps, then the callbacks). */
void tc_raft_tls_free(tc_raft_tls *rt);
/* Closes every pump (the transport closes); pump_gone follows for each.
 * Returns how many were closed. */
unsigned tc_raft_tls_close_pumps(tc_raft_tls *rt);

/* Counters (any thread). */
uint64_t tc_raft_tls_failures(const tc_raft_tls *rt); /* handshakes failed or peers naming another id */
uint64_t tc_raft_tls_reloads(const tc_raft_tls *rt);  /* contexts rebuilt from renewed files */
void tc_raft_tls_count_failure(tc_raft_tls *rt);

/* A session for one connection: server (accepted) or client (dialled).
 * NULL if out of memory or no context. */
tc_raft_tls_conn *tc_raft_tls_conn_new(tc_raft_tls *rt, int server);
/* A session not (or no longer) pumping: frees it. */
void tc_raft_tls_conn_free(tc_raft_tls_conn *s);

/* Ciphertext received from the peer. 0, or -1 out of memory. */
int tc_raft_tls_feed(tc_raft_tls_conn *s, const void *bytes, size_t len);
/* Advances the handshake: 1 done, 0 needs more bytes, -1 failed (why set). */
int tc_raft_tls_handshake(tc_raft_tls_conn *s, char *why, size_t whylen);
/* Writes what OpenSSL has to send onto stream (owned buffers). 0 or a UV
 * error. */
int tc_raft_tls_flush(tc_raft_tls_conn *s, uv_stream_t *stream);
/* Plaintext after the handshake, at most len bytes: >0 read, 0 needs more
 * bytes, -1 the peer closed or broke the session. */
int tc_raft_tls_read(tc_raft_tls_conn *s, void *buf, size_t len);
/* Plaintext to send (encrypted at once; flushed by the pump or by
 * tc_raft_tls_flush). 0, or -1. */
int tc_raft_tls_write(tc_raft_tls_conn *s, const void *bytes, size_t len);
/* 1 if the peer's (verified) certificate names node-<id>. names gets what
 * it does name, for the log. */
int tc_raft_tls_peer_is(tc_raft_tls_conn *s, unsigned long long id, char *names, size_t nameslen);
/* 1 once any byte the peer sent was fed in. */
int tc_raft_tls_heard(const tc_raft_tls_conn *s);

/* Starts pumping: s takes over tcp (raft_malloc'd; read callbacks replaced,
 * closed and raft_free'd by the pump) and *raft_end gets libraft's end;
 * pump_gone fires once it has closed. -1 (err set): nothing was taken
 * over, the caller still owns tcp and s; -2 (err set): both were taken and
 * are closing (pump_gone follows), the caller forgets them. */
int tc_raft_tls_pump(tc_raft_tls_conn *s, uv_tcp_t *tcp, uv_stream_t **raft_end, char *err, size_t errlen);

#endif
