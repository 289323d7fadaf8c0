#include "log_entry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_varint(tc_buf *b, uint64_t v)
{
    unsigned char tmp[10];
    size_t n = 0;
    do {
        unsigned char byte = v & 0x7f;
        v >>= 7;
        tmp[n++] = (unsigned char)(byte | (v ? 0x80 : 0));
    } while (v);
    tc_buf_append(b, tmp, n);
}

/* Reads a varint of at most 10 bytes that fits 64 bits; -1 if malformed. */
static int get_varint(const unsigned char **p, const unsigned char *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end) return -1;
        unsigned char byte = *(*p)++;
        if (shift == 63 && byte > 1) return -1;
        v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            /* a zero continuation byte would make encodings ambiguous */
            if (byte == 0 && shift > 0) return -1;
            *out = v;
            return 0;
        }
    }
    return -1;
}

static void put_u64le(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64le(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void tc_logentry_begin(tc_buf *b, int kind, int64_t time_ms, uint64_t seed)
{
    b->len = 0;
    b->oom = 0;
    unsigned char h[TC_LOGENTRY_HEADER];
    h[0] = TC_LOGENTRY_VERSION;
    h[1] = (unsigned char)kind;
    put_u64le(h + 2, (uint64_t)time_ms);
    put_u64le(h + 10, seed);
    tc_buf_append(b, h, sizeof h);
    /* the command count goes after the header, as a fixed 5-byte varint so
     * it can be patched in place at the end */
    tc_buf_append(b, "\x80\x80\x80\x80\x00", TC_LOGENTRY_COUNT_LEN);
}

void tc_logentry_add(tc_buf *b, size_t argc, const tc_slice *argv)
{
    put_varint(b, argc);
    for (size_t i = 0; i < argc; i++) {
        put_varint(b, argv[i].len);
        tc_buf_append(b, argv[i].p, argv[i].len);
    }
}

/* Rewrites a version-2 entry being built as version 3: each command gets
 * database 0 in front. The commands are re-encoded from a copy (the count
 * is not patched yet, so they are read until the end of the bytes). */
static void upgrade_to_db(tc_buf *b)
{
    size_t start = TC_LOGENTRY_HEADER + TC_LOGENTRY_COUNT_LEN;
    size_t body = b->len - start;
    unsigned char *copy = body ? malloc(body) : NULL;
    if (body && !copy) {
        b->oom = 1; /* tc_logentry_end then fails: the batch is refused, never half-written */
        return;
    }
    if (body) memcpy(copy, b->data + start, body);
    b->len = start;
    ((unsigned char *)b->data)[0] = TC_LOGENTRY_VERSION_DB;
    const unsigned char *p = copy, *end = copy + body;
    while (p < end) {
        const unsigned char *cmd = p;
        uint64_t argc, l;
        if (get_varint(&p, end, &argc) != 0) break; /* cannot happen: we wrote these bytes */
        for (uint64_t a = 0; a < argc; a++) {
            if (get_varint(&p, end, &l) != 0 || l > (uint64_t)(end - p)) {
                p = end;
                break;
            }
            p += l;
        }
        put_varint(b, 0);
        tc_buf_append(b, cmd, (size_t)(p - cmd));
    }
    free(copy);
}

void tc_logentry_add_db(tc_buf *b, int db, size_t argc, const tc_slice *argv)
{
    if (b->len < TC_LOGENTRY_HEADER + TC_LOGENTRY_COUNT_LEN) return; /* no header: begin was not called */
    unsigned char version = ((unsigned char *)b->data)[0];
    if (db != 0 && version == TC_LOGENTRY_VERSION) {
        upgrade_to_db(b);
        version = TC_LOGENTRY_VERSION_DB;
    }
    if (version == TC_LOGENTRY_VERSION_DB) put_varint(b, (uint64_t)(db < 0 ? 0 : db));
    tc_logentry_add(b, argc, argv);
}

int tc_logentry_end(tc_buf *b, uint32_t n)
{
    if (b->oom || b->len < TC_LOGENTRY_HEADER + TC_LOGENTRY_COUNT_LEN) return -1;
    unsigned char *p = (unsigned char *)b->data + TC_LOGENTRY_HEADER;
    for (int i = 0; i < TC_LOGENTRY_COUNT_LEN; i++) {
        p[i] = (unsigned char)((n >> (7 * i)) & 0x7f);
        if (i < TC_LOGENTRY_COUNT_LEN - 1) p[i] |= 0x80;
    }
    return 0;
}

/* The padded count may carry zero continuation bytes, so it is read apart
 * from get_varint's canonical-form rule. */
static int get_count(const unsigned char **p, const unsigned char *end, uint64_t *out)
{
    if (end - *p < TC_LOGENTRY_COUNT_LEN) return -1;
    uint64_t v = 0;
    for (int i = 0; i < TC_LOGENTRY_COUNT_LEN; i++) {
        unsigned char byte = (*p)[i];
        if ((i < TC_LOGENTRY_COUNT_LEN - 1) != ((byte & 0x80) != 0)) return -1;
        v |= (uint64_t)(byte & 0x7f) << (7 * i);
    }
    *p += TC_LOGENTRY_COUNT_LEN;
    *out = v;
    return 0;
}

uint64_t tc_logentry_v1_seed(int64_t time_ms)
{
    /* any fixed function of the entry would do; the constant keeps it apart
     * from the per-command derivation */
    return tc_mix64((uint64_t)time_ms ^ 0x7463763173656564ull); /* "tcv1seed" */
}

uint64_t tc_logentry_command_seed(uint64_t entry_seed, uint32_t index)
{
    /* Seeding command i with entry_seed + i would make its sequence the next
     * command's shifted by one; a mixed index puts each command at an
     * unrelated point of the generator's cycle. */
    return tc_mix64(entry_seed ^ tc_mix64((uint64_t)index + 1));
}

int tc_logentry_too_new(const void *data, size_t len, char *err, size_t errlen)
{
    const unsigned char *p = data;
    if (len < 1 || p[0] <= TC_LOGENTRY_MAX_VERSION) return 0;
    snprintf(err, errlen, "log entry version %u is newer than this tricache (reads 1-%d): upgrade this node", p[0],
             TC_LOGENTRY_MAX_VERSION);
    return 1;
}

int tc_logentry_open(tc_logentry_reader *r, const void *data, size_t len, char *err, size_t errlen)
{
    return tc_logentry_open_gap(r, data, len, NULL, err, errlen);
}

int tc_logentry_open_gap(tc_logentry_reader *r, const void *data, size_t len, const tc_logentry_gap *gap, char *err,
                         size_t errlen)
{
    if (gap && gap->at > len) {
        snprintf(err, errlen, "log entry's gap at %zu is past its %zu bytes", gap->at, len);
        return -1;
    }
    const unsigned char *p = data, *end = p + len;
    const unsigned char *gap_at = gap ? p + gap->at : NULL;
    if (len < 1) {
        snprintf(err, errlen, "log entry is empty");
        return -1;
    }
    if (tc_logentry_too_new(p, len, err, errlen)) return -1;
    size_t header;
    if (p[0] == 1) header = TC_LOGENTRY_HEADER_V1;
    else if (p[0] == 2 || p[0] == 3) header = TC_LOGENTRY_HEADER;
    else {
        snprintf(err, errlen, "log entry version %u is not valid (the entry is damaged)", p[0]);
        return -1;
    }
    if (len < header + TC_LOGENTRY_COUNT_LEN) {
        snprintf(err, errlen, "log entry of %zu bytes is shorter than its header", len);
        return -1;
    }
    if (p[1] != TC_LOGENTRY_COMMANDS && p[1] != TC_LOGENTRY_EXPIRE) {
        snprintf(err, errlen, "log entry kind %u is unknown", p[1]);
        return -1;
    }
    int version = p[0], kind = p[1];
    int64_t time_ms = (int64_t)get_u64le(p + 2);
    uint64_t seed = version == 1 ? tc_logentry_v1_seed(time_ms) : get_u64le(p + 10);
    p += header;
    uint64_t n;
    if (get_count(&p, end, &n) != 0 || n > TC_LOGENTRY_MAX_COMMANDS) {
        snprintf(err, errlen, "log entry has a malformed command count");
        return -1;
    }
    const unsigned char *body = p;
    for (uint64_t c = 0; c < n; c++) {
        uint64_t argc, db;
        if (version == TC_LOGENTRY_VERSION_DB && (get_varint(&p, end, &db) != 0 || db >= TC_MAX_DATABASES)) {
            snprintf(err, errlen, "log entry command %llu has a malformed database", (unsigned long long)c);
            return -1;
        }
        if (get_varint(&p, end, &argc) != 0 || argc == 0 || argc > TC_LOGENTRY_MAX_ARGS) {
            snprintf(err, errlen, "log entry command %llu has a malformed argument count", (unsigned long long)c);
            return -1;
        }
        for (uint64_t a = 0; a < argc; a++) {
            uint64_t l;
            int bad = get_varint(&p, end, &l) != 0;
            if (!bad && p == gap_at) {
                /* the argument whose bytes lie elsewhere */
                if (l != gap->len) {
                    snprintf(err, errlen, "log entry's gap holds %zu bytes for an argument of %llu", gap->len,
                             (unsigned long long)l);
                    return -1;
                }
                gap_at = NULL;
                continue;
            }
            if (bad || l > TC_LOGENTRY_MAX_ARG_LEN || l > (uint64_t)(end - p)) {
                snprintf(err, errlen, "log entry command %llu argument %llu runs past the entry",
                         (unsigned long long)c, (unsigned long long)a);
                return -1;
            }
            p += l;
        }
    }
    /* The Raft log keeps payloads in 8-byte units: up to 7 zero bytes of
     * padding may follow; anything else is damage. */
    size_t tail = (size_t)(end - p);
    int padding_ok = tail < 8;
    for (size_t i = 0; padding_ok && i < tail; i++) padding_ok = p[i] == 0;
    if (!padding_ok) {
        snprintf(err, errlen, "log entry has %zu bytes after its last command", tail);
        return -1;
    }
    if (gap_at) {
        snprintf(err, errlen, "log entry's gap at %zu is at no argument", gap->at);
        return -1;
    }
    r->gap_at = gap ? (const unsigned char *)data + gap->at : NULL;
    r->gap_p = gap ? gap->p : NULL;
    r->gap_len = gap ? gap->len : 0;
    r->p = body;
    r->end = end;
    r->version = version;
    r->kind = kind;
    r->time_ms = time_ms;
    r->seed = seed;
    r->ncommands = (uint32_t)n;
    r->next = 0;
    r->db = 0;
    return 0;
}

long tc_logentry_next(tc_logentry_reader *r, tc_slice **argv, size_t *cap)
{
    if (r->next >= r->ncommands) return 0;
    /* tc_logentry_open validated every varint, so the failure branches
     * cannot run; they stop the reader rather than read garbage */
    uint64_t argc, db = 0;
    if (r->version == TC_LOGENTRY_VERSION_DB && get_varint(&r->p, r->end, &db) != 0) goto malformed;
    r->db = (int)db;
    if (get_varint(&r->p, r->end, &argc) != 0) goto malformed;
    if (argc > *cap) {
        size_t ncap = argc < 16 ? 16 : (size_t)argc;
        tc_slice *v = realloc(*argv, ncap * sizeof *v);
        if (!v) return -1;
        *argv = v;
        *cap = ncap;
    }
    for (uint64_t a = 0; a < argc; a++) {
        uint64_t l;
        if (get_varint(&r->p, r->end, &l) != 0) goto malformed;
        if (r->p == r->gap_at) {
            (*argv)[a].p = r->gap_p;
            (*argv)[a].len = r->gap_len;
            r->gap_at = NULL;
            continue;
        }
        if (l > (uint64_t)(r->end - r->p)) goto malformed;
        (*argv)[a].p = (const char *)r->p;
        (*argv)[a].len = (size_t)l;
        r->p += l;
    }
    r->next++;
    return (long)argc;
malformed:
    r->next = r->ncommands;
    return -1;
}

int tc_logentry_big_set(const void *head, size_t head_len, size_t total, size_t min_len, size_t *value_at,
                        size_t *value_len, const char **key, size_t *key_len)
{
    const unsigned char *base = head, *p = base, *end = base + head_len;
    if (head_len < TC_LOGENTRY_HEADER + TC_LOGENTRY_COUNT_LEN || head_len > total) return 0;
    if ((p[0] != TC_LOGENTRY_VERSION && p[0] != TC_LOGENTRY_VERSION_DB) || p[1] != TC_LOGENTRY_COMMANDS) return 0;
    int version = p[0];
    p += TC_LOGENTRY_HEADER;
    uint64_t n, db, argc, l;
    if (get_count(&p, end, &n) != 0 || n != 1) return 0;
    if (version == TC_LOGENTRY_VERSION_DB && (get_varint(&p, end, &db) != 0 || db >= TC_MAX_DATABASES)) return 0;
    if (get_varint(&p, end, &argc) != 0 || argc < 3 || argc > TC_LOGENTRY_MAX_ARGS) return 0;
    /* SET, in any case */
    if (get_varint(&p, end, &l) != 0 || l != 3 || end - p < 3) return 0;
    if ((p[0] | 0x20) != 's' || (p[1] | 0x20) != 'e' || (p[2] | 0x20) != 't') return 0;
    p += 3;
    if (get_varint(&p, end, &l) != 0 || l > (uint64_t)(end - p)) return 0;
    *key = (const char *)p;
    *key_len = (size_t)l;
    p += l;
    if (get_varint(&p, end, &l) != 0 || l < min_len || l > TC_LOGENTRY_MAX_ARG_LEN) return 0;
    size_t at = (size_t)(p - base);
    if (l > total - at) return 0;
    *value_at = at;
    *value_len = (size_t)l;
    return 1;
}
