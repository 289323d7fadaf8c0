/* cmsgpack: MessagePack for Lua 5.1 scripts, with the API and the encoding
 * choices Redis scripts see (see lua_libs.h for the functions).
 *
 * Encoding a Lua value:
 *   nil -> nil; booleans -> true/false;
 *   a number that is a whole number in [-2^63, 2^63) -> the smallest integer
 *     form (positive ones as unsigned: fixint, uint 8/16/32/64; negative ones
 *     as signed: negative fixint, int 8/16/32/64); any other number -> float 32
 *     when converting it to float and back gives the same number, else float 64;
 *   strings -> fixstr, str 8, str 16 or str 32 by length;
 *   a table whose keys are exactly 1..n -> an array (an empty table is an
 *     empty array), any other table -> a map; a table nested deeper than 16
 *     levels is encoded as nil, as Redis does, so a cycle cannot recurse forever;
 *   functions, userdata and threads -> nil (they have no MessagePack form).
 * Decoding: every MessagePack type except the ext types; str and bin both
 * become Lua strings; 64-bit integers become the nearest double. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "lua_libs.h"

/* Redis nests packed tables at most this deep; deeper ones become nil. */
#define PACK_MAX_NESTING 16
/* Decoding recurses once per level: a hostile message must not exhaust the
 * C stack. Anything cmsgpack itself packs is at most 16 deep. */
#define UNPACK_MAX_NESTING 512

#define BUFFER_METATABLE "tricache.cmsgpack.buffer"

/* The message being packed. It lives in a userdata with a __gc so that a
 * Lua error in the middle of packing (out of memory) does not leak it. */
typedef struct pack_buffer {
    unsigned char *bytes;
    size_t len;
    size_t cap;
} pack_buffer;

static void buffer_release(lua_State *L, pack_buffer *buf)
{
    if (buf->bytes != NULL) {
        void *alloc_ud;
        lua_Alloc alloc = lua_getallocf(L, &alloc_ud);
        alloc(alloc_ud, buf->bytes, buf->cap, 0);
        buf->bytes = NULL;
        buf->len = buf->cap = 0;
    }
}

static int buffer_gc(lua_State *L)
{
    buffer_release(L, (pack_buffer *)luaL_checkudata(L, 1, BUFFER_METATABLE));
    return 0;
}

static void buffer_reserve(lua_State *L, pack_buffer *buf, size_t more)
{
    if (buf->cap - buf->len >= more)
        return;
    if (more > SIZE_MAX / 4 - buf->len)
        luaL_error(L, "cmsgpack.pack: the message would be too large");
    size_t want = buf->cap != 0 ? buf->cap : 64;
    while (want - buf->len < more)
        want *= 2;
    void *alloc_ud;
    lua_Alloc alloc = lua_getallocf(L, &alloc_ud);
    unsigned char *grown = alloc(alloc_ud, buf->bytes, buf->cap, want);
    if (grown == NULL)
        luaL_error(L, "cmsgpack.pack: not enough memory for a %d-byte message", (int)(want > INT32_MAX ? INT32_MAX : want));
    buf->bytes = grown;
    buf->cap = want;
}

static void put_bytes(lua_State *L, pack_buffer *buf, const void *bytes, size_t n)
{
    buffer_reserve(L, buf, n);
    memcpy(buf->bytes + buf->len, bytes, n);
    buf->len += n;
}

/* A type byte followed by `width` bytes of `value`, big-endian as
 * MessagePack wants (width 0: the type byte alone). */
static void put_header(lua_State *L, pack_buffer *buf, unsigned char type, uint64_t value, int width)
{
    unsigned char out[9];
    out[0] = type;
    for (int i = 0; i < width; i++)
        out[1 + i] = (unsigned char)(value >> (8 * (width - 1 - i)));
    put_bytes(L, buf, out, 1 + (size_t)width);
}

