/* Lists: the quicklist (list.h) and the list type's operations. */
#include "list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "lazyfree.h"

struct tc_lnode {
    tc_lnode *prev, *next;
    uint32_t bytes; /* used bytes of data */
    uint32_t count; /* entries */
    uint32_t cap;   /* allocated bytes of data */
    unsigned char data[];
};

/* ---- entries --------------------------------------------------------------
 * An entry is a header, the string's bytes (none for an integer), and its
 * back length (header + bytes) written so that it reads from its last byte
 * backwards. Headers (listpack's idea, our own layout):
 *   0xxxxxxx               integer 0..127
 *   10llllll               string of 0..63 bytes
 *   110xxxxx xxxxxxxx      integer -4096..4095 (value + 4096)
 *   1110llll llllllll      string of 64..4095 bytes
 *   F0 + u32 LE length     longer string
 *   F1/F2/F3/F4 + 2/3/4/8 bytes LE, two's complement: wider integers
 * Only a string that is exactly how Redis would print its integer
 * (string2ll) is stored as an integer, so it reads back byte for byte. */

typedef struct enc {
    unsigned char hdr[9];
    size_t hlen;
    const char *data;
    size_t dlen;
} enc;

static size_t backlen_size(size_t l)
{
    size_t n = 1;
    while (l >= 128) {
        l >>= 7;
        n++;
    }
    return n;
}

static void backlen_write(unsigned char *p, size_t l)
{
    size_t n = backlen_size(l);
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)((l >> (7 * i)) & 0x7F);
        if (i + 1 < n) b |= 0x80; /* more bytes to the left */
        p[n - 1 - i] = b;
    }
}

/* The back length that ends just before end. */
static size_t backlen_read(const unsigned char *end)
{
    const unsigned char *p = end - 1;
    size_t v = *p & 0x7F;
    unsigned shift = 7;
    while (*p & 0x80) {
        p--;
        v |= (size_t)(*p & 0x7F) << shift;
        shift += 7;
    }
    return v;
}

static void encode(enc *e, const char *p, size_t len)
{
    long long v;
    e->data = NULL;
    e->dlen = 0;
    if (len <= 20 && tc_parse_ll(p, len, &v) == 0) {
        if (v >= 0 && v <= 127) {
            e->hdr[0] = (unsigned char)v;
            e->hlen = 1;
        } else if (v >= -4096 && v <= 4095) {
            unsigned u = (unsigned)(v + 4096);
            e->hdr[0] = (unsigned char)(0xC0 | (u >> 8));
            e->hdr[1] = (unsigned char)(u & 0xFF);
            e->hlen = 2;
        } else {
            int nb = (v >= -32768 && v <= 32767) ? 2 : (v >= -8388608 && v <= 8388607) ? 3
                     : (v >= -2147483648LL && v <= 2147483647LL)                        ? 4
                                                                                         : 8;
            e->hdr[0] = nb == 2 ? 0xF1 : nb == 3 ? 0xF2 : nb == 4 ? 0xF3 : 0xF4;
            uint64_t u = (uint64_t)v;
            for (int i = 0; i < nb; i++) e->hdr[1 + i] = (unsigned char)(u >> (8 * i));
            e->hlen = 1 + (size_t)nb;
        }
        return;
    }
    e->data = p;
    e->dlen = len;
    if (len < 64) {
        e->hdr[0] = (unsigned char)(0x80 | len);
        e->hlen = 1;
    } else if (len < 4096) {
        e->hdr[0] = (unsigned char)(0xE0 | (len >> 8));
        e->hdr[1] = (unsigned char)(len & 0xFF);
        e->hlen = 2;
    } else {
        e->hdr[0] = 0xF0;
        for (int i = 0; i < 4; i++) e->hdr[1 + i] = (unsigned char)(len >> (8 * i));
        e->hlen = 5;
    }
}

static size_t enc_size(const enc *e) { return e->hlen + e->dlen + backlen_size(e->hlen + e->dlen); }

