/* Linearizability of registers by the Wing & Gong search as improved by
 * Lowe ("Testing for linearizability", 2017): a depth-first search over the
 * history laid out as a doubly linked list of call and return entries.
 *
 * From the head of the list, every call entry met before the first return
 * entry is an op that may be linearized next (it was invoked before the
 * earliest pending completion: the "minimal" ops). Linearizing one removes
 * its call and return from the list; reaching a return entry means the op
 * owning it had to be linearized already, so the search backtracks.
 *
 * Memoization: a configuration is (the set of linearized ops, the register
 * state); the search never enters one it has seen, so the work is bounded by
 * the number of distinct configurations rather than of interleavings.
 *
 * Indeterminate (info) ops have no return entry: their completion is at
 * +infinity, so they never block and may be linearized at any point after
 * their call, or never. The search succeeds once no return entry is left.
 * Because an info op may always be left out, a configuration is dominated by
 * one with the same ok ops, the same state and a subset of its info ops:
 * everything the larger one can still do, the smaller one can do too. The
 * cache therefore keys entries on (ok ops, state) and refuses a configuration
 * when it holds one whose info ops are a subset, which keeps histories full
 * of timeouts from exploding. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

bool jl__register_step(const jl_op *op, uint32_t cur, uint32_t *next) {
    switch (op->f) {
    case JL_READ:
        *next = cur;
        return cur == op->a;
    case JL_WRITE:
        *next = op->a;
        return true;
    case JL_CAS:
        *next = op->b;
        return cur == op->a;
    case JL_ADD:
        break;
    }
    return false;
}

static uint64_t mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* ------------------------------------------------------------ bitsets */

/* A set of op numbers as uint64 words, kept with the bounds of its
 * interesting part: words below lo are all ones, words from hi on are all
 * zero. Ops are numbered in call order and linearized roughly in that order,
 * so [lo, hi) is a short window however long the history is, and that
 * window (with lo) is what the cache stores and compares. */
typedef struct bits {
    uint64_t *w;
    size_t nw, nbits;
    size_t lo, hi;
} bits;

static uint64_t full_word(const bits *b, size_t i) {
    if (i == b->nw - 1 && b->nbits % 64)
        return (UINT64_C(1) << (b->nbits % 64)) - 1;
    return ~UINT64_C(0);
}

static int bits_init(bits *b, size_t nbits) {
    b->nbits = nbits;
    b->nw = (nbits + 63) / 64;
    b->w = calloc(b->nw ? b->nw : 1, sizeof(uint64_t));
    b->lo = b->hi = 0;
    return b->w ? 0 : JL_ENOMEM;
}

static void bits_set(bits *b, size_t i) {
    size_t k = i / 64;
    b->w[k] |= UINT64_C(1) << (i % 64);
    if (k + 1 > b->hi)
        b->hi = k + 1;
    while (b->lo < b->nw && b->w[b->lo] == full_word(b, b->lo))
        b->lo++;
}

static void bits_clear(bits *b, size_t i) {
    size_t k = i / 64;
    b->w[k] &= ~(UINT64_C(1) << (i % 64));
    if (k < b->lo)
        b->lo = k;
    while (b->hi > 0 && b->w[b->hi - 1] == 0)
        b->hi--;
}

static size_t bits_span(const bits *b) {
    return b->hi > b->lo ? b->hi - b->lo : 0;
}

/* ------------------------------------------------------------ search */

#define NO_VALUE UINT32_MAX
#define E_LIMIT (-100) /* growing would pass the memory limit */

typedef struct frame {
    uint32_t entry; /* call entry of the op linearized */
    uint32_t old;   /* register value before it */
} frame;

typedef struct slotv {
    uint64_t hash;
    uint64_t off; /* entry in the arena */
} slotv;

