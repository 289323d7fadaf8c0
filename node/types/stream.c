/* Streams (type 6): the value behind a stream key and its operations row.
 * The layout and why chunks close where they do: stream.h. Commands:
 * t_stream.c. */
#include "stream.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collection.h"
#include "lazyfree.h"
#include "types/types.h"

/* A string of an entry is its length as a LEB128 varint (one byte below
 * 128: field names and small values, as BullMQ's events are) then its
 * bytes. */
static size_t varint_len(size_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

tc_stream *tc_stream_new(void)
{
    tc_stream *s = calloc(1, sizeof *s);
    return s;
}

/* Drops one stream's hold on ch; the last frees it with its entries. */
static void chunk_unref(tc_stream_chunk *ch)
{
    if (__atomic_sub_fetch(&ch->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
    for (uint32_t i = 0; i < ch->n; i++) free(ch->e[i]);
    free(ch);
}

void tc_stream_free(tc_stream *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->nchunks; i++) chunk_unref(s->chunks[i]);
    free(s->chunks);
    free(s);
}

tc_stream *tc_stream_dup(const tc_stream *s)
{
    tc_stream *d = malloc(sizeof *d);
    if (!d) return NULL;
    *d = *s;
    d->cap = s->nchunks;
    d->chunks = NULL;
    if (s->nchunks && !(d->chunks = malloc(s->nchunks * sizeof *d->chunks))) {
        free(d);
        return NULL;
    }
    for (size_t i = 0; i < s->nchunks; i++) {
        __atomic_add_fetch(&s->chunks[i]->refs, 1, __ATOMIC_RELAXED);
        d->chunks[i] = s->chunks[i];
    }
    return d;
}

/* Chunk c of s, made s's own before a change (a copy of it and its
 * entries if another stream shares it); NULL when out of memory. */
static tc_stream_chunk *chunk_own(tc_stream *s, size_t c)
{
    tc_stream_chunk *ch = s->chunks[c];
    if (__atomic_load_n(&ch->refs, __ATOMIC_ACQUIRE) == 1) return ch;
    tc_stream_chunk *own = malloc(sizeof *own);
    if (!own) return NULL;
    *own = *ch;
    own->refs = 1;
    for (uint32_t i = 0; i < ch->n; i++) {
        size_t size = sizeof *ch->e[i] + ch->e[i]->bytes;
        if (!(own->e[i] = malloc(size))) {
            while (i--) free(own->e[i]);
            free(own);
            return NULL;
        }
        memcpy(own->e[i], ch->e[i], size);
    }
    chunk_unref(ch);
    s->chunks[c] = own;
    return own;
}

size_t tc_stream_memory(const tc_stream *s) { return sizeof *s + s->cap * sizeof *s->chunks + s->mem; }

static size_t entry_size(const tc_stream_entry *e) { return sizeof *e + e->bytes; }

tc_key *tc_stream_create(tc_keyspace *ks, const char *key, size_t klen, int64_t expire_at)
{
    tc_stream *s = tc_stream_new();
    if (!s) return NULL;
    tc_key *k = tc_ks_set_pointer(ks, key, klen, TC_TYPE_STREAM, TC_ENC_STREAM, s, expire_at);
    if (!k) free(s);
    return k;
}

tc_stream_entry *tc_stream_entry_new(tc_stream_id id, size_t nfields, const char *const *fv, const size_t *fvlen)
{
    size_t bytes = 0;
    for (size_t i = 0; i < 2 * nfields; i++) {
        if (fvlen[i] > UINT32_MAX) return NULL;
        bytes += varint_len(fvlen[i]) + fvlen[i];
    }
    if (nfields > UINT32_MAX || bytes > UINT32_MAX) return NULL;
    tc_stream_entry *e = malloc(sizeof *e + bytes);
    if (!e) return NULL;
    e->id = id;
    e->nfields = (uint32_t)nfields;
    e->bytes = (uint32_t)bytes;
    unsigned char *p = (unsigned char *)e->data;
    for (size_t i = 0; i < 2 * nfields; i++) {
        size_t l = fvlen[i];
        for (; l >= 0x80; l >>= 7) *p++ = (unsigned char)(l | 0x80);
        *p++ = (unsigned char)l;
        memcpy(p, fv[i], fvlen[i]);
        p += fvlen[i];
    }
    return e;
}

const char *tc_stream_entry_str(const tc_stream_entry *e, size_t *off, size_t *len)
{
    const unsigned char *p = (const unsigned char *)e->data + *off;
    size_t l = 0;
    unsigned shift = 0;
    for (;;) {
        unsigned char b = *p++;
        l |= (size_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) break;
        shift += 7;
    }
    *len = l;
    *off = (size_t)((const char *)p - e->data) + l;
    return (const char *)p;
}

/* A new chunk at the end of s; NULL when out of memory. */
static tc_stream_chunk *chunk_push(tc_stream *s)
{
    if (s->nchunks == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        tc_stream_chunk **v = realloc(s->chunks, cap * sizeof *v);
        if (!v) return NULL;
        s->chunks = v;
        s->cap = cap;
    }
    tc_stream_chunk *ch = calloc(1, sizeof *ch);
    if (!ch) return NULL;
    ch->refs = 1;
    s->chunks[s->nchunks++] = ch;
    s->mem += sizeof *ch;
    return ch;
}

/* Drops chunk index c (one of s's own, emptied). */
static void chunk_drop(tc_stream *s, size_t c)
{
    chunk_unref(s->chunks[c]);
    s->mem -= sizeof(tc_stream_chunk);
    memmove(s->chunks + c, s->chunks + c + 1, (s->nchunks - c - 1) * sizeof *s->chunks);
    s->nchunks--;
}

int tc_stream_append_entry(tc_stream *s, tc_stream_entry *e)
{
    tc_stream_chunk *ch = s->nchunks ? s->chunks[s->nchunks - 1] : NULL;
    /* as Redis starts a new listpack node: the last one took its entries
     * or its bytes */
    if (!ch || ch->slots >= TC_STREAM_NODE_MAX_ENTRIES || ch->bytes + e->bytes >= TC_STREAM_NODE_MAX_BYTES) {
        /* (a new chunk takes its first entry however big it is) */
        if (!(ch = chunk_push(s))) return -1;
    } else if (!(ch = chunk_own(s, s->nchunks - 1))) {
        return -1;
    }
    ch->e[ch->n++] = e;
    ch->slots++;
    ch->bytes = ch->bytes + e->bytes > UINT32_MAX - 1 ? UINT32_MAX - 1 : ch->bytes + e->bytes;
    s->mem += entry_size(e);
    s->length++;
    s->entries_added++;
    s->last_id = e->id;
    return 0;
}

int tc_stream_append(tc_stream *s, tc_stream_id id, size_t nfields, const char *const *fv, const size_t *fvlen)
{
    tc_stream_entry *e = tc_stream_entry_new(id, nfields, fv, fvlen);
    if (!e) return -1;
    if (tc_stream_append_entry(s, e) != 0) {
        free(e);
        return -1;
    }
    return 0;
}

/* ---- positions ------------------------------------------------------------ */

tc_stream_pos tc_stream_seek(const tc_stream *s, tc_stream_id id)
{
    /* the first chunk whose last entry is >= id */
    size_t lo = 0, hi = s->nchunks;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const tc_stream_chunk *ch = s->chunks[mid];
        if (tc_stream_id_cmp(ch->e[ch->n - 1]->id, id) < 0) lo = mid + 1;
        else hi = mid;
    }
    tc_stream_pos p = {lo, 0};
    if (lo == s->nchunks) return p;
    const tc_stream_chunk *ch = s->chunks[lo];
    size_t a = 0, b = ch->n;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (tc_stream_id_cmp(ch->e[mid]->id, id) < 0) a = mid + 1;
        else b = mid;
    }
    p.i = a;
    return p;
}

