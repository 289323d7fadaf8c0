/* struct: binary packing for Lua 5.1 scripts, with the API of Roberto
 * Ierusalimschy's struct library as Redis scripts see it.
 *
 *   struct.pack(fmt, v1, v2, ...)  -> string
 *   struct.unpack(fmt, s [, pos])  -> v1, v2, ..., next_pos (positions are 1-based)
 *   struct.size(fmt)               -> bytes that fmt always takes
 *
 * Format options (spaces are ignored):
 *   >  <      big / little endian from here on (the machine's order at the start)
 *   ![n]      align items to min(n, their size) from here on; ! alone: 8;
 *             at the start nothing is aligned
 *   x         one padding byte (zero when packing, skipped when unpacking)
 *   b B       signed / unsigned char        h H  short        l L  long
 *   T         size_t                        i[n] I[n]  an integer of n bytes
 *                                           (1..32, default sizeof(int))
 *   f d       float / double
 *   s         a string followed by a zero byte
 *   c[n]      n bytes of a string (default 1). Packing: a longer string is
 *             cut, a shorter one is an error; c0 takes the whole string.
 *             Unpacking: c0 takes as many bytes as the number unpacked just
 *             before it, and that number is replaced by the string (a
 *             length-prefixed string: "Bc0", ">Hc0", ...).
 *
 * Integers are packed from the number truncated toward zero, in two's
 * complement, keeping the low bytes (300 in a "b" is 44); a NaN, an infinity
 * or a number beyond 64 bits is an error. Integers wider than 8 bytes carry
 * the sign in their upper bytes and are read from their low 8 bytes. */
#include <ctype.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "lua_libs.h"

#define MAX_INTEGER_SIZE 32

/* "!" alone: the strictest alignment a C type on this machine needs, found
 * as the offset of a union of such types after a char. */
struct max_align_probe {
    char c;
    union {
        double d;
        void *p;
        long l;
        long long ll;
    } u;
};
#define DEFAULT_MAX_ALIGN offsetof(struct max_align_probe, u)

typedef struct format_reader {
    const char *p;
    int little_endian;
    size_t max_align;
} format_reader;

typedef struct format_item {
    char option;
    size_t size; /* bytes; for 's', 0 (it has no fixed size) */
} format_item;

static int machine_is_little_endian(void)
{
    const uint16_t probe = 1;
    unsigned char first;
    memcpy(&first, &probe, 1);
    return first == 1;
}

static void format_start(format_reader *r, const char *fmt)
{
    r->p = fmt;
    r->little_endian = machine_is_little_endian();
    r->max_align = 1;
}

/* The digits after an option, or `absent` when there are none. */
static size_t read_count(lua_State *L, format_reader *r, size_t absent)
{
    if (!isdigit((unsigned char)*r->p))
        return absent;
    size_t n = 0;
    while (isdigit((unsigned char)*r->p)) {
        size_t digit = (size_t)(*r->p - '0');
        if (n > ((size_t)INT_MAX - digit) / 10)
            luaL_error(L, "struct: a number in the format is too large (more than %d)", INT_MAX);
        n = n * 10 + digit;
        r->p++;
    }
    return n;
}

static int is_power_of_two(size_t n)
{
    return n != 0 && (n & (n - 1)) == 0;
}

/* The next item that takes bytes; the options that only change the
 * endianness or the alignment are applied on the way. 0 at the end. */
static int format_next(lua_State *L, format_reader *r, format_item *item)
{
    for (;;) {
        char opt = *r->p;
        if (opt == '\0')
            return 0;
        r->p++;
        item->option = opt;
        item->size = 0;
        switch (opt) {
        case ' ':
            continue;
        case '<':
            r->little_endian = 1;
            continue;
        case '>':
            r->little_endian = 0;
            continue;
        case '!': {
            size_t align = read_count(L, r, DEFAULT_MAX_ALIGN);
            if (!is_power_of_two(align))
                luaL_error(L, "struct: alignment %d in the format is not a power of 2", (int)align);
            r->max_align = align;
            continue;
        }
        case 'x':
        case 'b':
        case 'B':
            item->size = 1;
            return 1;
        case 'h':
        case 'H':
            item->size = sizeof(short);
            return 1;
        case 'l':
        case 'L':
            item->size = sizeof(long);
            return 1;
        case 'T':
            item->size = sizeof(size_t);
            return 1;
        case 'f':
            item->size = sizeof(float);
            return 1;
        case 'd':
            item->size = sizeof(double);
            return 1;
        case 'i':
        case 'I':
            item->size = read_count(L, r, sizeof(int));
            if (item->size > MAX_INTEGER_SIZE)
                luaL_error(L, "struct: integer size %d in the format is larger than the limit of %d", (int)item->size, MAX_INTEGER_SIZE);
            return 1;
        case 'c':
            item->size = read_count(L, r, 1);
            return 1;
        case 's':
            item->size = 0;
            return 1;
        default:
            return luaL_argerror(L, 1, lua_pushfstring(L, "invalid format option '%c'", opt));
        }
    }
}