typedef struct wgl {
    const jl__wgl_in *in;
    const jl_op *hops;
    /* list: entry 0 is the head, 1..ne the events, ne + 1 the end */
    uint32_t ne, end;
    uint32_t *next, *prev;
    uint32_t *ent_op;   /* entry -> local op */
    uint8_t *is_ret;
    uint32_t *ret_of;   /* local op -> its return entry, 0 if info */
    uint32_t *slot;     /* local op -> register slot */
    uint32_t *num;      /* local op -> its number among the ok ops or the info ops */
    /* register values as dense ids of (slot, value) pairs */
    uint32_t *need;     /* local op -> value it must see (ok read, ok cas), NO_VALUE if none */
    uint32_t *prod;     /* local op -> value it installs (write, cas), NO_VALUE if none */
    uint32_t *readers;  /* value -> ok ops not yet linearized that must see it */
    uint32_t *writers;  /* value -> ops not yet linearized that install it */
    bits ok, info;
    uint32_t *state;
    uint64_t hash_ok, hash_state;
    /* cache: open addressing over (hash, arena offset); an arena entry is
     * [ok lo, ok span, info lo, info span, state..., ok words..., info words...] */
    slotv *table;
    size_t mask, count;
    uint64_t *arena;
    size_t arena_len, arena_cap;
    size_t bytes;
    int nomem;
    frame *stack;
    size_t sp;
    /* the deepest point reached: prefix[0..best) equals the stack there */
    uint32_t *best_ops;
    size_t best, low;
} wgl;

static uint64_t op_key(uint32_t local) {
    return mix64((uint64_t)local * 2 + 1);
}

static uint64_t slot_key(uint32_t slot, uint32_t v) {
    return mix64(((uint64_t)slot << 32 | v) * 2);
}

static int arena_reserve(wgl *w, size_t n) {
    if (w->arena_cap - w->arena_len >= n)
        return 0;
    size_t cap = w->arena_cap ? w->arena_cap : 4096;
    while (cap - w->arena_len < n)
        cap *= 2;
    if (w->bytes + (cap - w->arena_cap) * sizeof(uint64_t) > w->in->memory_limit)
        return E_LIMIT;
    uint64_t *na = realloc(w->arena, cap * sizeof(uint64_t));
    if (na == NULL)
        return JL_ENOMEM;
    w->bytes += (cap - w->arena_cap) * sizeof(uint64_t);
    w->arena = na;
    w->arena_cap = cap;
    return 0;
}

static bool entry_matches(const wgl *w, uint64_t off) {
    const uint64_t *e = w->arena + off;
    size_t ns = w->in->n_slots;
    if (e[0] != w->ok.lo || e[1] != bits_span(&w->ok))
        return false;
    for (size_t i = 0; i < ns; i++)
        if (e[4 + i] != w->state[i])
            return false;
    const uint64_t *okw = e + 4 + ns;
    if (e[1] && memcmp(okw, w->ok.w + w->ok.lo, e[1] * sizeof(uint64_t)) != 0)
        return false;
    /* dominated if the stored info set is a subset of ours: words below its
     * lo are full, so ours must be full there too */
    if (e[2] > w->info.lo)
        return false;
    const uint64_t *infw = okw + e[1];
    for (size_t i = 0; i < e[3]; i++)
        if (infw[i] & ~w->info.w[e[2] + i])
            return false;
    return true;
}

static int table_grow(wgl *w) {
    size_t ncap = w->mask ? (w->mask + 1) * 2 : 1024;
    if (w->bytes + ncap * sizeof(slotv) > w->in->memory_limit)
        return E_LIMIT;
    slotv *nt = calloc(ncap, sizeof(*nt));
    if (nt == NULL)
        return JL_ENOMEM;
    for (size_t i = 0; w->mask && i <= w->mask; i++) {
        if (!w->table[i].hash)
            continue;
        size_t p = w->table[i].hash & (ncap - 1);
        while (nt[p].hash)
            p = (p + 1) & (ncap - 1);
        nt[p] = w->table[i];
    }
    w->bytes += (ncap - (w->mask ? w->mask + 1 : 0)) * sizeof(slotv);
    free(w->table);
    w->table = nt;
    w->mask = ncap - 1;
    return 0;
}

/* 1: the current configuration is new and now cached; 0: it (or one that
 * dominates it) was seen; JL_ENOMEM or E_LIMIT: no room for it. */
