#include "keyspace_image.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acl.h"
#include "cmd_acl.h"
#include "script.h"
#include "config_redis.h"
#include "log.h"

static int write_fd(void *ud, const void *buf, size_t len)
{
    int fd = *(int *)ud;
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -(errno ? errno : EIO);
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

void tc_image_bufs_free(tc_image_bufs *b)
{
    tc_buf_free(&b->value);
    tc_buf_free(&b->framed);
}

/* One record per key: its type's number, deadline, name, and the value
 * bytes its type gives (a string's own bytes: the format of old images),
 * behind the database number outside database 0. */
int tc_image_record_encode(const tc_key *k, int db, tc_image_bufs *b, tc_snapshot_record *rec, char *err,
                           size_t errlen)
{
    const tc_type_ops *ops = tc_key_type(k);
    const char *value = NULL;
    size_t vlen = 0;
    b->value.len = 0;
    if (!ops) {
        snprintf(err, errlen, "a key holds a value of unknown type %u", k->type);
        return -1;
    }
    if (ops->image_encode(k, &b->value, &value, &vlen) != 0 || vlen > UINT32_MAX - 4) {
        snprintf(err, errlen, "cannot serialize a %s value: %s", ops->name,
                 vlen > UINT32_MAX - 4 ? "larger than 4 GiB" : "out of memory");
        return -1;
    }
    *rec = (tc_snapshot_record){.type = (uint8_t)k->type, .expire_at_ms = k->expire_at, .key = tc_key_name(k),
                                .key_len = k->klen, .value = value, .value_len = (uint32_t)vlen};
    if (db == 0) return 0;
    unsigned char n[4];
    for (int i = 0; i < 4; i++) n[i] = (unsigned char)((unsigned)db >> (8 * i));
    b->framed.len = 0;
    tc_buf_append(&b->framed, n, sizeof n);
    tc_buf_append(&b->framed, value, vlen);
    if (b->framed.oom) {
        snprintf(err, errlen, "cannot serialize a %s value: out of memory", ops->name);
        return -1;
    }
    rec->type = (uint8_t)(k->type | TC_SNAPSHOT_IN_DB);
    rec->value = b->framed.data;
    rec->value_len = (uint32_t)(vlen + 4);
    return 0;
}

_Static_assert(TC_SNAPSHOT_IN_DB == TC_RECORD_IN_DB, "the record's database flag is one bit, in both layers");

tc_key *tc_image_record_decode(tc_keyspace *dbs, int ndbs, const tc_snapshot_record *rec, int *db, char *err,
                               size_t errlen)
{
    return tc_type_record_decode(dbs, ndbs, rec->type, rec->key, rec->key_len, rec->value, rec->value_len,
                                 rec->expire_at_ms, db, err, errlen);
}

typedef struct image_writer {
    tc_snapshot_writer *w;
    tc_image_bufs bufs;
    int64_t clock_ms; /* the image's clock: keys whose deadline it passed are dead */
    int db;
    int failed;
    char err[160];
} image_writer;

static void add_key(void *ud, tc_key *k)
{
    image_writer *iw = ud;
    if (iw->failed) return;
    /* An expired key only waits for its replicated delete: no later entry
     * can see or revive it (an entry's clock is never behind the applied
     * one), and reads hide it. So it is left out. After an expiry storm most
     * of the table can be such keys, and encoding them was most of the
     * image child's work. */
    if (k->expire_at && k->expire_at <= iw->clock_ms) return;
    tc_snapshot_record rec;
    if (tc_image_record_encode(k, iw->db, &iw->bufs, &rec, iw->err, sizeof iw->err) != 0 ||
        tc_snapshot_writer_add(iw->w, &rec) != 0)
        iw->failed = 1;
}

/* A cluster-wide setting set through CONFIG SET (type 128 records). */
static void add_setting(void *ud, const char *name, const char *value)
{
    image_writer *iw = ud;
    if (iw->failed) return;
    tc_snapshot_record rec = {.type = TC_SNAPSHOT_SETTING, .key = name, .key_len = (uint32_t)strlen(name),
                              .value = value, .value_len = (uint32_t)strlen(value)};
    if (tc_snapshot_writer_add(iw->w, &rec) != 0) iw->failed = 1;
}

/* One user (type 126 records): its rules, each as u32 length and bytes. */
static void add_user(void *ud, const char *name, size_t nrules, const tc_slice *rules)
{
    image_writer *iw = ud;
    if (iw->failed) return;
    tc_buf v = {0};
    for (size_t i = 0; i < nrules; i++) {
        uint32_t len = (uint32_t)rules[i].len;
        tc_buf_append(&v, &len, 4);
        tc_buf_append(&v, rules[i].p, rules[i].len);
    }
    tc_snapshot_record rec = {.type = TC_SNAPSHOT_ACL_USER, .key = name, .key_len = (uint32_t)strlen(name),
                              .value = v.data ? v.data : "", .value_len = (uint32_t)v.len};
    if (v.oom) snprintf(iw->err, sizeof iw->err, "out of memory for the users");
    if (v.oom || tc_snapshot_writer_add(iw->w, &rec) != 0) iw->failed = 1;
    tc_buf_free(&v);
}

/* One cached script (type 125 records): key its SHA1, value its body. */
static void add_script(void *ud, const char *body, size_t len)
{
    image_writer *iw = ud;
    if (iw->failed) return;
    char sha[41];
    tc_script_sha1hex(body, len, sha);
    tc_snapshot_record rec = {.type = TC_SNAPSHOT_SCRIPT, .key = sha, .key_len = 40, .value = body,
                              .value_len = (uint32_t)len};
    if (tc_snapshot_writer_add(iw->w, &rec) != 0) iw->failed = 1;
}

/* One function library (type 124 records): key its name, value its code. */
static void add_library(void *ud, const char *name, const char *code, size_t len)
{
    image_writer *iw = ud;
    if (iw->failed) return;
    tc_snapshot_record rec = {.type = TC_SNAPSHOT_FUNCTION, .key = name, .key_len = (uint32_t)strlen(name),
                              .value = code, .value_len = (uint32_t)len};
    if (tc_snapshot_writer_add(iw->w, &rec) != 0) iw->failed = 1;
}

int tc_image_write(tc_server *s, const tc_apply_state *st, const tc_image_opts *o, tc_snapshot_write_fn fn, void *ud,
                   tc_snapshot_stats *stats, char *err, size_t errlen)
{
    tc_snapshot_writer_opts wo = {.name = "keyspace image", .cluster = s->cfg.cluster_name,
                                  .raft_index = o->raft_index, .raft_term = o->raft_term,
                                  /* 0 would mean "now": keep the clock exact, at least 1 */
                                  .created_ms = st->clock_ms > 0 ? st->clock_ms : 1,
                                  .key = o->key, .compress = 1};
    image_writer iw = {.clock_ms = st->clock_ms};
    if (tc_snapshot_writer_new(&iw.w, &wo, fn, ud, err, errlen) != 0) return -1;
    for (int db = 0; db < s->ndbs && !iw.failed; db++) {
        iw.db = db;
        tc_ks_walk(tc_server_db(s, db), add_key, &iw); /* add_key does nothing once failed */
    }
    if (!iw.failed) tc_rconf_replicated_each(s, add_setting, &iw); /* after the keys: FORMAT.md §4 */
    /* users only once changed: an untouched store is what cluster.toml makes */
    if (!iw.failed && s->acl.changed) tc_acl_each(&s->acl, s->cfg.auth_token, add_user, &iw);
    /* the script cache is cluster state: EVALSHA after a snapshot install */
    if (!iw.failed) tc_script_cache_each(s, add_script, &iw);
    /* function libraries too: FCALL after a snapshot install (an image
     * carries them only while there are some: older readers refuse 124) */
    if (!iw.failed) tc_function_each(s, add_library, &iw);
    int rc = iw.failed ? -1 : tc_snapshot_writer_finish(iw.w);
    if (rc != 0) snprintf(err, errlen, "%s", iw.err[0] ? iw.err : tc_snapshot_writer_error(iw.w));
    tc_image_bufs_free(&iw.bufs);
    if (stats) tc_snapshot_writer_stats(iw.w, stats);
    tc_snapshot_writer_free(iw.w);
    return rc == 0 ? 0 : -1;
}

int tc_image_write_fd(tc_server *s, const tc_apply_state *st, const tc_image_opts *o, int fd, char *err,
                      size_t errlen)
{
    return tc_image_write(s, st, o, write_fd, &fd, NULL, err, errlen);
}

typedef struct mem_source {
    const unsigned char *p;
    size_t left;
} mem_source;

static int read_mem(void *ud, void *buf, size_t len, size_t *got)
{
    mem_source *m = ud;
    size_t n = len < m->left ? len : m->left;
    memcpy(buf, m->p, n);
    m->p += n;
    m->left -= n;
    *got = n;
    return 0;
}

/* The image's cluster-wide settings, set as one CONFIG SET. A value this
 * node refuses (a newer node's word) is logged and the settings stay as
 * they were: every node loading the image does the same. */
static void load_settings(tc_server *s, const tc_buf *b, size_t n)
{
    if (!n) return;
    tc_slice *args = calloc(2 * n, sizeof *args);
    if (!args) {
        tc_warn("keyspace image: out of memory for its settings; they are not applied");
        return;
    }
    size_t off = 0;
    for (size_t i = 0; i < 2 * n; i++) {
        uint32_t len;
        memcpy(&len, b->data + off, 4);
        args[i] = (tc_slice){b->data + off + 4, len};
        off += 4 + len;
    }
    char err[1024];
    if (tc_config_cmd_set(s, 2 * n, args, err, sizeof err) != 0) tc_warn("keyspace image: settings not applied: %s", err);
    free(args);
}

/* The image's scripts replace the cache (none: an empty cache). A body
 * this node cannot compile (it compiled where it was cached) is logged
 * and left out. */
static void load_scripts(tc_server *s, const tc_buf *b)
{
    tc_script_cache_flush(s);
    for (size_t off = 0; off + 4 <= b->len;) {
        uint32_t len;
        memcpy(&len, b->data + off, 4);
        char err[1024];
        if (tc_script_cache_load(s, b->data + off + 4, len, err, sizeof err) != 0)
            tc_warn("keyspace image: a cached script is left out: %s", err);
        off += 4 + len;
    }
}

/* The image's function libraries replace this node's (none: no library).
 * One this node cannot load (it loaded where it was made) is logged and
 * left out. */
static void load_libraries(tc_server *s, const tc_buf *b, size_t n)
{
    tc_slice *codes = n ? calloc(n, sizeof *codes) : NULL;
    if (n && !codes) {
        tc_warn("keyspace image: out of memory for its function libraries; they are not loaded");
        return;
    }
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t len;
        memcpy(&len, b->data + off, 4);
        codes[i] = (tc_slice){b->data + off + 4, len};
        off += 4 + len;
    }
    if (tc_function_replace_all(s, n, codes) != 0)
        tc_warn("keyspace image: a function library is left out (this node could not load it)");
    free(codes);
}

