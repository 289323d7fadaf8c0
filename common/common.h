/* common/: small shared pieces any module may use (the bottom layer:
 * `common` <- `node` <- `replication` <- ...). It depends on libc (and
 * OpenSSL, for the RESP client's TLS); its only global state is the
 * process's own big-buffer bookkeeping (big_alloc.c, big_keep.c).
 *
 *   toml.c         a TOML reader for the subset cluster.toml uses     tc_toml_*
 *   json.c         one strict JSON reader and one JSON string writer  tc_json_*
 *   resp_client.c  a blocking RESP client with deadlines              tc_rc_*
 *   resp_tls.c     TLS for that client (OpenSSL)                      tc_rc_tls_*
 *   big_alloc.c    huge-page advice for big buffers                   tc_big_alloc_*
 *   big_keep.c     freed big buffers kept for the next big value      tc_big_*
 *
 * Errors are negative errno values (-EINVAL, -ENOMEM, -ETIMEDOUT, ...) plus
 * a sentence in the caller's struct, except the TOML reader, which returns
 * -1 and fills a tc_toml_error with a line and a hint. */
#ifndef TC_COMMON_H
#define TC_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* ---- toml.c: a small TOML reader ---------------------------------------
 *
 * The subset of TOML v1.0 that cluster.toml needs.
 *
 * Supported: comments, bare and quoted keys, `key = value`, tables `[name]`,
 * arrays of tables `[[name]]`, basic strings "..." (with escapes), literal
 * strings '...', decimal integers (int64), booleans, and arrays (which may
 * span lines, hold comments and end with a trailing comma).
 *
 * Rejected with a clear message rather than half-supported: dotted keys and
 * dotted table names, multi-line strings, floats, dates/times, inline tables,
 * hex/octal/binary integers, NUL bytes (also as \u0000) and invalid UTF-8.
 *
 * The input is treated as untrusted: any bytes give either a tree or an
 * error with a line number, and the sizes below bound the work done. */
#define TC_TOML_MAX_INPUT (1u << 20) /* bytes; larger input is refused */
#define TC_TOML_MAX_DEPTH 32         /* arrays nested inside arrays */
#define TC_TOML_MAX_KEYS 256         /* keys in one table (duplicate check is linear) */
#define TC_TOML_MAX_ITEMS 65536      /* values in one array, tables in one [[array]] */

typedef enum tc_toml_type {
    TC_TOML_STRING,
    TC_TOML_INTEGER,
    TC_TOML_BOOLEAN,
    TC_TOML_ARRAY,
    TC_TOML_TABLE,
} tc_toml_type;

typedef struct tc_toml_table tc_toml_table;
typedef struct tc_toml_value tc_toml_value;

struct tc_toml_value {
    tc_toml_type type;
    int line; /* where the value starts (for a table: its header line) */
    union {
        char *string;    /* NUL-terminated UTF-8; never contains a NUL byte */
        int64_t integer;
        int boolean;     /* 0 or 1 */
        struct {
            tc_toml_value *items;
            size_t len;
            int of_tables; /* built by [[name]] headers: every item is a TC_TOML_TABLE */
        } array;
        tc_toml_table *table;
    } as;
};

typedef struct tc_toml_entry {
    char *key;  /* NUL-terminated, as written (quotes and escapes removed) */
    int line;   /* where the key is written (for a table: its header line) */
    tc_toml_value value;
} tc_toml_entry;

/* Entries keep the order in which they appear in the file. */
struct tc_toml_table {
    int line; /* line of the [name] / [[name]] header; 0 for the root table */
    tc_toml_entry *entries;
    size_t len, cap;
};

typedef struct tc_toml_error {
    int line;          /* 1-based line the problem was found on */
    char message[192]; /* e.g. "expected '=' after key 'hz'" */
    char hint[192];    /* how to fix it; may be empty */
} tc_toml_error;

/* Parses len bytes of text (not necessarily NUL-terminated). On success
 * returns 0 and stores a new root table in *out (free it with tc_toml_free).
 * On error returns -1, leaves *out NULL, fills *err and frees everything. */
int tc_toml_parse(const char *text, size_t len, tc_toml_table **out, tc_toml_error *err);

