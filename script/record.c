/* Replication by effects: a script on the primary of a replicated cluster
 * runs once against the primary's keyspace while its writes are recorded;
 * then the keyspace is put back exactly as it was (the undo journal) and
 * the recorded writes are logged as one TCEXEC, which every node, the
 * primary included, applies in one go.
 *
 * One recording may hold several scripts run back to back (the router's
 * group, one log entry): each script's writes are taken as a TCEXEC of
 * their own (tc_script_record_take), while the journal stays open, so a
 * key is copied aside once per group and the keyspace is put back once,
 * at tc_script_record_end.
 *
 * For each recorded write to do at apply what it did here, it runs here
 * as TCEXEC will run it there: with the entry's clock (the caller passes
 * it as the script's now_ms) and, the j-th command of the TCEXEC, with the
 * generator seeded tc_mix64(seed_base + j) (node/multi.c's tc_cmd_tcexec).
 * Before a write first touches a key, the key (even one whose deadline
 * passed: a replicated node keeps those until the expiry entry) is copied
 * aside, or noted absent. Only commands whose keys are all among their
 * arguments, in the script's database, can be journaled that way; the
 * others are refused (tc_script_record_refusal). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script_internal.h"
#include "types/types.h"
#include "types/zset.h"

/* A member of a big sorted set as it was before a ZADD of the recording
 * changed it (journal_zadd): copying the whole set before the first write
 * costs its size, and BullMQ's completed set grows with the queue. */
typedef struct zmember_undo {
    int db;          /* -1: void (the key was copied whole since) */
    char *key, *member;
    size_t klen, mlen;
    int had;
    double score;
} zmember_undo;

struct tc_script_recording {
    tc_server *srv;
    /* the script being recorded: */
    uint64_t seed_base;
    uint32_t next;          /* commands in its TCEXEC so far */
    int db;                 /* the database the logged commands are in at this point */
    tc_slice *items;        /* "tcexec", n, then (argc, args...) per command; each p owned */
    size_t nitems, cap;
    tc_keyspace *saved;     /* per database: copies of the keys as they were (NULL until needed) */
    tc_keyspace *seen;      /* per database: every journaled key's name (an empty value) */
    unsigned char *used;    /* per database: saved and seen were made */
    char *body;             /* a script body new to the cache, to log as SCRIPT LOAD */
    size_t body_len;
    tc_slice body_args[3];
    /* the whole recording: */
    zmember_undo *zundo;    /* in the order the ZADDs ran; undone backwards */
    size_t nzundo, capzundo;
    int saved_notify;       /* the notification classes, off while recording */
    int ended;              /* the keyspace was put back */
};

/* What one script recorded, dropped when the next one starts. */
static void clear_script(tc_script_recording *rec)
{
    for (size_t i = 0; i < rec->nitems; i++) free((void *)rec->items[i].p);
    rec->nitems = 0;
    rec->next = 0;
    free(rec->body);
    rec->body = NULL;
    rec->body_len = 0;
}

void tc_script_record_script(tc_script_recording *rec, int db, uint64_t seed_base)
{
    clear_script(rec);
    rec->seed_base = seed_base;
    rec->db = db;
}

tc_script_recording *tc_script_record_begin(tc_server *s, int db, uint64_t seed_base)
{
    tc_script_engine *e = tc_script_engine_of(s);
    tc_script_recording *rec = e ? calloc(1, sizeof *rec) : NULL;
    if (!rec) return NULL;
    rec->srv = s;
    rec->seed_base = seed_base;
    rec->db = db;
    rec->saved = calloc((size_t)s->ndbs, sizeof *rec->saved);
    rec->seen = calloc((size_t)s->ndbs, sizeof *rec->seen);
    rec->used = calloc((size_t)s->ndbs, 1);
    if (!rec->saved || !rec->seen || !rec->used) {
        free(rec->saved);
        free(rec->seen);
        free(rec->used);
        free(rec);
        return NULL;
    }
    /* Keyspace notifications fire where a change is applied: here the
     * changes are undone and applied again, so they stay quiet. */
    rec->saved_notify = s->cfg.notify_classes;
    s->cfg.notify_classes = 0;
    e->rec = rec;
    return rec;
}