static void pack_integer(lua_State *L, pack_buffer *buf, int64_t v)
{
    if (v >= 0) {
        uint64_t u = (uint64_t)v;
        if (u <= 0x7f)
            put_header(L, buf, (unsigned char)u, 0, 0);
        else if (u <= 0xff)
            put_header(L, buf, 0xcc, u, 1);
        else if (u <= 0xffff)
            put_header(L, buf, 0xcd, u, 2);
        else if (u <= 0xffffffffu)
            put_header(L, buf, 0xce, u, 4);
        else
            put_header(L, buf, 0xcf, u, 8);
    } else {
        if (v >= -32)
            put_header(L, buf, (unsigned char)(0xe0 | (v + 32)), 0, 0);
        else if (v >= INT8_MIN)
            put_header(L, buf, 0xd0, (uint64_t)v, 1);
        else if (v >= INT16_MIN)
            put_header(L, buf, 0xd1, (uint64_t)v, 2);
        else if (v >= INT32_MIN)
            put_header(L, buf, 0xd2, (uint64_t)v, 4);
        else
            put_header(L, buf, 0xd3, (uint64_t)v, 8);
    }
}

static void pack_number(lua_State *L, pack_buffer *buf, lua_Number n)
{
    /* -2^63 and 2^63 are exact doubles; NaN fails both comparisons. */
    if (n >= -9223372036854775808.0 && n < 9223372036854775808.0 && n == floor(n)) {
        pack_integer(L, buf, (int64_t)n);
        return;
    }
    /* Converting a finite double beyond FLT_MAX to float is undefined in C:
     * only try float 32 for values it can hold. */
    if (isinf(n) || (!isnan(n) && fabs(n) <= FLT_MAX)) {
        float f = (float)n;
        if ((double)f == n) {
            uint32_t bits;
            memcpy(&bits, &f, sizeof bits);
            put_header(L, buf, 0xca, bits, 4);
            return;
        }
    }
    uint64_t bits;
    double d = n;
    memcpy(&bits, &d, sizeof bits);
    put_header(L, buf, 0xcb, bits, 8);
}

static void pack_string(lua_State *L, pack_buffer *buf, const char *s, size_t len)
{
    if (len < 32)
        put_header(L, buf, (unsigned char)(0xa0 | len), 0, 0);
    else if (len <= 0xff)
        put_header(L, buf, 0xd9, len, 1);
    else if (len <= 0xffff)
        put_header(L, buf, 0xda, len, 2);
    else if ((uint64_t)len <= 0xffffffffu)
        put_header(L, buf, 0xdb, len, 4);
    else
        luaL_error(L, "cmsgpack.pack: a string of %f bytes is longer than MessagePack allows (4 GB)", (lua_Number)len);
    put_bytes(L, buf, s, len);
}

/* The length n when the table's keys are exactly 1..n (0 for an empty
 * table), or -1 when it must be a map. */
static int64_t table_array_length(lua_State *L, int table)
{
    int64_t count = 0;
    lua_Number max_key = 0;
    lua_pushnil(L);
    while (lua_next(L, table) != 0) {
        lua_pop(L, 1);
        lua_Number k;
        if (lua_type(L, -1) != LUA_TNUMBER || (k = lua_tonumber(L, -1)) < 1 || k != floor(k) || k > 9007199254740992.0) {
            lua_pop(L, 1);
            return -1;
        }
        count++;
        if (k > max_key)
            max_key = k;
    }
    return (lua_Number)count == max_key ? count : -1;
}

static void pack_value(lua_State *L, pack_buffer *buf, int idx, int level);

static void pack_table(lua_State *L, pack_buffer *buf, int table, int level)
{
    /* lua_next keeps a key and a value on the stack per level. */
    luaL_checkstack(L, 3, "cmsgpack.pack: tables nested too deeply");
    int64_t array_len = table_array_length(L, table);
    if (array_len >= 0) {
        if (array_len < 16)
            put_header(L, buf, (unsigned char)(0x90 | array_len), 0, 0);
        else if (array_len <= 0xffff)
            put_header(L, buf, 0xdc, (uint64_t)array_len, 2);
        else if (array_len <= 0xffffffffLL)
            put_header(L, buf, 0xdd, (uint64_t)array_len, 4);
        else
            luaL_error(L, "cmsgpack.pack: an array of more than 2^32-1 elements cannot be encoded");
        for (int64_t i = 1; i <= array_len; i++) {
            lua_rawgeti(L, table, (int)i);
            pack_value(L, buf, lua_gettop(L), level + 1);
            lua_pop(L, 1);
        }
        return;
    }
    uint64_t pairs = 0;
    lua_pushnil(L);
    while (lua_next(L, table) != 0) {
        lua_pop(L, 1);
        pairs++;
    }
    if (pairs < 16)
        put_header(L, buf, (unsigned char)(0x80 | pairs), 0, 0);
    else if (pairs <= 0xffff)
        put_header(L, buf, 0xde, pairs, 2);
    else if (pairs <= 0xffffffffu)
        put_header(L, buf, 0xdf, pairs, 4);
    else
        luaL_error(L, "cmsgpack.pack: a map of more than 2^32-1 pairs cannot be encoded");
    lua_pushnil(L);
    while (lua_next(L, table) != 0) {
        int top = lua_gettop(L);
        /* pack_value never converts the key in place (no lua_tolstring on
         * a number), which would confuse lua_next. */
        pack_value(L, buf, top - 1, level + 1);
        pack_value(L, buf, top, level + 1);
        lua_pop(L, 1);
    }
}