void tc_stream_next(const tc_stream *s, tc_stream_pos *p)
{
    if (p->c >= s->nchunks) return;
    if (++p->i >= s->chunks[p->c]->n) {
        p->c++;
        p->i = 0;
    }
}

int tc_stream_prev(const tc_stream *s, tc_stream_pos *p)
{
    if (p->c >= s->nchunks) {
        if (!s->nchunks) return 0;
        p->c = s->nchunks - 1;
        p->i = s->chunks[p->c]->n - 1;
        return 1;
    }
    if (p->i > 0) {
        p->i--;
        return 1;
    }
    if (p->c == 0) return 0;
    p->c--;
    p->i = s->chunks[p->c]->n - 1;
    return 1;
}

int tc_stream_seek_back(const tc_stream *s, tc_stream_id id, tc_stream_pos *p)
{
    *p = tc_stream_seek(s, id);
    const tc_stream_entry *e = tc_stream_at(s, *p);
    if (e && tc_stream_id_cmp(e->id, id) == 0) return 1;
    return tc_stream_prev(s, p);
}

tc_stream_entry *tc_stream_first(const tc_stream *s) { return s->nchunks ? s->chunks[0]->e[0] : NULL; }

tc_stream_entry *tc_stream_last(const tc_stream *s)
{
    if (!s->nchunks) return NULL;
    const tc_stream_chunk *ch = s->chunks[s->nchunks - 1];
    return ch->e[ch->n - 1];
}

