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

static int journal_key(tc_script_recording *rec, int db, const tc_slice *key)
{
    tc_server *s = rec->srv;
    tc_keyspace *seen = &rec->seen[db];
    if (!rec->used[db]) {
        rec->used[db] = 1;
        tc_ks_init_like(seen, &s->dbs[db]);
        tc_ks_init_like(&rec->saved[db], &s->dbs[db]);
    }
    if (tc_ks_peek(seen, key->p, key->len, 0)) return 0; /* journaled already */
    /* 0 as now: a key past its deadline is there too, and comes back */
    tc_key *k = tc_ks_peek(&s->dbs[db], key->p, key->len, 0);
    if (k && !tc_key_copy(&rec->saved[db], k, key->p, key->len, k->expire_at)) return -1;
    if (!tc_ks_set(seen, key->p, key->len, "", 0, 0)) return -1;
    return 0;
}

int tc_script_record_write(tc_script_recording *rec, int db, const tc_cmd *cmd, size_t argc, const tc_slice *argv)
{
    size_t first, last, step;
    if (key_range(cmd, argc, argv, &first, &last, &step) != 0) return -1;
    for (size_t i = first; i <= last && i < argc; i += step)
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
    s->cfg.notify_classes = rec->saved_notify;
}

void tc_script_record_free(tc_script_recording *rec)
{
    if (!rec) return;
    tc_script_record_end(rec);
    clear_script(rec);
    free(rec->items);
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