/* A user record into the store being built; -1 with err on a bad one. */
static int load_user(tc_server *s, tc_acl *users, const tc_snapshot_record *rec, char *err, size_t errlen)
{
    size_t n = 0, cap = 16;
    tc_slice *rules = malloc(cap * sizeof *rules);
    const char *p = (const char *)rec->value, *end = p + rec->value_len;
    while (rules && p < end) {
        uint32_t len;
        if (end - p < 4) break;
        memcpy(&len, p, 4);
        if ((size_t)(end - p - 4) < len) break;
        if (n == cap) {
            tc_slice *v = realloc(rules, (cap *= 2) * sizeof *v);
            if (!v) break;
            rules = v;
        }
        rules[n++] = (tc_slice){p + 4, len};
        p += 4 + len;
    }
    char why[512];
    int rc = -1;
    if (!rules) snprintf(why, sizeof why, "out of memory");
    else if (p != end) snprintf(why, sizeof why, "a malformed rule list");
    else rc = tc_acl_setuser(users, (const char *)rec->key, rec->key_len, n, rules, s->cfg.auth_token, why, sizeof why);
    if (rc != 0)
        snprintf(err, errlen, "keyspace image holds a user '%.*s' this node refuses: %s",
                 (int)(rec->key_len > 64 ? 64 : rec->key_len), (const char *)rec->key, why);
    free(rules);
    return rc;
}