/* Frees a table and everything under it. NULL is fine. */
void tc_toml_free(tc_toml_table *t);

/* The entry with this exact key, or NULL. */
const tc_toml_entry *tc_toml_find(const tc_toml_table *t, const char *key);

/* "a string", "an integer", ... for messages like "must be an integer, not a string". */
const char *tc_toml_type_name(tc_toml_type type);

/* ---- json.c: one JSON reader, one JSON string writer ---------------------
 *
 * The reader takes RFC 8259 JSON (objects, arrays, strings, numbers, true,
 * false, null) and nothing else: no comments, no trailing commas, no
 * leading zeros, no NaN, no bytes after the value. Strings must be valid
 * UTF-8 (overlong forms and encoded surrogates refused); every escape is
 * decoded, \uXXXX surrogate pairs included; a lone surrogate is refused.
 * Every error gets a sentence and the byte offset of the first byte that
 * made the input wrong; nothing is guessed or repaired. The input need not
 * be NUL-terminated and is never read past its length.
 *
 * A reader is reused from one parse to the next: the nodes of a document
 * come from its arena (a few chunks, kept between parses), so reading a big
 * file line by line allocates a few times, not once per value. */

#define TC_JSON_MAX_DEPTH 32 /* default nesting limit of arrays and objects */

/* Flags of tc_json_reader_init (the strictness a caller needs): */
#define TC_JSON_UNIQUE_KEYS   0x01u /* an object may not name a member twice */
#define TC_JSON_INTEGERS_ONLY 0x02u /* numbers must be integers within int64 */
#define TC_JSON_NO_NUL        0x04u /* strings may not hold NUL (\u0000): usable as C strings */
#define TC_JSON_NO_SURROGATES 0x08u /* no \uD800-\uDFFF escapes at all, paired or not */

typedef enum tc_json_type {
    TC_JSON_NULL,
    TC_JSON_BOOL,
    TC_JSON_NUMBER,
    TC_JSON_STRING,
    TC_JSON_ARRAY,
    TC_JSON_OBJECT,
} tc_json_type;

/* What a number holds (TC_JSON_NUMBER). */
typedef enum tc_json_num {
    TC_JSON_INT,  /* an integer within int64: i (and d) */
    TC_JSON_UINT, /* an integer above INT64_MAX within uint64: u (and d) */
    TC_JSON_BIG,  /* an integer outside both: d only */
    TC_JSON_REAL, /* written with a fraction or an exponent: d only */
} tc_json_num;

typedef struct tc_json tc_json;
struct tc_json {
    uint8_t type;   /* tc_json_type */
    uint8_t num;    /* NUMBER: tc_json_num */
    bool neg;       /* NUMBER: written with a minus sign ("-0" included) */
    bool b;         /* BOOL */
    size_t pos;     /* byte offset in the input where the value starts */
    union {
        struct {        /* NUMBER */
            int64_t i;  /* TC_JSON_INT */
            uint64_t u; /* TC_JSON_UINT, and TC_JSON_INT when i >= 0 */
            double d;   /* every number (rounded for big integers) */
        };
        struct {        /* STRING: decoded bytes, NUL-terminated */
            const char *s;
            size_t len;
        };
        struct {        /* ARRAY, OBJECT: items / members in input order */
            const tc_json *first;
            size_t n;
        };
    };
    const tc_json *next;  /* next item or member of the same parent */
    const char *name;     /* object member: its name, decoded, NUL-terminated */
    size_t name_len;
};

typedef struct tc_json_chunk tc_json_chunk;
typedef struct tc_json_reader {
    unsigned flags;         /* TC_JSON_* above */
    int max_depth;          /* nesting limit; TC_JSON_MAX_DEPTH by default */
    char err[160];          /* the last error, e.g. "expected ',' or '}', found 'x'" */
    size_t err_pos;         /* its byte offset in the input */
    tc_json_chunk *chunks;  /* the arena */
} tc_json_reader;

void tc_json_reader_init(tc_json_reader *r, unsigned flags);
/* Parses text[0..len) as one JSON value (whitespace around it allowed).
 * Returns 0 and *root, valid until the next parse with r or
 * tc_json_reader_free; or -EINVAL (r->err, r->err_pos) or -ENOMEM. */