/* ---- removing ---------------------------------------------------------------- */

int tc_stream_delete(tc_stream *s, tc_stream_id id)
{
    tc_stream_pos p = tc_stream_seek(s, id);
    tc_stream_entry *e = tc_stream_at(s, p);
    if (!e || tc_stream_id_cmp(e->id, id) != 0) return 0;
    tc_stream_chunk *ch = chunk_own(s, p.c);
    if (!ch) return 0; /* out of memory: as if absent (nothing changed) */
    e = ch->e[p.i];
    s->mem -= entry_size(e);
    free(e);
    memmove(ch->e + p.i, ch->e + p.i + 1, (ch->n - p.i - 1) * sizeof *ch->e);
    ch->n--;
    if (ch->n == 0) chunk_drop(s, p.c); /* Redis frees a node with no live entry */
    s->length--;
    if (tc_stream_id_cmp(id, s->max_deleted_id) > 0) s->max_deleted_id = id;
    return 1;
}

uint64_t tc_stream_do_trim(tc_stream *s, const tc_stream_trim *t)
{
    if (!t->strategy) return 0;
    int maxlen = t->strategy == TC_STREAM_TRIM_MAXLEN;
    uint64_t removed = 0;
    size_t whole = 0; /* chunks emptied from the front */
    for (size_t c = 0; c < s->nchunks; c++) {
        if (maxlen && s->length <= t->maxlen) break;
        tc_stream_chunk *ch = s->chunks[c];
        if (t->limit && removed + ch->n > (uint64_t)t->limit) break;
        int all = maxlen ? s->length - ch->n >= t->maxlen
                         : tc_stream_id_cmp(ch->e[ch->n - 1]->id, t->minid) < 0;
        if (all) {
            for (uint32_t i = 0; i < ch->n; i++) s->mem -= entry_size(ch->e[i]);
            s->length -= ch->n;
            removed += ch->n;
            whole++;
            continue;
        }
        /* the chunk keeps entries: an approximate trim stops at it, an
         * exact one takes what it must from its front */
        if (t->approx || !(ch = chunk_own(s, c))) break;
        uint32_t k = 0;
        while (k < ch->n) {
            if (maxlen ? s->length <= t->maxlen : tc_stream_id_cmp(ch->e[k]->id, t->minid) >= 0) break;
            s->mem -= entry_size(ch->e[k]);
            free(ch->e[k]);
            s->length--;
            k++;
        }
        memmove(ch->e, ch->e + k, (ch->n - k) * sizeof *ch->e);
        ch->n -= k;
        removed += k;
        break;
    }
    for (size_t c = 0; c < whole; c++) chunk_unref(s->chunks[c]);
    s->mem -= whole * sizeof(tc_stream_chunk);
    memmove(s->chunks, s->chunks + whole, (s->nchunks - whole) * sizeof *s->chunks);
    s->nchunks -= whole;
    return removed;
}

/* ---- IDs ------------------------------------------------------------------------ */

size_t tc_stream_id_format(tc_stream_id id, char *buf)
{
    return (size_t)sprintf(buf, "%" PRIu64 "-%" PRIu64, id.ms, id.seq);
}

/* An unsigned 64-bit number as Redis's string2ull reads it (IDs are read
 * that way, so its quirks are part of what a client sees): a strict
 * negative long long is refused; anything else goes to strtoull, which
 * takes leading blanks and a sign (a '-' wrapping around) but no trailing
 * bytes and nothing past 2^64-1. s is NUL-terminated. */
static int redis_u64(const char *s, uint64_t *out)
{
    if (s[0] == '-' && s[1] >= '1' && s[1] <= '9') {
        size_t n = strlen(s + 1);
        int digits = 1;
        for (size_t i = 1; i <= n; i++) digits &= s[i] >= '0' && s[i] <= '9';
        /* within long long: "-1" .. "-9223372036854775808" */
        if (digits && (n < 19 || (n == 19 && strcmp(s + 1, "9223372036854775808") <= 0))) return -1;
    }
    if (s[0] == '\0') return -1;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == EINVAL || errno == ERANGE || *end != '\0') return -1;
    *out = v;
    return 0;
}

