/* Manifests: the small JSON document written last beside each backup
 * (snapshot/FORMAT.md). Writing is exact; reading is strict — exactly the
 * known fields, each once, of the right type and range — since a manifest
 * comes from storage anyone with access to the bucket may have changed. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "backup_internal.h"
#include "common.h" /* tc_json */

/* ------------------------------------------------------------- manifest: writing */

#define MANIFEST_FORMAT "tricache-backup"
#define MANIFEST_VERSION 1

int tc__bk_manifest_encode(const tc_backup_meta *m, char *out, size_t outlen, char *err,
                           size_t errlen)
{
    if (tc__bk_check_name(m->name, "manifest", err, errlen)) return TC_BACKUP_EINVAL;
    if (strnlen(m->cluster, sizeof m->cluster) == sizeof m->cluster || m->node_id < 0 ||
        m->created_ms < 0) {
        tc__bk_errf(err, errlen,
                    "backup %s: bad metadata (cluster name over %d bytes, or a negative node "
                    "id or creation time)",
                    m->name, TC_SNAPSHOT_MAX_CLUSTER);
        return TC_BACKUP_EINVAL;
    }
    char cluster[TC_SNAPSHOT_MAX_CLUSTER * 6 + 3];
    tc_json_quote(cluster, sizeof cluster, m->cluster, strlen(m->cluster));
    int n = snprintf(out, outlen,
                     "{\n"
                     "  \"format\": \"%s\",\n"
                     "  \"version\": %d,\n"
                     "  \"name\": \"%s\",\n"
                     "  \"cluster\": %s,\n"
                     "  \"node_id\": %d,\n"
                     "  \"raft_index\": %llu,\n"
                     "  \"raft_term\": %llu,\n"
                     "  \"created_ms\": %lld,\n"
                     "  \"keys\": %llu,\n"
                     "  \"size\": %llu,\n"
                     "  \"sha256\": \"%s\",\n"
                     "  \"key_id\": %lu\n"
                     "}\n",
                     MANIFEST_FORMAT, MANIFEST_VERSION, m->name, cluster, m->node_id,
                     (unsigned long long)m->raft_index, (unsigned long long)m->raft_term,
                     (long long)m->created_ms, (unsigned long long)m->keys,
                     (unsigned long long)m->size, m->sha256, (unsigned long)m->key_id);
    if (n < 0 || (size_t)n >= outlen) {
        tc__bk_errf(err, errlen, "backup %s: manifest does not fit its buffer", m->name);
        return TC_BACKUP_EINVAL;
    }
    return n;
}

/* ------------------------------------------------------------- manifest: reading */

/* A manifest is one flat JSON object of known fields, read with common/'s
 * JSON reader in its strictest form. Anything else (arrays, nested
 * objects, floats, negative numbers, unknown or repeated fields, NUL
 * characters, escaped surrogates, trailing bytes) is refused: a manifest
 * is only ever written by tc__bk_manifest_encode, so a surprise means
 * damage, not a dialect. */
#define MANIFEST_JSON (TC_JSON_UNIQUE_KEYS | TC_JSON_NO_NUL | TC_JSON_NO_SURROGATES)

typedef struct mreader {
    const char *what;
    char *err;
    size_t errlen;
} mreader;

