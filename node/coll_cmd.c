/* Helpers of the hash and set commands: see coll_cmd.h. */
#include "coll_cmd.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "glob.h"
#include "types/dict.h"

uint64_t tc_read_rand(void *ud)
{
    (void)ud;
    static uint64_t state;
    static int seeded;
    if (!seeded) {
        uint64_t s[2];
        tc_dict_process_seed(s);
        state = s[0] ^ (s[1] << 1);
        seeded = 1;
    }
    /* SplitMix64 */
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void tc_write_rand_init(tc_write_rng *g, const tc_ctx *c) { g->rng = c->rng; }

uint64_t tc_write_rand(void *ud)
{
    tc_write_rng *g = ud;
    return tc_rng_next(g->rng);
}

int tc_coll_parse_count(tc_ctx *c, const tc_slice *a, long long *out)
{
    if (tc_parse_ll(a->p, a->len, out) != 0) {
        tc_reply_error(c->r, TC_ERR_NOT_INT);
        return -1;
    }
    if (*out < -LLONG_MAX) {
        tc_reply_error(c->r, "ERR value is out of range, value must between -9223372036854775807 and "
                             "9223372036854775807");
        return -1;
    }
    return 0;
}

int tc_coll_parse_cursor(tc_ctx *c, const tc_slice *a, uint64_t *out)
{
    uint64_t v = 0;
    int ok = a->len > 0 && a->len <= 20;
    for (size_t i = 0; ok && i < a->len; i++) {
        unsigned d = (unsigned)(a->p[i] - '0');
        if (d > 9 || v > (UINT64_MAX - d) / 10) ok = 0;
        else v = v * 10 + d;
    }
    if (!ok) {
        tc_reply_error(c->r, "ERR invalid cursor");
        return -1;
    }
    *out = v;
    return 0;
}

int tc_scan_list_match(const tc_scan_list *l, const char *s, size_t len)
{
    return !l->pattern || tc_glob_match(l->pattern->p, l->pattern->len, s, len, 0);
}

void tc_scan_list_add(tc_scan_list *l, const char *s, size_t len)
{
    if (l->oom) return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        tc_scan_item *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->oom = 1;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (tc_scan_item){l->bytes.len, len};
    tc_buf_append(&l->bytes, s, len);
    if (l->bytes.oom) l->oom = 1;
}

void tc_coll_scan(tc_ctx *c, void *src, uint64_t cursor, tc_coll_scan_step step)
{
    long long count = 10;
    tc_scan_list l = {0};
    /* Redis answers an absent key with the empty scan before it looks at
     * the options. */
    if (!src) {
        tc_reply_array(c->r, 2);
        tc_reply_bulk(c->r, "0", 1);
        tc_reply_array(c->r, 0);
        return;
    }
    for (size_t i = 3; i < c->argc; i += 2) {
        const tc_slice *a = &c->argv[i];
        if (i + 1 >= c->argc) {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return;
        }
        const tc_slice *v = &c->argv[i + 1];
        if (tc_arg_is(a, "count")) {
            if (tc_parse_ll(v->p, v->len, &count) != 0) {
                tc_reply_error(c->r, TC_ERR_NOT_INT);
                return;
            }
            if (count < 1) {
                tc_reply_error(c->r, TC_ERR_SYNTAX);
                return;
            }
        } else if (tc_arg_is(a, "match")) {
            l.pattern = (v->len == 1 && v->p[0] == '*') ? NULL : v;
        } else {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return;
        }
    }
    long long budget = count > LLONG_MAX / 10 ? LLONG_MAX : count * 10;
    do {
        cursor = step(src, cursor, &l);
    } while (cursor != 0 && --budget > 0 && (long long)l.n < count && !l.oom);
    if (l.oom) {
        tc_reply_error(c->r, TC_ERR_OOM);
        free(l.v);
        tc_buf_free(&l.bytes);
        return;
    }
    char cur[24];
    int n = snprintf(cur, sizeof cur, "%llu", (unsigned long long)cursor);
    tc_reply_array(c->r, 2);
    tc_reply_bulk(c->r, cur, (size_t)n);
    tc_reply_array(c->r, l.n);
    for (size_t i = 0; i < l.n; i++) tc_reply_bulk(c->r, l.v[i].len ? l.bytes.data + l.v[i].off : "", l.v[i].len);
    free(l.v);
    tc_buf_free(&l.bytes);
}
