/* The B+tree of a large sorted set (zset_tree.h). Leaves hold element
 * pointers and are linked both ways for iteration; inner nodes hold, per
 * child, its pointer, its element count and its smallest element (so that a
 * bound can be located without visiting the child). Every mutation walks
 * down by rank and fixes counts and minimums on the way back. */
#include "zset_tree.h"

#include <stdlib.h>

#define LEAF_CAP 64
#define INNER_CAP 64
/* A node below this many entries is merged into a neighbour that has room. */
#define MERGE_BELOW 16

typedef struct leaf {
    uint32_t n;
    struct leaf *prev, *next;
    zt_elem *e[LEAF_CAP];
} leaf;

typedef struct inner {
    uint32_t n;
    size_t cnt[INNER_CAP];
    zt_elem *min[INNER_CAP];
    void *child[INNER_CAP];
} inner;

/* Nodes allocated before an insertion starts, so that a cascade of splits
 * cannot fail halfway (zt_insert_at counts the full nodes on the path). */
typedef struct pool {
    leaf *leaf;
    inner *inner[48];
    int ninner;
} pool;

/* ---- nodes ------------------------------------------------------------------ */

static size_t node_count(const void *node, int level)
{
    if (level == 0) return ((const leaf *)node)->n;
    const inner *in = node;
    size_t c = 0;
    for (uint32_t i = 0; i < in->n; i++) c += in->cnt[i];
    return c;
}

static zt_elem *node_min(const void *node, int level)
{
    return level == 0 ? ((const leaf *)node)->e[0] : ((const inner *)node)->min[0];
}

static uint32_t node_n(const void *node) { return *(const uint32_t *)node; }

void zt_init(zt_tree *t) { memset(t, 0, sizeof *t); }

static void free_node(void *node, int level, void (*free_elem)(zt_elem *))
{
    if (level == 0) {
        leaf *l = node;
        if (free_elem)
            for (uint32_t i = 0; i < l->n; i++) free_elem(l->e[i]);
    } else {
        inner *in = node;
        for (uint32_t i = 0; i < in->n; i++) free_node(in->child[i], level - 1, free_elem);
    }
    free(node);
}

void zt_free(zt_tree *t, void (*free_elem)(zt_elem *e))
{
    if (t->root) free_node(t->root, t->height, free_elem);
    zt_init(t);
}

size_t zt_nodes_memory(const zt_tree *t) { return t->leaves * sizeof(leaf) + t->inners * sizeof(inner); }

/* ---- lookups ---------------------------------------------------------------- */

size_t zt_lower(const zt_tree *t, zt_before_fn before, void *ud)
{
    const void *node = t->root;
    size_t acc = 0;
    if (!node) return 0;
    for (int level = t->height; level > 0; level--) {
        const inner *in = node;
        /* j = how many children start before the bound (binary search). */
        uint32_t lo = 0, hi = in->n;
        while (lo < hi) {
            uint32_t mid = (lo + hi) / 2;
            if (before(in->min[mid], ud)) lo = mid + 1;
            else hi = mid;
        }
        if (lo == 0) return acc;
        for (uint32_t k = 0; k + 1 < lo; k++) acc += in->cnt[k];
        node = in->child[lo - 1];
    }
    const leaf *l = node;
    uint32_t lo = 0, hi = l->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (before(l->e[mid], ud)) lo = mid + 1;
        else hi = mid;
    }
    return acc + lo;
}

/* The leaf holding rank r and r's index in it. */
static leaf *find_rank(const zt_tree *t, size_t r, unsigned *idx)
{
    const void *node = t->root;
    for (int level = t->height; level > 0; level--) {
        const inner *in = node;
        uint32_t i = 0;
        while (i + 1 < in->n && r >= in->cnt[i]) r -= in->cnt[i++];
        node = in->child[i];
    }
    *idx = (unsigned)r;
    return (leaf *)node;
}

zt_elem *zt_at(const zt_tree *t, size_t r)
{
    unsigned idx;
    leaf *l = find_rank(t, r, &idx);
    return l->e[idx];
}

void zt_seek(const zt_tree *t, size_t r, zt_iter *it)
{
    if (r >= t->count) {
        it->leaf = NULL;
        it->idx = 0;
        return;
    }
    it->leaf = find_rank(t, r, &it->idx);
}

zt_elem *zt_next(zt_iter *it)
{
    leaf *l = it->leaf;
    if (!l) return NULL;
    zt_elem *e = l->e[it->idx++];
    if (it->idx >= l->n) {
        it->leaf = l->next;
        it->idx = 0;
    }
    return e;
}

zt_elem *zt_prev(zt_iter *it)
{
    leaf *l = it->leaf;
    if (!l) return NULL;
    zt_elem *e = l->e[it->idx];
    if (it->idx == 0) {
        it->leaf = l->prev;
        it->idx = l->prev ? l->prev->n - 1 : 0;
    } else {
        it->idx--;
    }
    return e;
}

