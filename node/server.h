/* The node's state and its client connections. All of it lives in one
 * tc_server that is passed around; nothing is global. */
#ifndef TC_SERVER_H
#define TC_SERVER_H

#include <stdint.h>
#include <uv.h>

#include "buf.h"
#include "commands.h"
#include "config.h"
#include "keyspace.h"
#include "resp.h"

#define TC_VERSION "0.1.0"
/* The Redis version whose commands and replies we follow; clients read it
 * from INFO and HELLO to decide which features they may use. */
#define TC_REDIS_COMPAT_VERSION "7.0.0"

typedef struct tc_client {
    uv_tcp_t tcp;                 /* first: the handle's address is the client's */
    struct tc_server *srv;
    struct tc_client *prev, *next;
    uint64_t id;
    char addr[64], laddr[64];
    char *name;                   /* CLIENT SETNAME, NULL if none */

    tc_buf query;                 /* bytes received; unparsed part starts at query_pos */
    size_t query_pos;
    tc_resp_parser parser;
    tc_slice *argv;               /* the current command's arguments */
    size_t argv_cap;

    tc_buf out;                   /* replies not yet handed to the kernel */
    tc_buf inflight;              /* the part a uv_write is sending now */
    uv_write_t write_req;
    int writing;

    int resp;                     /* 2 or 3 */
    int authenticated;
    int close_after_reply;        /* QUIT, protocol error, KILL: close once flushed */
    int closing;                  /* uv_close called */
    int reading_paused;           /* stopped reading because output piled up */
    int64_t created_ms, last_active_ms; /* wall clock */
    const char *last_cmd;
} tc_client;

typedef struct tc_stats {
    uint64_t connections_received;
    uint64_t rejected_connections;
    uint64_t commands_processed;
    uint64_t auth_failures;       /* wrong AUTH / HELLO AUTH tokens */
    uint64_t net_input_bytes, net_output_bytes;
    uint64_t protocol_errors;
    uint64_t client_qbuf_limit_disconnections;
    uint64_t client_outbuf_limit_disconnections;
} tc_stats;

typedef struct tc_server {
    tc_config cfg;
    const tc_node_conf *self;
    tc_keyspace ks;
    tc_stats stats;

    uv_loop_t *loop;              /* NULL when used without networking (unit tests) */
    uv_tcp_t listener;
    uv_signal_t sig_term, sig_int;
    uv_timer_t cron;
    int shutting_down;

    tc_client *clients;           /* doubly-linked list of open connections */
    size_t nclients;
    uint64_t next_client_id;
    tc_client *current;           /* the client whose command is running, if any */

    int64_t start_ms;             /* wall clock at start */
    char run_id[41];
} tc_server;

/* Prepares the state (keyspace, stats) for cfg and node id, without any
 * networking; used by tc_server_run and by unit tests. */
int tc_server_init(tc_server *s, const tc_config *cfg, int node_id, char *err, size_t errlen);
void tc_server_free(tc_server *s);

/* Binds the client address and runs the event loop until SIGTERM/SIGINT.
 * Returns 0 after a clean shutdown, -1 if start-up failed (err says why). */
int tc_server_run(tc_server *s, char *err, size_t errlen);

/* Runs one parsed command for a client (or with client == NULL) and writes
 * the reply into r: lookup, AUTH check, arity, handler. now_ms is the instant
 * the command sees (expiry decisions, relative TTLs). */
void tc_server_execute(tc_server *s, tc_client *c, size_t argc, const tc_slice *argv, tc_reply *r,
                       int64_t now_ms);

/* Wall clock in milliseconds. */
int64_t tc_now_ms(void);

/* CLIENT LIST line for one client (without newline) appended to b. */
void tc_client_describe(tc_client *c, tc_buf *b, int64_t now_ms);
/* Closes a client once what is queued for it has been sent. */
void tc_client_close_after_reply(tc_client *c);

/* INFO text for the given section names (NULL/0 = default sections). */
void tc_info_render(tc_server *s, tc_buf *b, size_t nsections, const tc_slice *sections);

#endif
