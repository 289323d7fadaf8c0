/* Integer sets: see intset.h. Elements are kept little-endian-agnostic in
 * native order (an intset never leaves the process: images write numbers
 * as text). */
#include "intset.h"

#include <stdlib.h>
#include <string.h>

static unsigned width_for(int64_t v)
{
    if (v >= INT16_MIN && v <= INT16_MAX) return 2;
    if (v >= INT32_MIN && v <= INT32_MAX) return 4;
    return 8;
}

static int64_t get_w(const unsigned char *data, unsigned w, size_t i)
{
    if (w == 2) {
        int16_t v;
        memcpy(&v, data + i * 2, 2);
        return v;
    }
    if (w == 4) {
        int32_t v;
        memcpy(&v, data + i * 4, 4);
        return v;
    }
    int64_t v;
    memcpy(&v, data + i * 8, 8);
    return v;
}

static void set_w(unsigned char *data, unsigned w, size_t i, int64_t v)
{
    if (w == 2) {
        int16_t x = (int16_t)v;
        memcpy(data + i * 2, &x, 2);
    } else if (w == 4) {
        int32_t x = (int32_t)v;
        memcpy(data + i * 4, &x, 4);
    } else {
        memcpy(data + i * 8, &v, 8);
    }
}

tc_intset *tc_intset_new(void)
{
    tc_intset *is = calloc(1, sizeof *is);
    if (is) is->width = 2;
    return is;
}

int64_t tc_intset_get(const tc_intset *is, size_t i) { return get_w(is->data, is->width, i); }

int tc_intset_find(const tc_intset *is, int64_t v, size_t *pos)
{
    size_t lo = 0, hi = is->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t m = tc_intset_get(is, mid);
        if (m == v) {
            *pos = mid;
            return 1;
        }
        if (m < v) lo = mid + 1;
        else hi = mid;
    }
    *pos = lo;
    return 0;
}

tc_intset *tc_intset_add(tc_intset *is, int64_t v, int *added)
{
    size_t pos;
    *added = 0;
    if (tc_intset_find(is, v, &pos)) return is;
    unsigned w = width_for(v);
    if (w > is->width) {
        /* Widen every element, back to front so nothing is overwritten
         * before it is read. */
        tc_intset *n = realloc(is, sizeof *n + ((size_t)is->count + 1) * w);
        if (!n) return NULL;
        for (size_t i = n->count; i-- > 0;) set_w(n->data, w, i, get_w(n->data, n->width, i));
        n->width = w;
        is = n;
    } else {
        tc_intset *n = realloc(is, sizeof *n + (size_t)(is->count + 1) * is->width);
        if (!n) return NULL;
        is = n;
    }
    memmove(is->data + (pos + 1) * is->width, is->data + pos * is->width, (is->count - pos) * is->width);
    set_w(is->data, is->width, pos, v);
    is->count++;
    *added = 1;
    return is;
}

tc_intset *tc_intset_remove_at(tc_intset *is, size_t pos)
{
    memmove(is->data + pos * is->width, is->data + (pos + 1) * is->width, (is->count - pos - 1) * is->width);
    is->count--;
    tc_intset *n = realloc(is, sizeof *n + (size_t)is->count * is->width);
    return n ? n : is;
}

size_t tc_intset_memory(const tc_intset *is) { return sizeof *is + (size_t)is->count * is->width; }