static int push_item(tc_script_recording *rec, const char *p, size_t len)
{
    if (rec->nitems == rec->cap) {
        size_t cap = rec->cap ? rec->cap * 2 : 32;
        tc_slice *v = realloc(rec->items, cap * sizeof *v);
        if (!v) return -1;
        rec->items = v;
        rec->cap = cap;
    }
    char *copy = malloc(len ? len : 1);
    if (!copy) return -1;
    memcpy(copy, p, len);
    rec->items[rec->nitems++] = (tc_slice){copy, len};
    return 0;
}

static int push_command(tc_script_recording *rec, size_t argc, const tc_slice *argv)
{
    char num[24];
    if (rec->nitems == 0 && (push_item(rec, "tcexec", 6) != 0 || push_item(rec, "0", 1) != 0)) return -1;
    if (push_item(rec, num, (size_t)snprintf(num, sizeof num, "%zu", argc)) != 0) return -1;
    for (size_t i = 0; i < argc; i++)
        if (push_item(rec, argv[i].p, argv[i].len) != 0) return -1;
    rec->next++;
    return 0;
}

/* The key positions of a write (Redis's key spec; LMPOP and ZMPOP name
 * theirs after numkeys). 0, or -1 when its keys cannot be told. */
static int key_range(const tc_cmd *cmd, size_t argc, const tc_slice *argv, size_t *first, size_t *last, size_t *step)
{
    if (strcmp(cmd->name, "lmpop") == 0 || strcmp(cmd->name, "zmpop") == 0) {
        long long n;
        if (tc_parse_ll(argv[1].p, argv[1].len, &n) != 0 || n <= 0 || (size_t)n > argc - 2) {
            *first = 1; /* the command refuses it itself: journal nothing */
            *last = 0;
            *step = 1;
            return 0;
        }
        *first = 2;
        *last = 1 + (size_t)n;
        *step = 1;
        return 0;
    }
    if (cmd->first_key <= 0) return -1;
    *first = (size_t)cmd->first_key;
    *last = cmd->last_key < 0 ? (size_t)((long)argc + cmd->last_key) : (size_t)cmd->last_key;
    *step = cmd->key_step > 0 ? (size_t)cmd->key_step : 1;
    return 0;
}

const char *tc_script_record_refusal(const tc_cmd *cmd, size_t argc, const tc_slice *argv)
{
    size_t first, last, step;
    if (key_range(cmd, argc, argv, &first, &last, &step) != 0 || strcmp(cmd->name, "move") == 0)
        return "ERR this command cannot run inside a script on a replicated node (its effects are replicated "
               "by key, and it changes keys it does not name or another database)";
    if (strcmp(cmd->name, "copy") == 0)
        for (size_t i = 3; i < argc; i++)
            if (tc_arg_is(&argv[i], "db"))
                return "ERR COPY ... DB cannot run inside a script on a replicated node (its effects are "
                       "replicated by key, in the script's database)";
    return NULL;
}

static void use_db(tc_script_recording *rec, int db)
{
    if (rec->used[db]) return;
    rec->used[db] = 1;
    tc_ks_init_like(&rec->seen[db], &rec->srv->dbs[db]);
    tc_ks_init_like(&rec->saved[db], &rec->srv->dbs[db]);
}

/* In rec->seen a key's value says how it is journaled: "" copied whole
 * into rec->saved, "z" member by member in rec->zundo. */
static int journaled_by_member(tc_key *seen_key) { return tc_key_str_len(seen_key) == 1; }

/* Puts back, newest first, the members rec->zundo noted for key in db,
 * in the sorted set k (the live one at the end, or a copy); with void
 * set, the notes are dropped afterwards. */
static void zundo_apply(tc_script_recording *rec, int db, const char *key, size_t klen, tc_key *k, tc_keyspace *ks,
                        int void_them)
{
    for (size_t i = rec->nzundo; i-- > 0;) {
        zmember_undo *u = &rec->zundo[i];
        if (u->db != db || u->klen != klen || memcmp(u->key, key, klen) != 0) continue;
        if (k && k->type == TC_TYPE_ZSET) {
            int out;
            double now;
            if (u->had) tc_zset_add(k, &ks->enc, u->score, u->member, u->mlen, 0, &out, &now);
            else tc_zset_delete(k, u->member, u->mlen);
        }
        if (void_them) u->db = -1;
    }
}

