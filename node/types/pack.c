/* Packed string lists: see pack.h. */
#include "pack.h"

#include <stdlib.h>
#include <string.h>

static size_t varint_len(size_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static size_t varint_put(unsigned char *out, size_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (unsigned char)v;
    return n;
}

static size_t varint_get(const unsigned char *in, size_t *v)
{
    size_t n = 0, r = 0;
    unsigned shift = 0;
    for (;;) {
        unsigned char b = in[n++];
        r |= (size_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) break;
        shift += 7;
    }
    *v = r;
    return n;
}

tc_pack *tc_pack_new(void) { return calloc(1, sizeof(tc_pack)); }

size_t tc_pack_get(const tc_pack *pk, size_t off, const char **p, size_t *len)
{
    size_t n = varint_get(pk->data + off, len);
    *p = (const char *)pk->data + off + n;
    return off + n + *len;
}

size_t tc_pack_skip(const tc_pack *pk, size_t off)
{
    const char *p;
    size_t len;
    return tc_pack_get(pk, off, &p, &len);
}

size_t tc_pack_offset(const tc_pack *pk, size_t index)
{
    size_t off = 0;
    while (index-- > 0) off = tc_pack_skip(pk, off);
    return off;
}

size_t tc_pack_find(const tc_pack *pk, size_t step, const char *key, size_t klen)
{
    size_t off = 0;
    while (off < pk->bytes) {
        const char *p;
        size_t len, here = off;
        off = tc_pack_get(pk, off, &p, &len);
        if (len == klen && memcmp(p, key, klen) == 0) return here;
        for (size_t i = 1; i < step && off < pk->bytes; i++) off = tc_pack_skip(pk, off);
    }
    return TC_PACK_NONE;
}

/* Makes the bytes [off, off + old) into new bytes of room (contents after
 * them kept). */
static tc_pack *splice(tc_pack *pk, size_t off, size_t old, size_t room)
{
    size_t tail = pk->bytes - off - old;
    size_t total = pk->bytes - old + room;
    if (total > UINT32_MAX) return NULL;
    if (room > old) {
        tc_pack *n = realloc(pk, sizeof *pk + total);
        if (!n) return NULL;
        pk = n;
        memmove(pk->data + off + room, pk->data + off + old, tail);
    } else {
        memmove(pk->data + off + room, pk->data + off + old, tail);
        tc_pack *n = realloc(pk, sizeof *pk + total);
        if (n) pk = n; /* shrinking in place is fine if realloc declines */
    }
    pk->bytes = (uint32_t)total;
    return pk;
}

tc_pack *tc_pack_insert(tc_pack *pk, size_t off, const char *p, size_t len)
{
    size_t room = varint_len(len) + len;
    if (room > UINT32_MAX) return NULL;
    tc_pack *n = splice(pk, off, 0, room);
    if (!n) return NULL;
    size_t h = varint_put(n->data + off, len);
    memcpy(n->data + off + h, p, len);
    n->count++;
    return n;
}

tc_pack *tc_pack_remove(tc_pack *pk, size_t off, size_t n)
{
    size_t end = off;
    for (size_t i = 0; i < n; i++) end = tc_pack_skip(pk, end);
    tc_pack *r = splice(pk, off, end - off, 0);
    r->count -= (uint32_t)n;
    return r;
}

tc_pack *tc_pack_replace(tc_pack *pk, size_t off, const char *p, size_t len)
{
    size_t old = tc_pack_skip(pk, off) - off, room = varint_len(len) + len;
    if (room > UINT32_MAX) return NULL;
    tc_pack *n = splice(pk, off, old, room);
    if (!n) return NULL;
    size_t h = varint_put(n->data + off, len);
    memcpy(n->data + off + h, p, len);
    return n;
}

size_t tc_pack_memory(const tc_pack *pk) { return sizeof *pk + pk->bytes; }