int tc_stream_id_parse(const char *p, size_t len, uint64_t missing_seq, tc_stream_id *out, int *seq_star)
{
    /* Redis copies the argument into a 128-byte buffer and reads it as a C
     * string (so it ends at a NUL byte) */
    char buf[128];
    if (len > sizeof buf - 1) return -1;
    memcpy(buf, p, len);
    buf[len] = '\0';
    if (seq_star) *seq_star = 0;
    char *dash = strchr(buf, '-');
    if (dash) *dash = '\0';
    if (redis_u64(buf, &out->ms) != 0) return -1;
    if (!dash) {
        out->seq = missing_seq;
        return 0;
    }
    if (seq_star && dash[1] == '*' && dash[2] == '\0') {
        *seq_star = 1;
        out->seq = 0;
        return 0;
    }
    return redis_u64(dash + 1, &out->seq);
}

/* ---- the operations row ------------------------------------------------------ */

static const char *encoding_name(const tc_key *k)
{
    (void)k;
    return "stream";
}

static size_t memory(const tc_key *k)
{
    const tc_stream *s = tc_stream_of(k);
    return sizeof(void *) + tc_stream_memory(s);
}

static void free_stream(void *s) { tc_stream_free(s); }

static void free_value(tc_key *k)
{
    tc_stream *s = tc_stream_of(k);
    tc_lazyfree(free_stream, s, (size_t)s->length);
}

static void feed_u64(tc_digest_feed_fn feed, void *ud, uint64_t v) { feed(ud, &v, sizeof v); }

static void digest(const tc_key *k, tc_digest_feed_fn feed, void *ud)
{
    /* in ID order, chunk boundaries included: they decide what a later
     * approximate trim removes, so two nodes must agree on them too */
    const tc_stream *s = tc_stream_of(k);
    feed_u64(feed, ud, s->length);
    feed_u64(feed, ud, s->last_id.ms);
    feed_u64(feed, ud, s->last_id.seq);
    feed_u64(feed, ud, s->max_deleted_id.ms);
    feed_u64(feed, ud, s->max_deleted_id.seq);
    feed_u64(feed, ud, s->entries_added);
    for (size_t c = 0; c < s->nchunks; c++) {
        const tc_stream_chunk *ch = s->chunks[c];
        feed_u64(feed, ud, (uint64_t)ch->slots << 32 | ch->bytes);
        for (uint32_t i = 0; i < ch->n; i++) {
            const tc_stream_entry *e = ch->e[i];
            feed_u64(feed, ud, e->id.ms);
            feed_u64(feed, ud, e->id.seq);
            feed_u64(feed, ud, e->nfields);
            feed(ud, e->data, e->bytes);
        }
    }
}

/* Layout 1 (snapshot/FORMAT.md §4): the stream's IDs and counters, then
 * its chunks, each with its entries. */
#define LAYOUT 1

static int image_encode(const tc_key *k, tc_buf *scratch, const char **p, size_t *len)
{
    const tc_stream *s = tc_stream_of(k);
    tc_img_put_u8(scratch, LAYOUT);
    tc_img_put_u64(scratch, s->last_id.ms);
    tc_img_put_u64(scratch, s->last_id.seq);
    tc_img_put_u64(scratch, s->max_deleted_id.ms);
    tc_img_put_u64(scratch, s->max_deleted_id.seq);
    tc_img_put_u64(scratch, s->entries_added);
    tc_img_put_u32(scratch, (uint32_t)s->nchunks);
    for (size_t c = 0; c < s->nchunks; c++) {
        const tc_stream_chunk *ch = s->chunks[c];
        tc_img_put_u32(scratch, ch->slots);
        tc_img_put_u32(scratch, ch->bytes);
        tc_img_put_u32(scratch, ch->n);
        for (uint32_t i = 0; i < ch->n; i++) {
            const tc_stream_entry *e = ch->e[i];
            tc_img_put_u64(scratch, e->id.ms);
            tc_img_put_u64(scratch, e->id.seq);
            tc_img_put_u32(scratch, e->nfields);
            size_t off = 0;
            for (uint32_t j = 0; j < 2 * e->nfields; j++) {
                size_t l;
                const char *str = tc_stream_entry_str(e, &off, &l);
                tc_img_put_str(scratch, str, l);
            }
        }
    }
    if (scratch->oom) return -1;
    *p = scratch->data;
    *len = scratch->len;
    return 0;
}