static void pack_value(lua_State *L, pack_buffer *buf, int idx, int level)
{
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN:
        put_header(L, buf, lua_toboolean(L, idx) ? 0xc3 : 0xc2, 0, 0);
        break;
    case LUA_TNUMBER:
        pack_number(L, buf, lua_tonumber(L, idx));
        break;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        pack_string(L, buf, s, len);
        break;
    }
    case LUA_TTABLE:
        if (level < PACK_MAX_NESTING)
            pack_table(L, buf, idx, level);
        else
            put_header(L, buf, 0xc0, 0, 0); /* too deep: nil, as Redis does */
        break;
    default:
        put_header(L, buf, 0xc0, 0, 0);
        break;
    }
}

static int cmsgpack_pack(lua_State *L)
{
    int nargs = lua_gettop(L);
    if (nargs == 0)
        return luaL_argerror(L, 1, "cmsgpack.pack needs at least one value to pack");
    pack_buffer *buf = lua_newuserdata(L, sizeof *buf);
    buf->bytes = NULL;
    buf->len = buf->cap = 0;
    luaL_getmetatable(L, BUFFER_METATABLE);
    lua_setmetatable(L, -2);
    for (int i = 1; i <= nargs; i++)
        pack_value(L, buf, i, 0);
    lua_pushlstring(L, (const char *)buf->bytes, buf->len);
    /* Give the memory back now rather than at the next collection. */
    buffer_release(L, buf);
    return 1;
}

/* ---- decoding ---- */

typedef struct unpack_cursor {
    const unsigned char *bytes;
    size_t len;
    size_t pos;
} unpack_cursor;

/* These two texts are the ones Redis's cmsgpack raises; scripts that
 * pcall an unpack may compare them. */
static int missing_bytes(lua_State *L)
{
    return luaL_error(L, "Missing bytes in input.");
}

static int bad_format(lua_State *L)
{
    return luaL_error(L, "Bad data format in input.");
}

static const unsigned char *take(lua_State *L, unpack_cursor *c, size_t n)
{
    if (c->len - c->pos < n)
        missing_bytes(L);
    const unsigned char *at = c->bytes + c->pos;
    c->pos += n;
    return at;
}

static uint64_t take_uint(lua_State *L, unpack_cursor *c, int width)
{
    const unsigned char *at = take(L, c, (size_t)width);
    uint64_t v = 0;
    for (int i = 0; i < width; i++)
        v = (v << 8) | at[i];
    return v;
}

/* Signed big-endian integer of 1, 2, 4 or 8 bytes. */
static int64_t take_int(lua_State *L, unpack_cursor *c, int width)
{
    uint64_t u = take_uint(L, c, width);
    if (width < 8 && (u >> (8 * width - 1)) != 0)
        u |= ~UINT64_C(0) << (8 * width);
    int64_t v;
    memcpy(&v, &u, sizeof v);
    return v;
}

static void unpack_value(lua_State *L, unpack_cursor *c, int depth);

static void unpack_string(lua_State *L, unpack_cursor *c, uint64_t len)
{
    if (len > c->len - c->pos)
        missing_bytes(L);
    const unsigned char *at = take(L, c, (size_t)len);
    lua_pushlstring(L, (const char *)at, (size_t)len);
}