static int journal_key(tc_script_recording *rec, int db, const tc_slice *key)
{
    tc_server *s = rec->srv;
    tc_keyspace *seen = &rec->seen[db];
    use_db(rec, db);
    tc_key *sk = tc_ks_peek(seen, key->p, key->len, 0);
    if (sk && !journaled_by_member(sk)) return 0; /* copied already */
    /* 0 as now: a key past its deadline is there too, and comes back */
    tc_key *k = tc_ks_peek(&s->dbs[db], key->p, key->len, 0);
    tc_key *copy = k ? tc_key_copy(&rec->saved[db], k, key->p, key->len, k->expire_at) : NULL;
    if (k && !copy) return -1;
    /* journaled by member until now: the copy holds their ZADDs, which
     * come out of it so that it is the set as it was */
    if (sk) zundo_apply(rec, db, key->p, key->len, copy, &rec->saved[db], 1);
    if (!tc_ks_set(seen, key->p, key->len, "", 0, 0)) return -1;
    return 0;
}

/* ZADD to a sorted set too big for the packed encoding (so that putting
 * members back leaves it in the encoding it had): the members it names
 * are noted as they are, instead of a copy of the whole set. 1 done, 0
 * not such a case (journal the key whole), -1 out of memory. */
static int journal_zadd(tc_script_recording *rec, int db, size_t argc, const tc_slice *argv)
{
    tc_server *s = rec->srv;
    use_db(rec, db);
    tc_key *sk = tc_ks_peek(&rec->seen[db], argv[1].p, argv[1].len, 0);
    if (sk && !journaled_by_member(sk)) return 1; /* copied already */
    tc_key *k = tc_ks_peek(&s->dbs[db], argv[1].p, argv[1].len, 0);
    if (!sk && (!k || k->type != TC_TYPE_ZSET || k->encoding == TC_ENC_ZSET_LISTPACK)) return 0;
    if (!k || k->type != TC_TYPE_ZSET) return 0; /* cannot happen: only ZADD wrote it */
    static const char *const flags[] = {"nx", "xx", "gt", "lt", "ch", "incr"};
    size_t i = 2;
    for (int more = 1; more && i < argc;) {
        more = 0;
        for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++)
            if (tc_arg_is(&argv[i], flags[f])) {
                i++;
                more = 1;
                break;
            }
    }
    for (i++; i < argc; i += 2) { /* each member (a malformed ZADD changes nothing) */
        if (rec->nzundo == rec->capzundo) {
            size_t cap = rec->capzundo ? rec->capzundo * 2 : 16;
            zmember_undo *v = realloc(rec->zundo, cap * sizeof *v);
            if (!v) return -1;
            rec->zundo = v;
            rec->capzundo = cap;
        }
        zmember_undo *u = &rec->zundo[rec->nzundo];
        u->key = malloc(argv[1].len ? argv[1].len : 1);
        u->member = malloc(argv[i].len ? argv[i].len : 1);
        if (!u->key || !u->member) {
            free(u->key);
            free(u->member);
            return -1;
        }
        memcpy(u->key, argv[1].p, argv[1].len);
        memcpy(u->member, argv[i].p, argv[i].len);
        u->klen = argv[1].len;
        u->mlen = argv[i].len;
        u->db = db;
        u->had = tc_zset_score(k, argv[i].p, argv[i].len, &u->score);
        rec->nzundo++;
    }
    if (!sk && !tc_ks_set(&rec->seen[db], argv[1].p, argv[1].len, "z", 1, 0)) return -1;
    return 1;
}

int tc_script_record_write(tc_script_recording *rec, int db, const tc_cmd *cmd, size_t argc, const tc_slice *argv)
{
    size_t first, last, step;
    if (key_range(cmd, argc, argv, &first, &last, &step) != 0) return -1;
    int by_member = argc >= 2 && strcmp(cmd->name, "zadd") == 0 ? journal_zadd(rec, db, argc, argv) : 0;
    if (by_member < 0) return -1;
    for (size_t i = first; !by_member && i <= last && i < argc; i += step)
        if (journal_key(rec, db, &argv[i]) != 0) return -1;
    /* a command in another database than the last one: a SELECT first,
     * as TCEXEC runs the commands after it there */
    if (db != rec->db) {
        char num[16];
        tc_slice sel[2] = {{"select", 6}, {num, (size_t)snprintf(num, sizeof num, "%d", db)}};
        if (push_command(rec, 2, sel) != 0) return -1;
        rec->db = db;
    }
    if (push_command(rec, argc, argv) != 0) return -1;
    /* the generator this command will have at apply */
    tc_rng_seed(&rec->srv->rng, tc_mix64(rec->seed_base + (rec->next - 1)));
    return 0;
}