int tc_image_load(tc_server *s, tc_apply_state *st, const void *data, size_t len,
                  const tc_snapshot_reader_opts *ropts, char *err, size_t errlen)
{
    mem_source src = {data, len};
    tc_snapshot_reader *rd = NULL;
    if (tc_snapshot_reader_new(&rd, ropts, read_mem, &src, err, errlen) != 0) return -1;
    int64_t clock = tc_snapshot_reader_info(rd)->created_ms;
    /* Load into fresh databases: the current ones are kept until the whole
     * image has been read and its trailer verified. */
    int n = s->ndbs;
    tc_keyspace *fresh = calloc((size_t)n, sizeof *fresh);
    if (!fresh) {
        tc_snapshot_reader_free(rd);
        snprintf(err, errlen, "out of memory while loading a keyspace image");
        return -1;
    }
    for (int i = 0; i < n; i++) tc_ks_init_like(&fresh[i], &s->dbs[i]);
    tc_snapshot_record rec;
    int rc, bad_record = 0;
    tc_buf settings = {0}; /* name, value, ...: u32 length and bytes each */
    tc_buf scripts = {0};  /* script bodies: u32 length and bytes each */
    tc_buf libraries = {0}; /* function libraries' code: u32 length and bytes each */
    size_t nlibraries = 0;
    size_t nsettings = 0;
    /* the image's users, built aside and swapped in with the keys */
    tc_acl users;
    int nusers = 0;
    if (tc_acl_init(&users) != 0) {
        tc_snapshot_reader_free(rd);
        for (int i = 0; i < n; i++) tc_ks_free(&fresh[i]);
        free(fresh);
        snprintf(err, errlen, "out of memory while loading a keyspace image");
        return -1;
    }
    while ((rc = tc_snapshot_reader_next(rd, &rec)) == 1) {
        if (rec.type == TC_SNAPSHOT_ACL_USER) {
            if (load_user(s, &users, &rec, err, errlen) != 0) {
                bad_record = 1;
                rc = -1;
                break;
            }
            nusers++;
            continue;
        }
        if (rec.type == TC_SNAPSHOT_SCRIPT) {
            uint32_t vl = rec.value_len;
            tc_buf_append(&scripts, &vl, 4);
            tc_buf_append(&scripts, rec.value, vl);
            continue;
        }
        if (rec.type == TC_SNAPSHOT_FUNCTION) {
            uint32_t vl = rec.value_len;
            tc_buf_append(&libraries, &vl, 4);
            tc_buf_append(&libraries, rec.value, vl);
            nlibraries++;
            continue;
        }
        if (rec.type == TC_SNAPSHOT_SETTING) {
            uint32_t kl = rec.key_len, vl = rec.value_len;
            tc_buf_append(&settings, &kl, 4);
            tc_buf_append(&settings, rec.key, kl);
            tc_buf_append(&settings, &vl, 4);
            tc_buf_append(&settings, rec.value, vl);
            nsettings++;
            continue;
        }
        char why[200];
        int db;
        if (!tc_image_record_decode(fresh, n, &rec, &db, why, sizeof why)) {
            snprintf(err, errlen, "keyspace image holds %s", why);
            bad_record = 1;
            rc = -1;
            break;
        }
    }
    /* the reader's message when the reader failed (not a record it read well) */
    if (rc < 0 && !bad_record && tc_snapshot_reader_error(rd)[0])
        snprintf(err, errlen, "%s", tc_snapshot_reader_error(rd));
    tc_snapshot_reader_free(rd);
    if (rc != 0) {
        for (int i = 0; i < n; i++) tc_ks_free(&fresh[i]);
        free(fresh);
        tc_buf_free(&settings);
        tc_buf_free(&scripts);
        tc_buf_free(&libraries);
        tc_acl_free(&users);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        tc_ks_mem_recount(&fresh[i]); /* values were filled in place as they loaded */
        fresh[i].expired_keys = s->dbs[i].expired_keys;
        fresh[i].hits = s->dbs[i].hits;
        fresh[i].misses = s->dbs[i].misses;
        fresh[i].events = s->dbs[i].events; /* notifications go on; the load itself was silent */
        tc_ks_free(&s->dbs[i]);
    }
    free(s->dbs);
    s->dbs = fresh;
    st->clock_ms = clock;
    /* An image without users was written while they were what cluster.toml
     * makes: every node loading it goes back to that. */
    if (nusers || s->acl.changed) {
        int changed = nusers > 0;
        if (!nusers) { /* back to what cluster.toml makes (acl_file's users too) */
            tc_acl_free(&users);
            if (tc_server_acl_initial(s, &users) != 0) tc_acl_init(&users);
        }
        tc_acl_install_users(s, &users);
        s->acl.changed = changed;
    } else {
        tc_acl_free(&users);
    }
    load_settings(s, &settings, nsettings);
    tc_buf_free(&settings);
    load_scripts(s, &scripts);
    tc_buf_free(&scripts);
    load_libraries(s, &libraries, nlibraries);
    tc_buf_free(&libraries);
    return 0;
}