int tc_json_parse(tc_json_reader *r, const char *text, size_t len, const tc_json **root);
/* Frees the arena; r may be used again. */
void tc_json_reader_free(tc_json_reader *r);

/* The member of an object with this name, or NULL (NULL for a non-object). */
const tc_json *tc_json_get(const tc_json *obj, const char *name);
/* "null", "a boolean", "a number", "a string", "an array", "an object". */
const char *tc_json_type_name(tc_json_type type);
/* The value of an integer number: 0, or -EINVAL when v is not a number
 * written as an integer, or -ERANGE when it is outside int64 / [0, max]
 * (tc_json_uint also refuses any minus sign with -ERANGE). */
int tc_json_int(const tc_json *v, int64_t *out);
int tc_json_uint(const tc_json *v, uint64_t max, uint64_t *out);

/* Writing. s[0..len) as a JSON string literal, quotes included: '"' and
 * '\\' escaped, \n \r \t \b \f as such, other control bytes and DEL as
 * \u00XX; well-formed UTF-8 as it is. A byte that is not part of
 * well-formed UTF-8 is written as \u00XX (read as that Latin-1 character),
 * so the output is always valid JSON, and valid UTF-8 round-trips exactly. */
void tc_json_write_str(FILE *f, const char *s, size_t len);
/* The same into out (cap bytes with the NUL; truncated when short, never
 * in the middle of an escape). Returns the length the whole literal needs,
 * without the NUL (as snprintf does): out is complete when it is < cap. */
size_t tc_json_quote(char *out, size_t cap, const char *s, size_t len);

/* ---- resp_client.c: a blocking RESP client with deadlines ----------------
 *
 * One TCP connection per tc_rc. Connecting, sending a command and reading
 * its reply are each bounded by the connection's timeout: poll() on a
 * deadline, never an unbounded blocking call (the socket itself stays in
 * blocking mode; the client uses MSG_DONTWAIT). Any failure (a timeout, a
 * broken connection, a protocol error, a reply over max_reply) closes the
 * connection, since its place in the stream is unknown: a late reply can
 * never be taken for the next command's.
 *
 * Replies are RESP2 and RESP3. A reply is owned by the caller and lives in
 * one allocation (none at all for an integer, a null or a boolean); free
 * it with tc_rc_reply_free. The connection keeps its buffers from one
 * command to the next, so a command costs no other allocation.
 *
 * Functions return 0 or a negative errno: -ETIMEDOUT, -ECONNRESET (closed
 * by the server), -EPROTO, -EMSGSIZE, -ENOMEM, -ENOTCONN (not open), or
 * what connect/send/recv said; c->err then holds a sentence naming the
 * server and the cause. An error reply (-ERR ...) is a success here. */

#define TC_RC_DEFAULT_TIMEOUT_MS 1000
#define TC_RC_DEFAULT_MAX_REPLY (64u << 20) /* bytes of one reply on the wire */
#define TC_RC_MAX_DEPTH 16                  /* nesting of aggregate replies */

/* Reply types, with their RESP bytes. Also mapped: a null bulk string or
 * array -> TC_RC_NIL; a blob error (!) -> TC_RC_ERROR; a verbatim string
 * (=) -> TC_RC_BULK without its "txt:" prefix. Attributes (|) are read and
 * dropped. */
typedef enum tc_rc_type {
    TC_RC_STATUS = '+',
    TC_RC_ERROR = '-',
    TC_RC_INT = ':',
    TC_RC_BULK = '$',
    TC_RC_ARRAY = '*',
    TC_RC_NIL = '_',
    TC_RC_DOUBLE = ',', /* str: the number as sent ("1.5", "inf") */
    TC_RC_BOOL = '#',   /* integer: 0 or 1 */
    TC_RC_BIGNUM = '(', /* str: the digits as sent */
    TC_RC_MAP = '%',    /* elem: key, value, key, value...; n counts both */
    TC_RC_SET = '~',
    TC_RC_PUSH = '>',
} tc_rc_type;