static void unpack_array(lua_State *L, unpack_cursor *c, uint64_t n, int depth)
{
    /* Every element takes at least one byte: a count the input cannot hold
     * is refused before a table that big is made. */
    if (n > c->len - c->pos)
        missing_bytes(L);
    /* lua_rawseti indexes with an int. */
    if (n > INT32_MAX)
        luaL_error(L, "cmsgpack: an array of %f elements is too long to unpack", (lua_Number)n);
    lua_createtable(L, (int)n, 0);
    for (uint64_t i = 1; i <= n; i++) {
        unpack_value(L, c, depth + 1);
        lua_rawseti(L, -2, (int)i);
    }
}

static void unpack_map(lua_State *L, unpack_cursor *c, uint64_t n, int depth)
{
    if (n > (c->len - c->pos) / 2)
        missing_bytes(L);
    if (n > INT32_MAX)
        luaL_error(L, "cmsgpack: a map of %f pairs is too large to unpack", (lua_Number)n);
    lua_createtable(L, 0, (int)n);
    for (uint64_t i = 0; i < n; i++) {
        unpack_value(L, c, depth + 1);
        unpack_value(L, c, depth + 1);
        /* A nil or NaN key raises Lua's own "table index is nil/NaN". */
        lua_rawset(L, -3);
    }
}

static void unpack_value(lua_State *L, unpack_cursor *c, int depth)
{
    if (depth > UNPACK_MAX_NESTING)
        luaL_error(L, "cmsgpack: input nested more than %d levels deep", UNPACK_MAX_NESTING);
    /* The value itself, and a key and a value inside it. */
    luaL_checkstack(L, 3, "cmsgpack: input nested too deeply");
    unsigned char type = *take(L, c, 1);
    if (type <= 0x7f) {
        lua_pushnumber(L, type);
        return;
    }
    if (type >= 0xe0) {
        lua_pushnumber(L, (lua_Number)((int)type - 256));
        return;
    }
    if (type >= 0x80 && type <= 0x8f) {
        unpack_map(L, c, type & 0x0f, depth);
        return;
    }
    if (type >= 0x90 && type <= 0x9f) {
        unpack_array(L, c, type & 0x0f, depth);
        return;
    }
    if (type >= 0xa0 && type <= 0xbf) {
        unpack_string(L, c, type & 0x1f);
        return;
    }
    switch (type) {
    case 0xc0:
        lua_pushnil(L);
        return;
    case 0xc2:
        lua_pushboolean(L, 0);
        return;
    case 0xc3:
        lua_pushboolean(L, 1);
        return;
    case 0xc4: /* bin 8 */
    case 0xd9: /* str 8 */
        unpack_string(L, c, take_uint(L, c, 1));
        return;
    case 0xc5:
    case 0xda:
        unpack_string(L, c, take_uint(L, c, 2));
        return;
    case 0xc6:
    case 0xdb:
        unpack_string(L, c, take_uint(L, c, 4));
        return;
    case 0xca: {
        uint32_t bits = (uint32_t)take_uint(L, c, 4);
        float f;
        memcpy(&f, &bits, sizeof f);
        lua_pushnumber(L, (lua_Number)f);
        return;
    }
    case 0xcb: {
        uint64_t bits = take_uint(L, c, 8);
        double d;
        memcpy(&d, &bits, sizeof d);
        lua_pushnumber(L, (lua_Number)d);
        return;
    }
    case 0xcc:
        lua_pushnumber(L, (lua_Number)take_uint(L, c, 1));
        return;
    case 0xcd:
        lua_pushnumber(L, (lua_Number)take_uint(L, c, 2));
        return;
    case 0xce:
        lua_pushnumber(L, (lua_Number)take_uint(L, c, 4));
        return;
    case 0xcf:
        lua_pushnumber(L, (lua_Number)take_uint(L, c, 8));
        return;
    case 0xd0:
        lua_pushnumber(L, (lua_Number)take_int(L, c, 1));
        return;
    case 0xd1:
        lua_pushnumber(L, (lua_Number)take_int(L, c, 2));
        return;
    case 0xd2:
        lua_pushnumber(L, (lua_Number)take_int(L, c, 4));
        return;
    case 0xd3:
        lua_pushnumber(L, (lua_Number)take_int(L, c, 8));
        return;
    case 0xdc:
        unpack_array(L, c, take_uint(L, c, 2), depth);
        return;
    case 0xdd:
        unpack_array(L, c, take_uint(L, c, 4), depth);
        return;
    case 0xde:
        unpack_map(L, c, take_uint(L, c, 2), depth);
        return;
    case 0xdf:
        unpack_map(L, c, take_uint(L, c, 4), depth);
        return;
    default:
        /* 0xc1 (never used) and the ext types (0xc7-0xc9, 0xd4-0xd8),
         * which have no Lua form. */
        bad_format(L);
    }
}