/* Builds the stream a record describes; NULL with err set. */
static tc_stream *decode_stream(tc_img_reader *r, char *err, size_t errlen)
{
    tc_stream *s = tc_stream_new();
    const char **fv = NULL;
    size_t *fvlen = NULL;
    if (!s) goto oom;
    s->last_id.ms = tc_img_u64(r);
    s->last_id.seq = tc_img_u64(r);
    s->max_deleted_id.ms = tc_img_u64(r);
    s->max_deleted_id.seq = tc_img_u64(r);
    s->entries_added = tc_img_u64(r);
    uint32_t nchunks = tc_img_u32(r);
    if (r->bad) goto truncated;
    tc_stream_id prev = {0, 0};
    int any = 0;
    for (uint32_t c = 0; c < nchunks; c++) {
        uint32_t slots = tc_img_u32(r), bytes = tc_img_u32(r), n = tc_img_u32(r);
        if (r->bad) goto truncated;
        if (n == 0 || n > slots || slots > TC_STREAM_NODE_MAX_ENTRIES) {
            snprintf(err, errlen, "stream record with a chunk of %u entries in %u slots", n, slots);
            goto fail;
        }
        tc_stream_chunk *ch = chunk_push(s);
        if (!ch) goto oom;
        ch->slots = slots;
        ch->bytes = bytes;
        for (uint32_t i = 0; i < n; i++) {
            tc_stream_id id;
            id.ms = tc_img_u64(r);
            id.seq = tc_img_u64(r);
            uint32_t nf = tc_img_u32(r);
            if (r->bad) goto truncated;
            if (any && tc_stream_id_cmp(id, prev) <= 0) {
                snprintf(err, errlen, "stream record with entries out of ID order");
                goto fail;
            }
            /* each pair takes at least 8 bytes of the record */
            if (nf == 0 || (uint64_t)nf * 8 > (uint64_t)(r->end - r->p)) {
                snprintf(err, errlen, nf ? "truncated stream record" : "stream record with an entry without fields");
                goto fail;
            }
            free(fv);
            free(fvlen);
            fv = malloc(2 * (size_t)nf * sizeof *fv);
            fvlen = malloc(2 * (size_t)nf * sizeof *fvlen);
            if (!fv || !fvlen) goto oom;
            for (uint32_t j = 0; j < 2 * nf; j++)
                if (!(fv[j] = tc_img_str(r, &fvlen[j]))) goto truncated;
            tc_stream_entry *e = tc_stream_entry_new(id, nf, fv, fvlen);
            if (!e) goto oom;
            ch->e[ch->n++] = e;
            s->mem += entry_size(e);
            s->length++;
            prev = id;
            any = 1;
        }
    }
    if (r->p != r->end) {
        snprintf(err, errlen, "stream record with trailing bytes");
        goto fail;
    }
    if (any && tc_stream_id_cmp(prev, s->last_id) > 0) {
        snprintf(err, errlen, "stream record with an entry past its last ID");
        goto fail;
    }
    if (s->entries_added < s->length) {
        snprintf(err, errlen, "stream record with fewer entries added than it holds");
        goto fail;
    }
    free(fv);
    free(fvlen);
    return s;
truncated:
    snprintf(err, errlen, "truncated stream record");
    goto fail;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    free(fv);
    free(fvlen);
    tc_stream_free(s);
    return NULL;
}

static tc_key *image_decode(tc_keyspace *ks, const char *key, size_t klen, const char *v, size_t vlen,
                            int64_t expire_at, char *err, size_t errlen)
{
    tc_img_reader r = {(const unsigned char *)v, (const unsigned char *)v + vlen, 0};
    unsigned layout = tc_img_u8(&r);
    if (r.bad || layout != LAYOUT) {
        snprintf(err, errlen, "stream record of unknown layout %u", layout);
        return NULL;
    }
    tc_stream *s = decode_stream(&r, err, errlen);
    if (!s) return NULL;
    tc_key *k = tc_ks_set_pointer(ks, key, klen, TC_TYPE_STREAM, TC_ENC_STREAM, s, expire_at);
    if (!k) {
        tc_stream_free(s);
        snprintf(err, errlen, "out of memory");
    }
    return k;
}

static tc_key *copy(tc_keyspace *ks, const tc_key *src, const char *key, size_t klen, int64_t expire_at)
{
    tc_stream *s = tc_stream_dup(tc_stream_of(src));
    if (!s) return NULL;
    tc_key *k = tc_ks_set_pointer(ks, key, klen, TC_TYPE_STREAM, TC_ENC_STREAM, s, expire_at);
    if (!k) tc_stream_free(s);
    return k;
}

const tc_type_ops tc_stream_type = {
    .type = TC_TYPE_STREAM,
    .name = "stream",
    .encoding_name = encoding_name,
    .refcount = NULL,
    .memory = memory,
    .free_value = free_value,
    .digest = digest,
    .image_encode = image_encode,
    .image_decode = image_decode,
    .copy = copy, /* shares the chunks: a script's undo journal copies every key it writes */
};