int tc_script_record_command(tc_server *s, int db, const tc_cmd *cmd, size_t argc, const tc_slice *argv)
{
    tc_script_engine *e = s->scripts;
    if (!e || !e->rec) return 0;
    return tc_script_record_write(e->rec, db, cmd, argc, argv) == 0 ? 1 : -1;
}

void tc_script_record_new_body(tc_script_recording *rec, const char *body, size_t len)
{
    if (rec->body) return;
    rec->body = malloc(len ? len : 1);
    if (!rec->body) return; /* then replicas learn it from a later EVAL or SCRIPT LOAD */
    memcpy(rec->body, body, len);
    rec->body_len = len;
}

typedef struct undo_pass {
    tc_script_recording *rec;
    int db;
} undo_pass;

static void undo_key(void *ud, tc_key *seen_key)
{
    undo_pass *u = ud;
    tc_server *s = u->rec->srv;
    const char *name = tc_key_name(seen_key);
    size_t len = tc_key_name_len(seen_key);
    if (journaled_by_member(seen_key)) return; /* rec->zundo's, afterwards */
    tc_key *old = tc_ks_peek(&u->rec->saved[u->db], name, len, 0);
    if (old) tc_key_copy(&s->dbs[u->db], old, name, len, old->expire_at);
    else tc_ks_delete(&s->dbs[u->db], name, len);
}

void tc_script_record_take(tc_script_recording *rec, size_t *argc, const tc_slice **argv, const tc_slice **new_body)
{
    *argc = 0;
    *argv = NULL;
    if (rec->next) {
        char num[24];
        free((void *)rec->items[1].p);
        int n = snprintf(num, sizeof num, "%u", rec->next);
        char *copy = malloc((size_t)n);
        if (copy) {
            memcpy(copy, num, (size_t)n);
            rec->items[1] = (tc_slice){copy, (size_t)n};
            *argc = rec->nitems;
            *argv = rec->items;
        } else {
            rec->items[1] = (tc_slice){NULL, 0};
        }
    }
    *new_body = NULL;
    if (rec->body) {
        rec->body_args[0] = (tc_slice){"script", 6};
        rec->body_args[1] = (tc_slice){"load", 4};
        rec->body_args[2] = (tc_slice){rec->body, rec->body_len};
        *new_body = rec->body_args;
    }
}

void tc_script_record_end(tc_script_recording *rec)
{
    if (rec->ended) return;
    rec->ended = 1;
    tc_server *s = rec->srv;
    tc_script_engine *e = s->scripts;
    if (e) e->rec = NULL;
    for (int db = 0; db < s->ndbs; db++) {
        if (!rec->used[db]) continue;
        undo_pass u = {rec, db};
        uint64_t cursor = 0;
        do cursor = tc_ks_scan(&rec->seen[db], cursor, undo_key, &u);
        while (cursor != 0);
    }
    for (size_t i = rec->nzundo; i-- > 0;) {
        zmember_undo *z = &rec->zundo[i];
        if (z->db < 0) continue;
        tc_key *k = tc_ks_peek(&s->dbs[z->db], z->key, z->klen, 0);
        int out;
        double now;
        if (!k || k->type != TC_TYPE_ZSET) continue; /* cannot happen: only ZADD wrote it */
        if (z->had) tc_zset_add(k, &s->dbs[z->db].enc, z->score, z->member, z->mlen, 0, &out, &now);
        else tc_zset_delete(k, z->member, z->mlen);
    }
    s->cfg.notify_classes = rec->saved_notify;
}

void tc_script_record_free(tc_script_recording *rec)
{
    if (!rec) return;
    tc_script_record_end(rec);
    clear_script(rec);
    free(rec->items);
    for (size_t i = 0; i < rec->nzundo; i++) {
        free(rec->zundo[i].key);
        free(rec->zundo[i].member);
    }
    free(rec->zundo);
    for (int db = 0; db < rec->srv->ndbs; db++) {
        if (!rec->used[db]) continue;
        tc_ks_free(&rec->seen[db]);
        tc_ks_free(&rec->saved[db]);
    }
    free(rec->seen);
    free(rec->saved);
    free(rec->used);
    free(rec);
}