typedef struct tc_rc_reply {
    tc_rc_type type;
    long long integer;        /* INT, BOOL */
    char *str;                /* STATUS ERROR BULK DOUBLE BIGNUM: NUL-terminated; else NULL */
    size_t len;
    struct tc_rc_reply *elem; /* ARRAY MAP SET PUSH */
    size_t n;
    void *mem;                /* top-level reply: the block everything lives in */
} tc_rc_reply;

typedef struct tc_rc {
    int fd;                 /* -1 while closed */
    int timeout_ms;         /* bounds connect, and each send and each whole reply */
    size_t max_reply;       /* a longer reply is refused (-EMSGSIZE) */
    bool sent;              /* the last command's request was (at least partly)
                               handed to the kernel: when it failed, it may have run */
    char *in;               /* received, not consumed: in[in_pos..in_len) */
    size_t in_pos, in_len, in_cap;
    size_t in_need;         /* bytes at in_pos the reply being read needs at least */
    char *out;              /* the request being built */
    size_t out_cap;
    char peer[96];          /* "host:port", for messages */
    char err[320];
    void *ssl;              /* OpenSSL's SSL while the connection speaks TLS, else NULL */
} tc_rc;

/* TLS for the client (tc_rc_connect_tls): which CA the server's certificate
 * must chain to, and the certificate this client shows when the server
 * asks for one. One context serves any number of connections. */
typedef struct tc_rc_tls tc_rc_tls;

/* A closed connection that may be closed again (or opened). */
#define TC_RC_CLOSED {.fd = -1}
void tc_rc_init(tc_rc *c);
/* Connects to host:port (a numeric address or a name) within timeout_ms
 * (<= 0: TC_RC_DEFAULT_TIMEOUT_MS), with TCP_NODELAY. c's previous contents
 * are ignored (close an open connection first); max_reply starts at
 * TC_RC_DEFAULT_MAX_REPLY and may be changed afterwards. */
int tc_rc_connect(tc_rc *c, const char *host, int port, int timeout_ms);
/* A TLS context. ca_file / ca_dir: the CA the servers' certificates must
 * chain to (both NULL or "": the system's default CAs). cert_file and
 * key_file (NULL or "": none): the client certificate, for servers that
 * ask for one (tls_auth_clients). The server's certificate is checked
 * against the CA only, not against the host name: a cluster's node
 * certificates name nodes (node-<id>), not the addresses they are reached
 * at. NULL with a sentence in err when a file does not load. */
tc_rc_tls *tc_rc_tls_new(const char *ca_file, const char *ca_dir, const char *cert_file, const char *key_file,
                         char *err, size_t errlen);
void tc_rc_tls_free(tc_rc_tls *t);
/* tc_rc_connect, then a TLS handshake with tls, both within timeout_ms;
 * tls NULL: a plain connection. Everything else works as on a plain one
 * (a caller must not use c->fd itself while TLS is on). */
int tc_rc_connect_tls(tc_rc *c, const char *host, int port, int timeout_ms, const tc_rc_tls *tls);
/* Closes the socket (if open) and frees the buffers; err is kept. */
void tc_rc_close(tc_rc *c);
/* Changes the timeout of an open connection (a command that waits, such as
 * MEMBERS ADD, needs longer than an INFO): 0, or -ENOTCONN. */
int tc_rc_set_timeout(tc_rc *c, int timeout_ms);
/* Sends one command and reads its reply, within one timeout. Arguments
 * are NUL-terminated strings, or (lens != NULL) lens[i] bytes each. */
int tc_rc_command(tc_rc *c, tc_rc_reply *out, int argc, const char *const *argv, const size_t *lens);
/* Pipelining: several commands may be sent before their replies are read;
 * replies come back in order. tc_rc_send_raw sends bytes that are already
 * RESP (or inline commands). */
int tc_rc_send(tc_rc *c, int argc, const char *const *argv, const size_t *lens);
int tc_rc_send_raw(tc_rc *c, const void *buf, size_t len);
int tc_rc_read(tc_rc *c, tc_rc_reply *out);
/* The next reply's bytes exactly as received (malloc'd, NUL-terminated,
 * *len without the NUL), checked like tc_rc_read checks them. */