/* ---- insertion -------------------------------------------------------------- */

/* Where a full node splits when the new entry goes at position r: appends
 * (r == cap) and prepends (r == 0) leave the old node full, so that a set
 * built in order fills its nodes completely; anything else splits in half. */
static uint32_t split_point(size_t r, uint32_t cap)
{
    if (r == cap) return cap;
    if (r == 0) return 0;
    return cap / 2;
}

static void *leaf_insert(zt_tree *t, leaf *l, size_t r, zt_elem *e, pool *pl)
{
    if (l->n < LEAF_CAP) {
        memmove(&l->e[r + 1], &l->e[r], (l->n - r) * sizeof l->e[0]);
        l->e[r] = e;
        l->n++;
        return NULL;
    }
    leaf *nl = pl->leaf;
    pl->leaf = NULL;
    t->leaves++;
    uint32_t k = split_point(r, LEAF_CAP);
    nl->n = LEAF_CAP - k;
    memcpy(nl->e, &l->e[k], nl->n * sizeof l->e[0]);
    l->n = k;
    nl->prev = l;
    nl->next = l->next;
    if (l->next) l->next->prev = nl;
    l->next = nl;
    leaf *dst = (r < k || (r == k && k < LEAF_CAP)) ? l : nl;
    size_t at = dst == l ? r : r - k;
    memmove(&dst->e[at + 1], &dst->e[at], (dst->n - at) * sizeof dst->e[0]);
    dst->e[at] = e;
    dst->n++;
    return nl;
}

/* Puts child c (count cnt) at position pos of in; splits in when full and
 * returns the new right sibling. */
static void *inner_add_child(zt_tree *t, inner *in, uint32_t pos, void *c, size_t cnt, zt_elem *mn, pool *pl)
{
    inner *dst = in, *ni = NULL;
    uint32_t at = pos;
    if (in->n == INNER_CAP) {
        ni = pl->inner[--pl->ninner];
        t->inners++;
        uint32_t k = split_point(pos, INNER_CAP);
        ni->n = INNER_CAP - k;
        memcpy(ni->cnt, &in->cnt[k], ni->n * sizeof in->cnt[0]);
        memcpy(ni->min, &in->min[k], ni->n * sizeof in->min[0]);
        memcpy(ni->child, &in->child[k], ni->n * sizeof in->child[0]);
        in->n = k;
        if (!(pos < k || (pos == k && k < INNER_CAP))) {
            dst = ni;
            at = pos - k;
        }
    }
    uint32_t move = dst->n - at;
    memmove(&dst->cnt[at + 1], &dst->cnt[at], move * sizeof dst->cnt[0]);
    memmove(&dst->min[at + 1], &dst->min[at], move * sizeof dst->min[0]);
    memmove(&dst->child[at + 1], &dst->child[at], move * sizeof dst->child[0]);
    dst->cnt[at] = cnt;
    dst->min[at] = mn;
    dst->child[at] = c;
    dst->n++;
    return ni;
}

/* Inserts into the subtree; returns a new right sibling when node split. */
static void *insert_rec(zt_tree *t, void *node, int level, size_t r, zt_elem *e, pool *pl)
{
    if (level == 0) return leaf_insert(t, node, r, e, pl);
    inner *in = node;
    uint32_t i = 0;
    while (i + 1 < in->n && r > in->cnt[i]) r -= in->cnt[i++];
    void *s = insert_rec(t, in->child[i], level - 1, r, e, pl);
    in->cnt[i]++;
    in->min[i] = node_min(in->child[i], level - 1);
    if (!s) return NULL;
    size_t sc = node_count(s, level - 1);
    in->cnt[i] -= sc;
    return inner_add_child(t, in, i + 1, s, sc, node_min(s, level - 1), pl);
}

static void pool_release(pool *pl)
{
    free(pl->leaf);
    while (pl->ninner > 0) free(pl->inner[--pl->ninner]);
}

/* Fills pl with the nodes the insertion at rank r will need: a split
 * climbs from the leaf while the nodes on the path are full. */
static int pool_fill(const zt_tree *t, size_t r, pool *pl)
{
    memset(pl, 0, sizeof *pl);
    const void *path[48];
    const void *node = t->root;
    for (int level = t->height; level > 0; level--) {
        const inner *in = node;
        path[level] = in;
        uint32_t i = 0;
        while (i + 1 < in->n && r > in->cnt[i]) r -= in->cnt[i++];
        node = in->child[i];
    }
    if (((const leaf *)node)->n < LEAF_CAP) return 0;
    if (!(pl->leaf = malloc(sizeof(leaf)))) return -1;
    int level = 1;
    for (; level <= t->height && ((const inner *)path[level])->n == INNER_CAP; level++)
        if (!(pl->inner[pl->ninner++] = malloc(sizeof(inner)))) goto oom;
    /* the whole path split: a new root */
    if (level > t->height && !(pl->inner[pl->ninner++] = malloc(sizeof(inner)))) goto oom;
    return 0;
oom:
    pl->ninner--; /* the failed slot */
    pool_release(pl);
    return -1;
}