/* An offset argument: a whole number of bytes into the input, 0..len. */
static size_t offset_arg(lua_State *L, int arg, size_t len)
{
    lua_Number n = luaL_optnumber(L, arg, 0);
    if (!(n >= 0))
        luaL_argerror(L, arg, lua_pushfstring(L, "offset must be 0 or more, got %f", n));
    if (n > (lua_Number)len)
        luaL_argerror(L, arg, lua_pushfstring(L, "offset %f is past the end of the %d-byte input", n, (int)(len > INT32_MAX ? INT32_MAX : len)));
    return (size_t)n;
}

/* Decodes up to `limit` values (0: all) from `offset`. With `with_offset`,
 * the values are preceded by the offset of the next undecoded byte, or -1
 * when the input is used up. */
static int unpack_values(lua_State *L, size_t offset, uint64_t limit, int with_offset)
{
    unpack_cursor c;
    c.bytes = (const unsigned char *)luaL_checklstring(L, 1, &c.len);
    c.pos = offset;
    int base = lua_gettop(L);
    uint64_t count = 0;
    while (c.pos < c.len && (limit == 0 || count < limit)) {
        /* Room for the value and what unpack_value needs inside it, so
         * that a long stream fails with this message. */
        luaL_checkstack(L, 4, "too many values to return at once: use cmsgpack.unpack_one or cmsgpack.unpack_limit");
        unpack_value(L, &c, 0);
        count++;
    }
    if (!with_offset)
        return lua_gettop(L) - base;
    luaL_checkstack(L, 1, "too many values to return at once");
    lua_pushnumber(L, c.pos == c.len ? -1 : (lua_Number)c.pos);
    lua_insert(L, base + 1);
    return lua_gettop(L) - base;
}

static int cmsgpack_unpack(lua_State *L)
{
    luaL_checkstring(L, 1);
    lua_settop(L, 1);
    return unpack_values(L, 0, 0, 0);
}

static int cmsgpack_unpack_one(lua_State *L)
{
    size_t len;
    luaL_checklstring(L, 1, &len);
    size_t offset = offset_arg(L, 2, len);
    lua_settop(L, 1);
    return unpack_values(L, offset, 1, 1);
}

static int cmsgpack_unpack_limit(lua_State *L)
{
    size_t len;
    luaL_checklstring(L, 1, &len);
    lua_Number limit = luaL_checknumber(L, 2);
    if (!(limit >= 0))
        return luaL_argerror(L, 2, "limit must be 0 (no limit) or more");
    size_t offset = offset_arg(L, 3, len);
    lua_settop(L, 1);
    /* A limit beyond the input's length decodes everything anyway. */
    uint64_t capped = limit > (lua_Number)len ? (uint64_t)len + 1 : (uint64_t)limit;
    return unpack_values(L, offset, capped, 1);
}

static const luaL_Reg cmsgpack_functions[] = {
    {"pack", cmsgpack_pack},
    {"unpack", cmsgpack_unpack},
    {"unpack_one", cmsgpack_unpack_one},
    {"unpack_limit", cmsgpack_unpack_limit},
    {NULL, NULL},
};

int luaopen_cmsgpack(lua_State *L)
{
    luaL_newmetatable(L, BUFFER_METATABLE);
    lua_pushcfunction(L, buffer_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);

    luaL_register(L, "cmsgpack", cmsgpack_functions);
    lua_pushliteral(L, "cmsgpack");
    lua_setfield(L, -2, "_NAME");
    /* The API level scripts written for Redis check against. */
    lua_pushliteral(L, "lua-cmsgpack 0.4.0");
    lua_setfield(L, -2, "_VERSION");
    lua_pushliteral(L, "MessagePack for Lua scripts (tricache)");
    lua_setfield(L, -2, "_DESCRIPTION");
    return 1;
}
