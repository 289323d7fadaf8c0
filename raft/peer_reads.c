/* libraft's reads of incoming peer messages, gathered.
 *
 * libraft 0.22 reads a message in three steps (src/uv_recv.c): its alloc
 * callback hands libuv a buffer of exactly the 16-byte preamble, then one
 * of exactly the header, then one of exactly the payload, so libuv makes a
 * read() for each, and one more that finds the socket empty. Measured on
 * a primary under `redis-benchmark -t set -P 1 -c 50` (strace -c of its
 * Raft thread): 6.8 reads per log entry, for the two small answers the
 * replicas send per entry; a replica makes three or four per AppendEntries.
 *
 * Here libuv reads into a buffer of this thread's instead, as much as the
 * socket holds (SCRATCH_LEN at most), and the bytes are handed to libraft
 * chunk by chunk in the sizes its alloc callback asks for, each followed by
 * its read callback, as libuv would have done: one read() for all the
 * messages that arrived together. A chunk of SCRATCH_LEN or more (a big
 * AppendEntries payload, a snapshot) is read straight into libraft's buffer
 * as before: copying it would cost more than the calls it saves.
 *
 * Nothing is kept between two reads: the bytes of one read are all handed
 * over before the callback returns, since libraft asks for the next chunk
 * as soon as one is complete (preamble, header, payload, next preamble...).
 * That holds for a reader that goes on reading until it closes the stream,
 * as libraft's message reader does; if the reader closes the stream (a bad
 * message, the node closing), what is left of the read is dropped with it.
 * A reader that stopped reading with bytes left would lose them: that one
 * is told by an error on the stream (UV_ECONNABORTED) instead. libraft's
 * only other uv_read_start, in its stock TCP transport's handshake, is not
 * linked into tricache (raft/transport.c is ours). */
#include "peer_reads.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Larger than any run of small messages that arrive together (an
 * AppendEntries answer is ~60 bytes; AppendEntries of a few hundred small
 * writes a few KiB), small enough to stay in the cache. */
#define SCRATCH_LEN (64 * 1024)

/* The (alloc, read) pairs readers started with; libraft uses one. A pair
 * beyond these is started unbuffered. */
#define MAX_PAIRS 4

typedef struct reader {
    uv_alloc_cb alloc;
    uv_read_cb read;
} reader;

static reader readers[MAX_PAIRS];
static int n_readers;
static pthread_mutex_t readers_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned long long syscalls, chunks;

/* This thread's read buffer, and the chunk the reader asked for when libuv
 * last called alloc on this thread (libuv reads and calls read right after
 * alloc, on the same thread, before any other stream's alloc). */
static __thread char *scratch;
static __thread uv_buf_t asked;
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void make_scratch_key(void)
{
    (void)pthread_key_create(&scratch_key, free);
}

static char *thread_scratch(void)
{
    if (!scratch) {
        (void)pthread_once(&scratch_once, make_scratch_key);
        scratch = malloc(SCRATCH_LEN);
        /* freed when the thread ends */
        if (scratch && pthread_setspecific(scratch_key, scratch) != 0) {
            free(scratch);
            scratch = NULL;
        }
    }
    return scratch;
}

static void count(unsigned long long *c)
{
    __atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

static void on_alloc(const reader *r, uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    r->alloc(h, suggested, buf);
    asked = *buf;
    if (!buf->base || buf->len == 0 || buf->len >= SCRATCH_LEN) return; /* as it is */
    char *s = thread_scratch();
    if (!s) return; /* no buffer: read as libraft asked */
    buf->base = s;
    buf->len = SCRATCH_LEN;
}

static void on_read(const reader *r, uv_read_cb ours, uv_stream_t *st, ssize_t nread,
                    const uv_buf_t *buf)
{
    if (buf->base) count(&syscalls); /* libuv calls with no buffer only for UV_ENOBUFS */
    if (!buf->base || buf->base != scratch || nread <= 0) {
        if (nread > 0) count(&chunks);
        uv_buf_t theirs = asked;
        r->read(st, nread, buf->base == scratch ? &theirs : buf);
        return;
    }
    const char *src = buf->base;
    size_t left = (size_t)nread;
    uv_buf_t chunk = asked;
    for (;;) {
        size_t n = left < chunk.len ? left : chunk.len;
        memcpy(chunk.base, src, n);
        src += n;
        left -= n;
        count(&chunks);
        r->read(st, (ssize_t)n, &chunk);
        if (left == 0) return;
        if (uv_is_closing((uv_handle_t *)st)) return; /* dropped with the stream */
        if (st->read_cb != ours) {
            /* Stopped reading with bytes of the stream in hand: they cannot
             * be put back, so the reader learns that the stream broke. */
            uv_buf_t none = {0};
            r->read(st, UV_ECONNABORTED, &none);
            return;
        }
        r->alloc((uv_handle_t *)st, SCRATCH_LEN, &chunk);
        if (!chunk.base || chunk.len == 0) {
            r->read(st, UV_ENOBUFS, &chunk);
            return;
        }
    }
}

/* One pair of wrappers per reader slot: libuv keeps only the callbacks, so
 * the slot is known from which wrapper it calls. */
#define SLOT(i)                                                                          \
    static void read_##i(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);          \
    static void alloc_##i(uv_handle_t *h, size_t suggested, uv_buf_t *buf)               \
    {                                                                                    \
        on_alloc(&readers[i], h, suggested, buf);                                        \
    }                                                                                    \
    static void read_##i(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)           \
    {                                                                                    \
        on_read(&readers[i], read_##i, st, nread, buf);                                  \
    }
SLOT(0)
SLOT(1)
SLOT(2)
SLOT(3)

static const uv_alloc_cb slot_alloc[MAX_PAIRS] = {alloc_0, alloc_1, alloc_2, alloc_3};
static const uv_read_cb slot_read[MAX_PAIRS] = {read_0, read_1, read_2, read_3};

int tc__raft_uv_read_start(uv_stream_t *stream, uv_alloc_cb alloc_cb, uv_read_cb read_cb)
{
    int slot = -1;
    pthread_mutex_lock(&readers_lock);
    for (int i = 0; i < n_readers && slot < 0; i++)
        if (readers[i].alloc == alloc_cb && readers[i].read == read_cb) slot = i;
    if (slot < 0 && n_readers < MAX_PAIRS) {
        slot = n_readers;
        readers[slot] = (reader){alloc_cb, read_cb};
        n_readers++;
    }
    pthread_mutex_unlock(&readers_lock);
    if (slot < 0) return uv_read_start(stream, alloc_cb, read_cb);
    return uv_read_start(stream, slot_alloc[slot], slot_read[slot]);
}

unsigned long long tc_peer_reads_syscalls(void)
{
    return __atomic_load_n(&syscalls, __ATOMIC_RELAXED);
}

unsigned long long tc_peer_reads_chunks(void)
{
    return __atomic_load_n(&chunks, __ATOMIC_RELAXED);
}