static void enc_write(unsigned char *dst, const enc *e)
{
    memcpy(dst, e->hdr, e->hlen);
    if (e->dlen) memcpy(dst + e->hlen, e->data, e->dlen);
    backlen_write(dst + e->hlen + e->dlen, e->hlen + e->dlen);
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Header + data bytes of the entry at p. */
static size_t ent_len(const unsigned char *p)
{
    unsigned b = p[0];
    if (b < 0x80) return 1;
    if (b < 0xC0) return 1 + (b & 0x3F);
    if (b < 0xE0) return 2;
    if (b < 0xF0) return 2 + (((b & 0x0F) << 8) | p[1]);
    switch (b) {
    case 0xF0: return 5 + rd32(p + 1);
    case 0xF1: return 3;
    case 0xF2: return 4;
    case 0xF3: return 5;
    default: return 9;
    }
}

static size_t ent_size(const unsigned char *p)
{
    size_t l = ent_len(p);
    return l + backlen_size(l);
}

/* Offset of the entry before the one at off (off > 0). */
static uint32_t ent_prev(const tc_lnode *n, uint32_t off)
{
    size_t l = backlen_read(n->data + off);
    return (uint32_t)(off - l - backlen_size(l));
}

static void ent_get(const unsigned char *p, tc_lval *v)
{
    unsigned b = p[0];
    long long n;
    if (b < 0x80) {
        n = b;
    } else if (b < 0xC0) {
        v->p = (const char *)p + 1;
        v->len = b & 0x3F;
        return;
    } else if (b < 0xE0) {
        n = (long long)(((b & 0x1F) << 8) | p[1]) - 4096;
    } else if (b < 0xF0) {
        v->p = (const char *)p + 2;
        v->len = ((b & 0x0F) << 8) | p[1];
        return;
    } else if (b == 0xF0) {
        v->p = (const char *)p + 5;
        v->len = rd32(p + 1);
        return;
    } else {
        int nb = b == 0xF1 ? 2 : b == 0xF2 ? 3 : b == 0xF3 ? 4 : 8;
        uint64_t u = 0;
        for (int i = 0; i < nb; i++) u |= (uint64_t)p[1 + i] << (8 * i);
        if (nb < 8 && (u >> (8 * nb - 1)) & 1) u |= ~0ull << (8 * nb); /* sign-extend */
        n = (long long)u;
    }
    v->len = (size_t)snprintf(v->num, sizeof v->num, "%lld", n);
    v->p = v->num;
}

/* ---- nodes ------------------------------------------------------------- */

static tc_lnode *node_new(tc_list *l, size_t cap)
{
    tc_lnode *n = malloc(sizeof *n + cap);
    if (!n) return NULL;
    n->prev = n->next = NULL;
    n->bytes = n->count = 0;
    n->cap = (uint32_t)cap;
    l->alloc += sizeof *n + cap;
    l->nnodes++;
    return n;
}

/* Links n after `after` (NULL: at the head). */
static void node_link(tc_list *l, tc_lnode *n, tc_lnode *after)
{
    n->prev = after;
    n->next = after ? after->next : l->head;
    if (n->next) n->next->prev = n;
    else l->tail = n;
    if (after) after->next = n;
    else l->head = n;
}

static void node_unlink_free(tc_list *l, tc_lnode *n)
{
    if (n->prev) n->prev->next = n->next;
    else l->head = n->next;
    if (n->next) n->next->prev = n->prev;
    else l->tail = n->prev;
    l->alloc -= sizeof *n + n->cap;
    l->nnodes--;
    free(n);
}

/* Reallocates n's buffer to cap bytes (>= its used bytes), fixing the
 * links and an iterator on it. The node, or NULL (n unchanged). */
static tc_lnode *node_realloc(tc_list *l, tc_lnode *n, size_t cap, tc_liter *it)
{
    size_t old = n->cap;
    tc_lnode *m = realloc(n, sizeof *m + cap);
    if (!m) return NULL;
    m->cap = (uint32_t)cap;
    l->alloc = l->alloc - old + cap;
    if (m != n) {
        if (m->prev) m->prev->next = m;
        else l->head = m;
        if (m->next) m->next->prev = m;
        else l->tail = m;
        if (it && it->node == n) it->node = m;
    }
    return m;
}

/* Writes e at off in n, making room. The node (maybe moved) or NULL. */
static tc_lnode *node_insert(tc_list *l, tc_lnode *n, uint32_t off, const enc *e)
{
    size_t sz = enc_size(e);
    if (n->bytes + sz > n->cap && !(n = node_realloc(l, n, n->bytes + sz, NULL))) return NULL;
    memmove(n->data + off + sz, n->data + off, n->bytes - off);
    enc_write(n->data + off, e);
    n->bytes += (uint32_t)sz;
    n->count++;
    l->count++;
    return n;
}

/* Removes k entries (span bytes) at off in n. */
static void node_cut(tc_list *l, tc_lnode *n, uint32_t off, uint32_t span, uint32_t k)
{
    memmove(n->data + off, n->data + off + span, n->bytes - off - span);
    n->bytes -= span;
    n->count -= k;
    l->count -= k;
}

/* Whether n takes one more entry of sz bytes (quicklist's
 * _quicklistNodeAllowInsert, with our exact sizes). */
static int fits(const tc_list *l, const tc_lnode *n, size_t sz)
{
    return n->bytes + sz <= l->max_bytes && n->count < l->max_count;
}

static int can_merge(const tc_list *l, const tc_lnode *a, const tc_lnode *b)
{
    return a->bytes + b->bytes <= l->max_bytes && (uint64_t)a->count + b->count <= l->max_count;
}

/* An over-full node (after an insert or a replace in its middle) is split
 * in two halves by count, as quicklist splits a node that outgrew its
 * size. A node of a single entry stays as it is. */
static void node_split(tc_list *l, tc_lnode *n)
{
    if ((n->bytes <= l->max_bytes && n->count <= l->max_count) || n->count < 2) return;
    uint32_t half = n->count / 2, mid = 0;
    for (uint32_t i = 0; i < half; i++) mid += (uint32_t)ent_size(n->data + mid);
    tc_lnode *m = node_new(l, n->bytes - mid);
    if (!m) return; /* stays big: still a valid list */
    memcpy(m->data, n->data + mid, n->bytes - mid);
    m->bytes = n->bytes - mid;
    m->count = n->count - half;
    n->bytes = mid;
    n->count = half;
    node_link(l, m, n);
    node_realloc(l, n, mid, NULL); /* shrinking: on failure n keeps its room */
}

/* Appends b (a's successor) to a and frees b; an iterator on either is
 * moved along. The merged node, or NULL when out of memory (unchanged). */
static tc_lnode *node_merge(tc_list *l, tc_lnode *a, tc_lnode *b, tc_liter *it)
{
    uint32_t abytes = a->bytes, acount = a->count;
    if (a->bytes + b->bytes > a->cap && !(a = node_realloc(l, a, a->bytes + b->bytes, it))) return NULL;
    memcpy(a->data + abytes, b->data, b->bytes);
    a->bytes += b->bytes;
    a->count += b->count;
    if (it && it->node == b) {
        it->node = a;
        it->off += abytes;
        it->i += acount;
    }
    node_unlink_free(l, b);
    return a;
}

/* After deletions: a node below a quarter of the size joins a neighbour
 * when both fit in one node; a node that lost most of its bytes gives
 * the room back. Returns the node that now holds n's entries. */
static tc_lnode *node_settle(tc_list *l, tc_lnode *n, tc_liter *it)
{
    tc_lnode *m;
    if (n->bytes < l->max_bytes / 4) {
        if (n->next && can_merge(l, n, n->next) && (m = node_merge(l, n, n->next, it))) return m;
        if (n->prev && can_merge(l, n->prev, n) && (m = node_merge(l, n->prev, n, it))) return m;
    }
    if (n->cap > 2 * (size_t)n->bytes + 64 && (m = node_realloc(l, n, n->bytes, it))) return m;
    return n;
}

/* ---- the list ---------------------------------------------------------- */

tc_list *tc_list_new(void)
{
    tc_list *l = calloc(1, sizeof(tc_list));
    if (l) tc_list_set_fill(l, -2);
    return l;
}

void tc_list_set_fill(tc_list *l, int fill)
{
    if (fill < 0) {
        /* -1..-5: 4, 8, 16, 32, 64 KB; quicklistSetFill clamps below -5 */
        int level = fill < -5 ? 5 : -fill;
        l->max_bytes = 4096u << (level - 1);
        l->max_count = UINT32_MAX;
    } else {
        /* N entries per node, still no more than quicklist's 8 KB safety
         * limit (SIZE_SAFETY_LIMIT); 0 behaves as 1, and Redis clamps to
         * FILL_MAX (32768) */
        l->max_bytes = TC_LIST_NODE_BYTES;
        l->max_count = fill == 0 ? 1 : fill > 32768 ? 32768 : (uint32_t)fill;
    }
}

void tc_list_free(tc_list *l)
{
    if (!l) return;
    tc_lnode *n = l->head;
    while (n) {
        tc_lnode *next = n->next;
        free(n);
        n = next;
    }
    free(l);
}

tc_list *tc_list_dup(const tc_list *src)
{
    tc_list *l = tc_list_new();
    if (!l) return NULL;
    l->max_bytes = src->max_bytes;
    l->max_count = src->max_count;
    for (const tc_lnode *n = src->head; n; n = n->next) {
        tc_lnode *m = node_new(l, n->bytes);
        if (!m) {
            tc_list_free(l);
            return NULL;
        }
        memcpy(m->data, n->data, n->bytes);
        m->bytes = n->bytes;
        m->count = n->count;
        node_link(l, m, l->tail);
    }
    l->count = src->count;
    return l;
}

int tc_list_push(tc_list *l, int where, const char *p, size_t len)
{
    enc e;
    encode(&e, p, len);
    size_t sz = enc_size(&e);
    tc_lnode *n = where == TC_LIST_HEAD ? l->head : l->tail;
    if (!n || !fits(l, n, sz)) {
        tc_lnode *fresh = node_new(l, sz);
        if (!fresh) return -1;
        node_link(l, fresh, where == TC_LIST_HEAD ? NULL : l->tail);
        n = fresh;
    }
    return node_insert(l, n, where == TC_LIST_HEAD ? 0 : n->bytes, &e) ? 0 : -1;
}

void tc_list_peek(tc_list *l, int where, tc_lval *v)
{
    tc_lnode *n = where == TC_LIST_HEAD ? l->head : l->tail;
    ent_get(n->data + (where == TC_LIST_HEAD ? 0 : ent_prev(n, n->bytes)), v);
}

void tc_list_drop(tc_list *l, int where, size_t n)
{
    if (n > l->count) n = l->count;
    tc_list_delete_range(l, where == TC_LIST_HEAD ? 0 : l->count - n, n);
}

int tc_list_seek(tc_list *l, size_t index, tc_liter *it)
{
    it->l = l;
    it->node = NULL;
    if (index >= l->count) return -1;
    tc_lnode *n;
    size_t i = index;
    if (index < l->count / 2) {
        for (n = l->head; i >= n->count; n = n->next) i -= n->count;
    } else {
        size_t back = l->count - 1 - index; /* from the tail */
        for (n = l->tail; back >= n->count; n = n->prev) back -= n->count;
        i = n->count - 1 - back;
    }
    uint32_t off, j;
    if (i < n->count / 2) {
        for (off = 0, j = 0; j < i; j++) off += (uint32_t)ent_size(n->data + off);
    } else {
        for (off = n->bytes, j = n->count; j > i; j--) off = ent_prev(n, off);
    }
    it->node = n;
    it->off = off;
    it->i = (uint32_t)i;
    return 0;
}

int tc_liter_valid(const tc_liter *it) { return it->node != NULL; }

void tc_liter_get(const tc_liter *it, tc_lval *v) { ent_get(it->node->data + it->off, v); }

int tc_liter_step(tc_liter *it, int dir)
{
    tc_lnode *n = it->node;
    if (!n) return -1;
    if (dir == TC_LIST_TAIL) {
        if (it->i + 1 < n->count) {
            it->off += (uint32_t)ent_size(n->data + it->off);
            it->i++;
            return 0;
        }
        it->node = n->next;
        it->off = 0;
        it->i = 0;
    } else {
        if (it->i > 0) {
            it->off = ent_prev(n, it->off);
            it->i--;
            return 0;
        }
        it->node = n->prev;
        if (it->node) {
            it->off = ent_prev(it->node, it->node->bytes);
            it->i = it->node->count - 1;
        }
    }
    return it->node ? 0 : -1;
}

int tc_liter_equals(const tc_liter *it, const char *p, size_t len)
{
    tc_lval v;
    tc_liter_get(it, &v);
    return v.len == len && memcmp(v.p, p, len) == 0;
}

void tc_liter_delete(tc_liter *it, int dir)
{
    tc_list *l = it->l;
    tc_lnode *n = it->node;
    node_cut(l, n, it->off, (uint32_t)ent_size(n->data + it->off), 1);
    if (n->count == 0) {
        tc_lnode *next = dir == TC_LIST_TAIL ? n->next : n->prev;
        node_unlink_free(l, n);
        it->node = next;
        if (next) {
            it->off = dir == TC_LIST_TAIL ? 0 : ent_prev(next, next->bytes);
            it->i = dir == TC_LIST_TAIL ? 0 : next->count - 1;
        }
        return;
    }
    if (dir == TC_LIST_TAIL) {
        if (it->off >= n->bytes) { /* was the node's last: the next node's first */
            it->node = n->next;
            it->off = it->i = 0;
        }
    } else if (it->i == 0) {
        it->node = n->prev;
        if (it->node) {
            it->off = ent_prev(it->node, it->node->bytes);
            it->i = it->node->count - 1;
        }
    } else {
        it->off = ent_prev(n, it->off);
        it->i--;
    }
    node_settle(l, n, it);
}

int tc_liter_replace(tc_liter *it, const char *p, size_t len)
{
    tc_list *l = it->l;
    tc_lnode *n = it->node;
    enc e;
    encode(&e, p, len);
    size_t old = ent_size(n->data + it->off), sz = enc_size(&e);
    if (sz > old && n->bytes - old + sz > n->cap && !(n = node_realloc(l, n, n->bytes - old + sz, it))) return -1;
    memmove(n->data + it->off + sz, n->data + it->off + old, n->bytes - it->off - old);
    enc_write(n->data + it->off, &e);
    n->bytes = (uint32_t)(n->bytes - old + sz);
    if (n->bytes > l->max_bytes && n->count > 1) {
        /* splitting moves entries: find the element again by index */
        size_t index = 0;
        for (tc_lnode *m = l->head; m != n; m = m->next) index += m->count;
        index += it->i;
        node_split(l, n);
        tc_list_seek(l, index, it);
    }
    return 0;
}

int tc_liter_insert(tc_liter *it, int where, const char *p, size_t len)
{
    tc_list *l = it->l;
    tc_lnode *n = it->node;
    enc e;
    encode(&e, p, len);
    size_t sz = enc_size(&e);
    uint32_t off = where == TC_LIST_HEAD ? it->off : it->off + (uint32_t)ent_size(n->data + it->off);
    it->node = NULL;
    /* At a full node's edge, the neighbour may have room (quicklist does
     * the same before splitting). */
    if (!fits(l, n, sz)) {
        if (off == n->bytes && n->next && fits(l, n->next, sz)) return node_insert(l, n->next, 0, &e) ? 0 : -1;
        if (off == 0 && n->prev && fits(l, n->prev, sz)) return node_insert(l, n->prev, n->prev->bytes, &e) ? 0 : -1;
    }
    if (!(n = node_insert(l, n, off, &e))) return -1;
    node_split(l, n);
    return 0;
}

void tc_list_delete_range(tc_list *l, size_t index, size_t count)
{
    tc_liter it;
    if (count == 0 || tc_list_seek(l, index, &it) != 0) return;
    tc_lnode *n = it.node, *before = n->prev;
    uint32_t off = it.off, i = it.i;
    while (count > 0 && n) {
        tc_lnode *next = n->next;
        if (i == 0 && count >= n->count) {
            count -= n->count;
            l->count -= n->count;
            node_unlink_free(l, n);
        } else {
            uint32_t k = (uint32_t)(count < n->count - i ? count : n->count - i), span = 0;
            for (uint32_t j = 0; j < k; j++) span += (uint32_t)ent_size(n->data + off + span);
            node_cut(l, n, off, span, k);
            count -= k;
        }
        n = next;
        off = i = 0;
    }
    /* At most two nodes lost part of their entries, now next to each
     * other right after `before` (untouched so far): let them settle. */
    tc_lnode *a = before ? before->next : l->head;
    if (a && (a = node_settle(l, a, NULL)) && a->next) node_settle(l, a->next, NULL);
}

/* ---- the type's operations ---------------------------------------------- */

static const char *encoding_name(const tc_key *k)
{
    (void)k;
    return "quicklist";
}

static size_t memory(const tc_key *k)
{
    const tc_list *l = tc_key_list(k);
    return sizeof(void *) + sizeof *l + l->alloc;
}

static void free_list(void *p) { tc_list_free(p); }

static void free_value(tc_key *k)
{
    tc_list *l = tc_key_list(k);
    /* Redis's free effort of a quicklist: its node count */
    tc_lazyfree(free_list, l, l->nnodes);
}

/* Element count, then each element as a native u32 length and its bytes:
 * what the list holds, not how its nodes are cut. */
static void digest(const tc_key *k, tc_digest_feed_fn feed, void *ud)
{
    tc_list *l = tc_key_list(k);
    uint64_t count = l->count;
    feed(ud, &count, sizeof count);
    tc_liter it;
    for (int ok = tc_list_seek(l, 0, &it) == 0; ok; ok = tc_liter_step(&it, TC_LIST_TAIL) == 0) {
        tc_lval v;
        tc_liter_get(&it, &v);
        uint32_t len = (uint32_t)v.len;
        feed(ud, &len, sizeof len);
        feed(ud, v.p, v.len);
    }
}

static void put32(tc_buf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    tc_buf_append(b, x, 4);
}

/* Layout 1 (snapshot/FORMAT.md §4): u8 1, u32 count, then per element
 * (head to tail) u32 length and its bytes. */
static int image_encode(const tc_key *k, tc_buf *scratch, const char **p, size_t *len)
{
    tc_list *l = tc_key_list(k);
    size_t start = scratch->len;
    tc_buf_append(scratch, "\x01", 1);
    put32(scratch, (uint32_t)l->count);
    tc_liter it;
    for (int ok = tc_list_seek(l, 0, &it) == 0; ok; ok = tc_liter_step(&it, TC_LIST_TAIL) == 0) {
        tc_lval v;
        tc_liter_get(&it, &v);
        put32(scratch, (uint32_t)v.len);
        tc_buf_append(scratch, v.p, v.len);
    }
    if (scratch->oom) return -1;
    *p = scratch->data + start;
    *len = scratch->len - start;
    return 0;
}

static tc_key *image_decode(tc_keyspace *ks, const char *key, size_t klen, const char *v, size_t vlen,
                            int64_t expire_at, char *err, size_t errlen)
{
    const unsigned char *p = (const unsigned char *)v, *end = p + vlen;
    if (vlen < 5 || p[0] != 1) {
        snprintf(err, errlen, "list record: %s", vlen < 1 ? "empty" : p[0] != 1 ? "unknown layout version" : "truncated");
        return NULL;
    }
    uint32_t count = rd32(p + 1);
    p += 5;
    if (count == 0) {
        snprintf(err, errlen, "list record: an empty list");
        return NULL;
    }
    tc_list *l = tc_list_new();
    if (!l) goto oom;
    tc_list_set_fill(l, ks->enc.list_max_listpack_size);
    for (uint32_t i = 0; i < count; i++) {
        if (end - p < 4 || (size_t)(end - p - 4) < rd32(p)) {
            snprintf(err, errlen, "list record: element %u runs past the record", i);
            tc_list_free(l);
            return NULL;
        }
        uint32_t len = rd32(p);
        if (tc_list_push(l, TC_LIST_TAIL, (const char *)p + 4, len) != 0) goto oom;
        p += 4 + len;
    }
    if (p != end) {
        snprintf(err, errlen, "list record: %zu bytes after the last element", (size_t)(end - p));
        tc_list_free(l);
        return NULL;
    }
    tc_key *k = tc_ks_set_pointer(ks, key, klen, TC_TYPE_LIST, TC_ENC_QUICKLIST, l, expire_at);
    if (k) return k;
oom:
    tc_list_free(l);
    snprintf(err, errlen, "out of memory");
    return NULL;
}

static tc_key *copy(tc_keyspace *ks, const tc_key *src, const char *key, size_t klen, int64_t expire_at)
{
    tc_list *l = tc_list_dup(tc_key_list(src));
    if (!l) return NULL;
    tc_key *k = tc_ks_set_pointer(ks, key, klen, TC_TYPE_LIST, TC_ENC_QUICKLIST, l, expire_at);
    if (!k) tc_list_free(l);
    return k;
}

const tc_type_ops tc_list_type = {
    .type = TC_TYPE_LIST,
    .name = "list",
    .encoding_name = encoding_name,
    .refcount = NULL,
    .memory = memory,
    .free_value = free_value,
    .digest = digest,
    .image_encode = image_encode,
    .image_decode = image_decode,
    .copy = copy,
};