static int mfail(const mreader *j, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int mfail(const mreader *j, size_t pos, const char *fmt, ...)
{
    char detail[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    tc__bk_errf(j->err, j->errlen,
                "%s: not a valid backup manifest: %s (at byte %zu); this backup cannot be "
                "listed or restored, use another one (or delete it)",
                j->what, detail, pos);
    return TC_BACKUP_ECORRUPT;
}

/* A string field into out (cap bytes with the NUL). */
static int mstring(const mreader *j, const tc_json *v, char *out, size_t cap, const char *field)
{
    if (v->type != TC_JSON_STRING) return mfail(j, v->pos, "field \"%s\" must be a string", field);
    if (v->len >= cap) return mfail(j, v->pos, "\"%s\" is longer than %zu bytes", field, cap - 1);
    memcpy(out, v->s, v->len + 1);
    return 0;
}

static int muint(const mreader *j, const tc_json *v, uint64_t max, uint64_t *out, const char *field)
{
    if (v->type != TC_JSON_NUMBER || v->neg)
        return mfail(j, v->pos, "field \"%s\" must be a non-negative integer", field);
    int rc = tc_json_uint(v, max, out);
    if (rc == -EINVAL) return mfail(j, v->pos, "\"%s\" must be an integer", field);
    if (rc) return mfail(j, v->pos, "\"%s\" is out of range", field);
    return 0;
}

enum {
    F_FORMAT, F_VERSION, F_NAME, F_CLUSTER, F_NODE, F_INDEX, F_TERM, F_CREATED,
    F_KEYS, F_SIZE, F_SHA, F_KEYID, F_COUNT
};
static const char *const field_names[F_COUNT] = {
    "format", "version", "name", "cluster", "node_id", "raft_index", "raft_term",
    "created_ms", "keys", "size", "sha256", "key_id",
};

static int mfield(const mreader *j, int f, const tc_json *v, tc_backup_meta *m, char *format,
                  uint64_t *version)
{
    const char *name = field_names[f];
    uint64_t x = 0;
    int rc;
    switch (f) {
    case F_FORMAT: return mstring(j, v, format, 32, name);
    case F_NAME: return mstring(j, v, m->name, sizeof m->name, name);
    case F_CLUSTER: return mstring(j, v, m->cluster, sizeof m->cluster, name);
    case F_SHA: return mstring(j, v, m->sha256, sizeof m->sha256, name);
    case F_VERSION: return muint(j, v, UINT32_MAX, version, name);
    case F_NODE: rc = muint(j, v, INT_MAX, &x, name); m->node_id = (int)x; return rc;
    case F_INDEX: return muint(j, v, UINT64_MAX, &m->raft_index, name);
    case F_TERM: return muint(j, v, UINT64_MAX, &m->raft_term, name);
    case F_CREATED: rc = muint(j, v, INT64_MAX, &x, name); m->created_ms = (int64_t)x; return rc;
    case F_KEYS: return muint(j, v, UINT64_MAX, &m->keys, name);
    case F_SIZE: return muint(j, v, UINT64_MAX, &m->size, name);
    default: rc = muint(j, v, UINT32_MAX, &x, name); m->key_id = (uint32_t)x; return rc;
    }
}

/* The fields of the object root into m; every one must be there. */
static int mobject(const mreader *j, const tc_json *root, size_t len, tc_backup_meta *m, char *format,
                   uint64_t *version)
{
    if (root->n == 0) return mfail(j, root->pos + 1, "expected a field name, found an empty object");
    unsigned seen = 0;
    for (const tc_json *v = root->first; v; v = v->next) {
        int f = 0;
        while (f < F_COUNT && strcmp(v->name, field_names[f]) != 0) f++;
        if (f == F_COUNT) return mfail(j, v->pos, "unknown field \"%s\"", v->name);
        seen |= 1u << f; /* a repeated field was refused by the reader */
        int rc = mfield(j, f, v, m, format, version);
        if (rc) return rc;
    }
    for (int f = 0; f < F_COUNT; f++)
        if (!(seen & (1u << f))) return mfail(j, len, "missing field \"%s\"", field_names[f]);
    return 0;
}

static int sha_hex_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f'))) return 0;
    return n == 64;
}

int tc__bk_manifest_decode(const char *json, size_t len, tc_backup_meta *m, const char *what,
                           char *err, size_t errlen)
{
    mreader j = {.what = what, .err = err, .errlen = errlen};
    tc_backup_meta tmp;
    memset(&tmp, 0, sizeof tmp);
    char format[32] = "";
    uint64_t version = 0;
    if (len > TC__BK_MANIFEST_MAX) return mfail(&j, 0, "larger than %d bytes", TC__BK_MANIFEST_MAX);
    /* one object and nothing else: say so before reading it as JSON */
    size_t k = 0;
    while (k < len && (json[k] == ' ' || json[k] == '\t' || json[k] == '\n' || json[k] == '\r')) k++;
    if (k == len) return mfail(&j, k, "ends early, expected '{'");
    if (json[k] != '{') return mfail(&j, k, "expected '{'");
    tc_json_reader r;
    tc_json_reader_init(&r, MANIFEST_JSON);
    const tc_json *root;
    int rc = tc_json_parse(&r, json, len, &root);
    if (rc == -ENOMEM) {
        tc__bk_errf(err, errlen, "%s: out of memory reading the manifest", what);
        rc = TC_BACKUP_ENOMEM;
    } else if (rc) {
        rc = mfail(&j, r.err_pos, "%s", r.err);
    } else {
        rc = mobject(&j, root, len, &tmp, format, &version);
    }
    tc_json_reader_free(&r);
    if (rc) return rc;
    if (strcmp(format, MANIFEST_FORMAT) != 0) return mfail(&j, len, "\"format\" is not \"%s\"", MANIFEST_FORMAT);
    if (version > MANIFEST_VERSION) {
        return mfail(&j, len, "manifest version %llu was written by a newer tricache; upgrade to read it",
                     (unsigned long long)version);
    }
    if (version != MANIFEST_VERSION) return mfail(&j, len, "unknown manifest version %llu", (unsigned long long)version);
    if (!sha_hex_ok(tmp.sha256)) return mfail(&j, len, "\"sha256\" is not 64 lower-case hex digits");
    char why[TC_BACKUP_ERRLEN];
    if (tc__bk_check_name(tmp.name, what, why, sizeof why)) return mfail(&j, len, "bad \"name\"");
    *m = tmp;
    return 0;
}