/* Padding before an item that starts at `offset`. Only numbers are
 * aligned, to the smaller of their size and the current "!" alignment. */
static size_t padding_before(lua_State *L, const format_reader *r, const format_item *item, size_t offset)
{
    if (item->option == 'c' || item->option == 's' || item->option == 'x' || item->size <= 1 || r->max_align <= 1)
        return 0;
    size_t align = item->size < r->max_align ? item->size : r->max_align;
    if (!is_power_of_two(align))
        luaL_error(L, "struct: cannot align option '%c' of %d bytes: alignment %d is not a power of 2", item->option, (int)item->size, (int)align);
    return (align - (offset & (align - 1))) & (align - 1);
}

/* Bytes of `bytes` (the machine's order) in the format's order. */
static void order_bytes(const format_reader *r, unsigned char *bytes, size_t n)
{
    if (r->little_endian == machine_is_little_endian())
        return;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned char t = bytes[i];
        bytes[i] = bytes[n - 1 - i];
        bytes[n - 1 - i] = t;
    }
}

static void pack_integer(lua_State *L, luaL_Buffer *out, const format_reader *r, int arg, size_t size)
{
    lua_Number n = luaL_checknumber(L, arg);
    /* -2^63 and 2^64 are exact doubles; NaN fails both comparisons. */
    if (!(n >= -9223372036854775808.0 && n < 18446744073709551616.0))
        luaL_argerror(L, arg, lua_pushfstring(L, "%f does not fit in a 64-bit integer", n));
    uint64_t bits = n < 0 ? (uint64_t)(int64_t)n : (uint64_t)n;
    unsigned char fill = n <= -1 ? 0xff : 0x00;
    unsigned char bytes[MAX_INTEGER_SIZE];
    for (size_t i = 0; i < size; i++) {
        size_t significance = r->little_endian ? i : size - 1 - i;
        bytes[i] = significance < 8 ? (unsigned char)(bits >> (8 * significance)) : fill;
    }
    luaL_addlstring(out, (const char *)bytes, size);
}

static int struct_pack(lua_State *L)
{
    const char *fmt = luaL_checkstring(L, 1);
    format_reader r;
    format_item item;
    luaL_Buffer out;
    size_t total = 0;
    int arg = 2;
    format_start(&r, fmt);
    luaL_buffinit(L, &out);
    while (format_next(L, &r, &item)) {
        size_t pad = padding_before(L, &r, &item, total);
        for (size_t i = 0; i < pad; i++)
            luaL_addchar(&out, '\0');
        total += pad;
        switch (item.option) {
        case 'x':
            luaL_addchar(&out, '\0');
            break;
        case 'b':
        case 'B':
        case 'h':
        case 'H':
        case 'l':
        case 'L':
        case 'T':
        case 'i':
        case 'I':
            pack_integer(L, &out, &r, arg++, item.size);
            break;
        case 'f': {
            /* IEEE 754 rounding (C's Annex F): a double beyond float's range
             * becomes an infinity, as the machine's own conversion gives. */
            float f = (float)luaL_checknumber(L, arg++);
            unsigned char bytes[sizeof f];
            memcpy(bytes, &f, sizeof f);
            order_bytes(&r, bytes, sizeof bytes);
            luaL_addlstring(&out, (const char *)bytes, sizeof bytes);
            break;
        }
        case 'd': {
            double d = (double)luaL_checknumber(L, arg++);
            unsigned char bytes[sizeof d];
            memcpy(bytes, &d, sizeof d);
            order_bytes(&r, bytes, sizeof bytes);
            luaL_addlstring(&out, (const char *)bytes, sizeof bytes);
            break;
        }
        case 'c': {
            size_t len;
            const char *s = luaL_checklstring(L, arg, &len);
            if (item.size == 0)
                item.size = len;
            else if (len < item.size)
                luaL_argerror(L, arg, lua_pushfstring(L, "string of %d bytes is too short for 'c%d'", (int)len, (int)item.size));
            luaL_addlstring(&out, s, item.size);
            arg++;
            break;
        }
        case 's': {
            size_t len;
            const char *s = luaL_checklstring(L, arg++, &len);
            luaL_addlstring(&out, s, len);
            luaL_addchar(&out, '\0');
            item.size = len + 1;
            break;
        }
        }
        total += item.size;
    }
    luaL_pushresult(&out);
    return 1;
}