int zt_insert_at(zt_tree *t, size_t r, zt_elem *e)
{
    if (!t->root) {
        leaf *l = calloc(1, sizeof *l);
        if (!l) return -1;
        t->leaves++;
        t->root = l;
        t->height = 0;
    }
    pool pl;
    if (pool_fill(t, r, &pl) != 0) return -1;
    void *s = insert_rec(t, t->root, t->height, r, e, &pl);
    t->count++;
    if (s) {
        inner *root = pl.inner[--pl.ninner];
        t->inners++;
        root->n = 2;
        root->child[0] = t->root;
        root->child[1] = s;
        root->cnt[1] = node_count(s, t->height);
        root->cnt[0] = t->count - root->cnt[1];
        root->min[0] = node_min(t->root, t->height);
        root->min[1] = node_min(s, t->height);
        t->root = root;
        t->height++;
    }
    pool_release(&pl);
    return 0;
}

/* ---- deletion --------------------------------------------------------------- */

static void remove_child(zt_tree *t, inner *in, uint32_t i, int child_level)
{
    void *c = in->child[i];
    if (child_level == 0) {
        leaf *l = c;
        if (l->prev) l->prev->next = l->next;
        if (l->next) l->next->prev = l->prev;
        t->leaves--;
    } else {
        t->inners--;
    }
    free(c);
    uint32_t move = in->n - i - 1;
    memmove(&in->cnt[i], &in->cnt[i + 1], move * sizeof in->cnt[0]);
    memmove(&in->min[i], &in->min[i + 1], move * sizeof in->min[0]);
    memmove(&in->child[i], &in->child[i + 1], move * sizeof in->child[0]);
    in->n--;
}

/* Moves every entry of child i+1 into child i and drops i+1. */
static void merge_children(zt_tree *t, inner *in, uint32_t i, int child_level)
{
    if (child_level == 0) {
        leaf *a = in->child[i], *b = in->child[i + 1];
        memcpy(&a->e[a->n], b->e, b->n * sizeof b->e[0]);
        a->n += b->n;
        b->n = 0;
    } else {
        inner *a = in->child[i], *b = in->child[i + 1];
        memcpy(&a->cnt[a->n], b->cnt, b->n * sizeof b->cnt[0]);
        memcpy(&a->min[a->n], b->min, b->n * sizeof b->min[0]);
        memcpy(&a->child[a->n], b->child, b->n * sizeof b->child[0]);
        a->n += b->n;
        b->n = 0;
    }
    in->cnt[i] += in->cnt[i + 1];
    remove_child(t, in, i + 1, child_level);
}

static zt_elem *delete_rec(zt_tree *t, void *node, int level, size_t r)
{
    if (level == 0) {
        leaf *l = node;
        zt_elem *e = l->e[r];
        memmove(&l->e[r], &l->e[r + 1], (l->n - r - 1) * sizeof l->e[0]);
        l->n--;
        return e;
    }
    inner *in = node;
    uint32_t i = 0;
    while (i + 1 < in->n && r >= in->cnt[i]) r -= in->cnt[i++];
    zt_elem *e = delete_rec(t, in->child[i], level - 1, r);
    in->cnt[i]--;
    uint32_t cn = node_n(in->child[i]);
    if (cn == 0) {
        remove_child(t, in, i, level - 1);
        return e;
    }
    in->min[i] = node_min(in->child[i], level - 1);
    if (cn < MERGE_BELOW && in->n > 1) {
        uint32_t cap = level == 1 ? LEAF_CAP : INNER_CAP;
        if (i + 1 < in->n && cn + node_n(in->child[i + 1]) <= cap) merge_children(t, in, i, level - 1);
        else if (i > 0 && cn + node_n(in->child[i - 1]) <= cap) merge_children(t, in, i - 1, level - 1);
    }
    return e;
}

zt_elem *zt_delete_at(zt_tree *t, size_t r)
{
    zt_elem *e = delete_rec(t, t->root, t->height, r);
    t->count--;
    while (t->height > 0 && node_n(t->root) == 1) {
        inner *old = t->root;
        t->root = old->child[0];
        t->height--;
        t->inners--;
        free(old);
    }
    if (t->height == 0 && node_n(t->root) == 0) {
        free(t->root);
        t->leaves--;
        t->root = NULL;
    }
    return e;
}