static int cache_visit(wgl *w) {
    if ((w->count + 1) * 2 > w->mask + 1) {
        int rc = table_grow(w);
        if (rc)
            return rc;
    }
    uint64_t h = mix64(w->hash_ok ^ w->hash_state);
    if (h == 0)
        h = 1;
    size_t p = h & w->mask;
    while (w->table[p].hash) {
        if (w->table[p].hash == h && entry_matches(w, w->table[p].off))
            return 0;
        p = (p + 1) & w->mask;
    }
    size_t ns = w->in->n_slots, oks = bits_span(&w->ok), infs = bits_span(&w->info);
    size_t need = 4 + ns + oks + infs;
    int rc = arena_reserve(w, need);
    if (rc)
        return rc;
    uint64_t *e = w->arena + w->arena_len;
    e[0] = w->ok.lo;
    e[1] = oks;
    e[2] = w->info.lo;
    e[3] = infs;
    for (size_t i = 0; i < ns; i++)
        e[4 + i] = w->state[i];
    if (oks)
        memcpy(e + 4 + ns, w->ok.w + w->ok.lo, oks * sizeof(uint64_t));
    if (infs)
        memcpy(e + 4 + ns + oks, w->info.w + w->info.lo, infs * sizeof(uint64_t));
    w->table[p] = (slotv){h, w->arena_len};
    w->arena_len += need;
    w->count++;
    return 1;
}

static void lift(wgl *w, uint32_t c) {
    w->next[w->prev[c]] = w->next[c];
    w->prev[w->next[c]] = w->prev[c];
    uint32_t r = w->ret_of[w->ent_op[c]];
    if (r) {
        w->next[w->prev[r]] = w->next[r];
        w->prev[w->next[r]] = w->prev[r];
    }
}

static void unlift(wgl *w, uint32_t c) {
    uint32_t r = w->ret_of[w->ent_op[c]];
    if (r) {
        w->next[w->prev[r]] = r;
        w->prev[w->next[r]] = r;
    }
    w->next[w->prev[c]] = c;
    w->prev[w->next[c]] = c;
}

/* Marks local op o as linearized (or not) and updates the hashes. */
static void toggle(wgl *w, uint32_t o, bool on) {
    bool info = w->ret_of[o] == 0;
    if (w->need[o] != NO_VALUE && !info)
        w->readers[w->need[o]] += on ? -1u : 1u;
    if (w->prod[o] != NO_VALUE)
        w->writers[w->prod[o]] += on ? -1u : 1u;
    bits *b = info ? &w->info : &w->ok;
    if (on)
        bits_set(b, w->num[o]);
    else
        bits_clear(b, w->num[o]);
    if (!info)
        w->hash_ok ^= op_key(o);
}

static void set_state(wgl *w, uint32_t s, uint32_t v) {
    w->hash_state ^= slot_key(s, w->state[s]) ^ slot_key(s, v);
    w->state[s] = v;
}

/* Does the model allow local op o when its register holds cur? */
static bool model_allows(const wgl *w, uint32_t o, uint32_t cur) {
    return w->need[o] == NO_VALUE || w->need[o] == cur;
}

/* Having passed model_allows, is op o still worth trying? It is not when it
 * overwrites a value that ops still to be linearized must see while no op
 * left can install that value again: that branch can only fail later,
 * after much work. The test depends on the configuration only, so
 * memoization stays sound. It matters most for indeterminate writes, which
 * could otherwise be slipped in early and hidden by the next write at
 * every point of the search. */
static bool worth_trying(const wgl *w, uint32_t o, uint32_t cur) {
    if (w->in->no_lookahead || w->prod[o] == NO_VALUE || w->prod[o] == cur)
        return true;
    uint32_t readers = w->readers[cur];
    if (w->need[o] == cur && w->ret_of[o] != 0)
        readers--; /* an ok cas is itself one of them */
    return readers == 0 || w->writers[cur] > 0;
}

typedef struct event {
    uint64_t pos;
    uint32_t op;
    uint8_t ret;
} event;