int tc_rc_read_raw(tc_rc *c, char **raw, size_t *len);
void tc_rc_reply_free(tc_rc_reply *r);
/* 1 if r is an error reply whose first word is code ("READONLY", "MOVED"). */
int tc_rc_reply_is_error(const tc_rc_reply *r, const char *code);

/* ---- fork_child.c: children for whole-keyspace work ----------------------
 *
 * Forked children do whole-keyspace work (snapshots, backups, big
 * digests): the child sees the parent's memory frozen at fork() through
 * copy-on-write, so the event loop pays for fork() only. In the child every
 * descriptor but the one it writes to is closed — a client or peer socket
 * the parent closes must really close, not live on in a child for the
 * minutes a backup takes — SIGTERM and SIGINT go back to their defaults and
 * SIGPIPE is ignored. */

/* Forks; the child keeps keep_fd (and 0-2) open. As fork(): 0 in the
 * child, its pid in the parent, -1 with errno. */
pid_t tc_fork_keep(int keep_fd);

/* Forks with a pipe from the child to the parent: in the child (0
 * returned) *fd is the write end, in the parent (pid returned) the read
 * end, non-blocking and close-on-exec. -1 with errno, nothing open. */
pid_t tc_fork_with_pipe(int *fd);

/* ---- big_alloc.c: big buffers in huge pages -------------------------------
 *
 * A buffer of many megabytes (a big value, the query that carries it, its
 * log entry, the pieces put back together) is memory the kernel hands out
 * fresh, one page fault and one zeroed 4 KiB page at a time: 75 ms for
 * 100 MB on this 2-vCPU VM against 14 ms in 2 MiB pages. */

/* From this size on, glibc gives every block a mapping of its own (its
 * mmap threshold never rises above 32 MiB), so advice on one touches no
 * other block. */
#define TC_BIG_ALLOC_MIN ((size_t)32 << 20)

/* Asks for transparent huge pages on the whole 2 MiB-aligned part of
 * [p, p + n) when n >= TC_BIG_ALLOC_MIN, before the buffer is written:
 * 1 if asked, 0 if not (small, or nothing aligned inside), -1 if the kernel
 * refused (THP compiled out). Advice only: the buffer works the same. */
int tc_big_alloc_advise(void *p, size_t n);

/* Bytes advised so far (INFO memory). Safe from any thread. */
unsigned long long tc_big_alloc_advised_bytes(void);

/* ---- big_keep.c: freed big buffers kept for the next big value ------------
 *
 * Blocks of TC_BIG_ALLOC_MIN bytes or more freed through tc_big_free are
 * kept (at most TC_BIG_KEEP_SLOTS of them, at most the limit in bytes) for
 * a later tc_big_take or tc_big_malloc of about their size, instead of going
 * back to the kernel: memory given back costs a page fault and a zeroed page
 * again when touched, many times more in a VM that returns it to its host.
 * Every function is safe from any thread; all blocks are malloc's, so any of
 * them may also be realloc'd or freed with free() (then it is not kept). */

#define TC_BIG_KEEP_SLOTS 8
/* How long a kept block waits for a taker (tc_big_trim from the cron). */
#define TC_BIG_KEEP_MS 10000

/* The most bytes kept (the big_buffer_keep setting); 0 (the default until
 * set) keeps nothing and frees what is kept. */
void tc_big_keep_limit(size_t bytes);

/* A kept block of at least n and at most n + n/4 bytes (its usable size in
 * *got when got is not NULL), or NULL: none, or n below TC_BIG_ALLOC_MIN. */
void *tc_big_take(size_t n, size_t *got);

/* tc_big_take(n), else malloc(n) advised into huge pages (NULL if out of
 * memory). */
void *tc_big_malloc(size_t n);

/* Keeps p if it is big and there is room (the oldest kept blocks are freed
 * to make it), else frees it. NULL is ignored. */
void tc_big_free(void *p);

/* Frees the blocks kept for max_age_ms or longer. */
void tc_big_trim(unsigned max_age_ms);

/* In a forked child (tc_fork_keep): the kept blocks' pages were not
 * inherited; every call here then bypasses the pool. */
void tc_big_forked_child(void);

/* INFO memory: blocks handed out again, and bytes kept now. */
unsigned long long tc_big_reused(void);
unsigned long long tc_big_kept_bytes(void);

#endif