static lua_Number unpack_integer(const format_reader *r, const unsigned char *at, size_t size, int is_signed)
{
    uint64_t bits = 0;
    for (size_t significance = size; significance-- > 0;) {
        if (significance >= 8)
            continue;
        size_t i = r->little_endian ? significance : size - 1 - significance;
        bits = (bits << 8) | at[i];
    }
    if (!is_signed || size == 0)
        return (lua_Number)bits;
    if (size < 8 && (bits >> (8 * size - 1)) != 0)
        bits |= ~UINT64_C(0) << (8 * size);
    int64_t value;
    memcpy(&value, &bits, sizeof value);
    return (lua_Number)value;
}

static int struct_unpack(lua_State *L)
{
    const char *fmt = luaL_checkstring(L, 1);
    size_t len;
    const unsigned char *data = (const unsigned char *)luaL_checklstring(L, 2, &len);
    lua_Number start = luaL_optnumber(L, 3, 1);
    if (!(start >= 1 && start <= (lua_Number)len + 1))
        return luaL_argerror(L, 3, lua_pushfstring(L, "position %f is outside 1..%d (the data's length + 1)", start, (int)(len >= INT_MAX ? INT_MAX : len + 1)));
    size_t pos = (size_t)start - 1;
    int results = 0;
    format_reader r;
    format_item item;
    format_start(&r, fmt);
    lua_settop(L, 2);
    while (format_next(L, &r, &item)) {
        luaL_checkstack(L, 2, "struct.unpack: too many results");
        pos += padding_before(L, &r, &item, pos);
        if (pos > len || item.size > len - pos)
            return luaL_argerror(L, 2, "data string too short");
        const unsigned char *at = data + pos;
        switch (item.option) {
        case 'x':
            break;
        case 'b':
        case 'h':
        case 'l':
        case 'i':
            lua_pushnumber(L, unpack_integer(&r, at, item.size, 1));
            results++;
            break;
        case 'B':
        case 'H':
        case 'L':
        case 'T':
        case 'I':
            lua_pushnumber(L, unpack_integer(&r, at, item.size, 0));
            results++;
            break;
        case 'f': {
            float f;
            unsigned char bytes[sizeof f];
            memcpy(bytes, at, sizeof bytes);
            order_bytes(&r, bytes, sizeof bytes);
            memcpy(&f, bytes, sizeof f);
            lua_pushnumber(L, (lua_Number)f);
            results++;
            break;
        }
        case 'd': {
            double d;
            unsigned char bytes[sizeof d];
            memcpy(bytes, at, sizeof bytes);
            order_bytes(&r, bytes, sizeof bytes);
            memcpy(&d, bytes, sizeof d);
            lua_pushnumber(L, (lua_Number)d);
            results++;
            break;
        }
        case 'c':
            if (item.size == 0) {
                /* c0: the length is the number unpacked just before. */
                lua_Number n;
                if (results == 0 || lua_type(L, -1) != LUA_TNUMBER)
                    return luaL_error(L, "struct: format 'c0' needs a number unpacked just before it as its length");
                n = lua_tonumber(L, -1);
                if (!(n >= 0 && n <= (lua_Number)(len - pos)))
                    return luaL_argerror(L, 2, "data string too short");
                item.size = (size_t)n;
                lua_pop(L, 1);
                results--;
            }
            lua_pushlstring(L, (const char *)at, item.size);
            results++;
            break;
        case 's': {
            const unsigned char *end = memchr(at, '\0', len - pos);
            if (end == NULL)
                return luaL_error(L, "struct: unfinished string in data (no zero byte after position %d)", (int)(pos + 1));
            item.size = (size_t)(end - at) + 1;
            lua_pushlstring(L, (const char *)at, item.size - 1);
            results++;
            break;
        }
        }
        pos += item.size;
    }
    lua_pushnumber(L, (lua_Number)pos + 1);
    return results + 1;
}

static int struct_size(lua_State *L)
{
    const char *fmt = luaL_checkstring(L, 1);
    format_reader r;
    format_item item;
    size_t total = 0;
    format_start(&r, fmt);
    while (format_next(L, &r, &item)) {
        if (item.option == 's')
            return luaL_argerror(L, 1, "option 's' has no fixed size");
        if (item.option == 'c' && item.size == 0)
            return luaL_argerror(L, 1, "option 'c0' has no fixed size");
        total += padding_before(L, &r, &item, total) + item.size;
    }
    lua_pushnumber(L, (lua_Number)total);
    return 1;
}

static const luaL_Reg struct_functions[] = {
    {"pack", struct_pack},
    {"unpack", struct_unpack},
    {"size", struct_size},
    {NULL, NULL},
};

int luaopen_struct(lua_State *L)
{
    luaL_register(L, "struct", struct_functions);
    return 1;
}