static int by_pos(const void *a, const void *b) {
    uint64_t x = ((const event *)a)->pos, y = ((const event *)b)->pos;
    return x < y ? -1 : x > y;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint32_t dense_id(const uint64_t *vals, size_t n, uint32_t slot, uint32_t v) {
    uint64_t k = (uint64_t)slot << 32 | v;
    const uint64_t *p = bsearch(&k, vals, n, sizeof(*vals), cmp_u64);
    return (uint32_t)(p - vals);
}

/* Numbers the (slot, value) pairs the search can meet densely, so the state
 * and the per-value counters are small arrays, and sets up the counters:
 * every op starts out not linearized. */
static int dense_values(wgl *w) {
    const jl__wgl_in *in = w->in;
    size_t n = in->n, k = 0;
    uint64_t *vals = malloc((in->n_slots + 2 * n + 1) * sizeof(uint64_t));
    w->need = malloc((n + 1) * sizeof(uint32_t));
    w->prod = malloc((n + 1) * sizeof(uint32_t));
    if (vals == NULL || w->need == NULL || w->prod == NULL) {
        free(vals);
        return JL_ENOMEM;
    }
    for (size_t s = 0; s < in->n_slots; s++)
        vals[k++] = (uint64_t)s << 32 | JL_NIL;
    for (size_t i = 0; i < n; i++) {
        const jl_op *op = &w->hops[in->ops[i]];
        uint64_t s = (uint64_t)w->slot[i] << 32;
        if (op->f != JL_WRITE)
            vals[k++] = s | op->a;
        if (op->f == JL_WRITE || op->f == JL_CAS)
            vals[k++] = s | (op->f == JL_WRITE ? op->a : op->b);
    }
    qsort(vals, k, sizeof(*vals), cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || vals[i] != vals[u - 1])
            vals[u++] = vals[i];
    w->readers = calloc(u + 1, sizeof(uint32_t));
    w->writers = calloc(u + 1, sizeof(uint32_t));
    if (w->readers == NULL || w->writers == NULL) {
        free(vals);
        return JL_ENOMEM;
    }
    for (size_t s = 0; s < in->n_slots; s++)
        w->state[s] = dense_id(vals, u, (uint32_t)s, JL_NIL);
    for (size_t i = 0; i < n; i++) {
        const jl_op *op = &w->hops[in->ops[i]];
        uint32_t s = w->slot[i];
        w->need[i] = op->f != JL_WRITE ? dense_id(vals, u, s, op->a) : NO_VALUE;
        w->prod[i] = op->f == JL_WRITE ? dense_id(vals, u, s, op->a)
                     : op->f == JL_CAS ? dense_id(vals, u, s, op->b)
                                       : NO_VALUE;
        /* an info cas may be left out: it does not have to see anything */
        if (w->need[i] != NO_VALUE && op->outcome == JL_OK)
            w->readers[w->need[i]]++;
        if (w->prod[i] != NO_VALUE)
            w->writers[w->prod[i]]++;
    }
    free(vals);
    return 0;
}

static int setup(wgl *w) {
    const jl__wgl_in *in = w->in;
    size_t n = in->n;
    size_t n_ok = 0, n_info = 0;
    w->hops = in->h->ops;
    w->ret_of = calloc(n + 1, sizeof(uint32_t));
    w->slot = calloc(n + 1, sizeof(uint32_t));
    w->num = calloc(n + 1, sizeof(uint32_t));
    w->state = calloc(in->n_slots + 1, sizeof(uint32_t));
    w->stack = calloc(n + 1, sizeof(frame));
    w->best_ops = calloc(n + 1, sizeof(uint32_t));
    event *ev = calloc(2 * n + 1, sizeof(event));
    if (!w->ret_of || !w->slot || !w->num || !w->state || !w->stack || !w->best_ops || !ev) {
        free(ev);
        return JL_ENOMEM;
    }
    uint32_t ne = 0;
    for (size_t i = 0; i < n; i++) {
        const jl_op *op = &w->hops[in->ops[i]];
        w->slot[i] = in->slot_of_key[op->key];
        ev[ne++] = (event){op->call, (uint32_t)i, 0};
        if (op->ret != JL_NO_RET) {
            ev[ne++] = (event){op->ret, (uint32_t)i, 1};
            w->num[i] = (uint32_t)n_ok++;
        } else {
            w->num[i] = (uint32_t)n_info++;
        }
    }
    qsort(ev, ne, sizeof(*ev), by_pos);
    w->ne = ne;
    w->end = ne + 1;
    w->next = calloc(ne + 2, sizeof(uint32_t));
    w->prev = calloc(ne + 2, sizeof(uint32_t));
    w->ent_op = calloc(ne + 2, sizeof(uint32_t));
    w->is_ret = calloc(ne + 2, 1);
    if (!w->next || !w->prev || !w->ent_op || !w->is_ret) {
        free(ev);
        return JL_ENOMEM;
    }
    for (uint32_t e = 0; e <= ne; e++) {
        w->next[e] = e + 1;
        w->prev[e + 1] = e;
    }
    for (uint32_t k = 0; k < ne; k++) {
        uint32_t e = k + 1;
        w->ent_op[e] = ev[k].op;
        w->is_ret[e] = ev[k].ret;
        if (ev[k].ret)
            w->ret_of[ev[k].op] = e;
    }
    free(ev);
    if (bits_init(&w->ok, n_ok) || bits_init(&w->info, n_info))
        return JL_ENOMEM;
    int rc = dense_values(w);
    if (rc)
        return rc;
    for (size_t s = 0; s < in->n_slots; s++)
        w->hash_state ^= slot_key((uint32_t)s, w->state[s]);
    w->bytes = (ne + 2) * 13 + n * 52;
    return 0;
}

/* Records the stack plus `extra` (an entry, or 0) as the deepest point
 * reached, when it is. Entries below low have not changed since the last
 * copy, so the copying costs no more than the pushes. */
static void note_best(wgl *w, uint32_t extra) {
    size_t depth = w->sp + (extra != 0);
    if (depth <= w->best)
        return;
    for (size_t i = w->low; i < w->sp; i++)
        w->best_ops[i] = w->ent_op[w->stack[i].entry];
    if (extra)
        w->best_ops[w->sp] = w->ent_op[extra];
    w->best = depth;
    w->low = w->sp;
}

static void push(wgl *w, uint32_t entry, uint32_t old) {
    w->stack[w->sp++] = (frame){entry, old};
    note_best(w, 0);
}

static jl__wgl_status search(wgl *w, uint64_t *configs) {
    const jl__wgl_in *in = w->in;
    uint32_t e = w->next[0];
    uint64_t steps = 0;
    for (;;) {
        if ((++steps & 1023) == 0) {
            if (in->deadline_ns && jl__now_ns() > in->deadline_ns)
                return JL__WGL_TIMEOUT;
        }
        if (e == w->end)
            return JL__WGL_VALID;
        uint32_t o = w->ent_op[e];
        if (!w->is_ret[e]) {
            uint32_t s = w->slot[o], cur = w->state[s];
            bool worth = false;
            if (model_allows(w, o, cur) && !(worth = worth_trying(w, o, cur)))
                note_best(w, e); /* a legal prefix, for the report */
            if (worth) {
                uint32_t nv = w->prod[o] != NO_VALUE ? w->prod[o] : cur;
                set_state(w, s, nv);
                toggle(w, o, true);
                int r = cache_visit(w);
                if (r < 0)
                    return r == JL_ENOMEM ? JL__WGL_NOMEM : JL__WGL_MEMORY;
                if (r == 1) {
                    if (++*configs == in->max_configs)
                        return JL__WGL_TIMEOUT;
                    push(w, e, cur);
                    lift(w, e);
                    e = w->next[0];
                    continue;
                }
                toggle(w, o, false);
                set_state(w, s, cur);
            }
            e = w->next[e];
            continue;
        }
        /* an op whose completion came before every remaining call was not
         * linearized: undo the last choice and try the next one */
        if (w->sp == 0)
            return JL__WGL_INVALID;
        frame f = w->stack[--w->sp];
        if (w->sp < w->low)
            w->low = w->sp;
        uint32_t fo = w->ent_op[f.entry];
        toggle(w, fo, false);
        set_state(w, w->slot[fo], f.old);
        unlift(w, f.entry);
        e = w->next[f.entry];
    }
}

static void teardown(wgl *w) {
    free(w->ret_of);
    free(w->slot);
    free(w->num);
    free(w->state);
    free(w->stack);
    free(w->best_ops);
    free(w->next);
    free(w->prev);
    free(w->ent_op);
    free(w->is_ret);
    free(w->need);
    free(w->prod);
    free(w->readers);
    free(w->writers);
    free(w->ok.w);
    free(w->info.w);
    free(w->table);
    free(w->arena);
}

void jl__wgl_check(const jl__wgl_in *in, jl__wgl_out *out) {
    wgl w = {.in = in};
    memset(out, 0, sizeof(*out));
    if (setup(&w) != 0) {
        out->status = JL__WGL_NOMEM;
        teardown(&w);
        return;
    }
    out->status = search(&w, &out->configs);
    if (out->status == JL__WGL_INVALID) {
        for (size_t i = 0; i < w.best; i++) {
            if (jl__ids_push(&out->prefix, in->ops[w.best_ops[i]])) {
                out->status = JL__WGL_NOMEM;
                break;
            }
        }
    }
    teardown(&w);
}
