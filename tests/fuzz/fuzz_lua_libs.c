/* libFuzzer target for script/lua_cmsgpack.c and script/lua_struct.c:
 * scripts hand them strings that came from clients, so any bytes must give
 * values or a Lua error - never a crash or an out-of-bounds read.
 *
 * The first byte picks the library.
 * cmsgpack: the rest is a message. When cmsgpack.unpack accepts it, the
 *   values must pack again and that message must unpack to as many values;
 *   walking the message with unpack_one must agree with unpack.
 * struct: the next byte is the format's length, then the format, then the
 *   data for struct.unpack. The format is also packed (with numeric strings,
 *   which serve both number and string options); when both pack and size
 *   accept it, the packed string must be size bytes and unpack back to
 *   position size + 1. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "lua_libs.h"

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                \
        }                                                                           \
    } while (0)

static lua_State *shared_state(void)
{
    static lua_State *L;
    if (L == NULL) {
        L = luaL_newstate();
        CHECK(L != NULL);
        luaL_openlibs(L);
        luaopen_cmsgpack(L);
        luaopen_struct(L);
        lua_settop(L, 0);
    }
    return L;
}

/* Pushes lib.name; the caller pushes the arguments and calls call(). */
static void push_function(lua_State *L, const char *lib, const char *name)
{
    lua_getglobal(L, lib);
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
}

/* Calls the function below the top nargs values; on success returns the
 * number of results (left on the stack), on error -1 (message popped). */
static int call(lua_State *L, int nargs)
{
    int base = lua_gettop(L) - nargs - 1;
    if (lua_pcall(L, nargs, LUA_MULTRET, 0) != 0) {
        CHECK(lua_type(L, -1) == LUA_TSTRING);
        lua_pop(L, 1);
        return -1;
    }
    return lua_gettop(L) - base;
}

static void fuzz_cmsgpack(lua_State *L, const char *msg, size_t len)
{
    push_function(L, "cmsgpack", "unpack");
    lua_pushlstring(L, msg, len);
    int values = call(L, 1);

    /* the same message, one value at a time */
    int walked = 0, walk_failed = 0;
    lua_Number offset = 0;
    while (offset != -1) {
        push_function(L, "cmsgpack", "unpack_one");
        lua_pushlstring(L, msg, len);
        lua_pushnumber(L, offset);
        int got = call(L, 2);
        if (got < 0) {
            walk_failed = 1;
            break;
        }
        CHECK(got == 1 || got == 2);
        offset = lua_tonumber(L, -got);
        walked += got - 1;
        lua_pop(L, got);
    }
    if (values < 0) {
        /* unpack refuses only what unpack_one refuses too, or more values
         * than one call may return (thousands) */
        CHECK(walk_failed || walked >= 4000);
        lua_settop(L, 0);
        return;
    }
    CHECK(!walk_failed && walked == values);
    if (values == 0)
        return;

    /* The decoded values are on the stack: pack them again. */
    push_function(L, "cmsgpack", "pack");
    lua_insert(L, -values - 1);
    CHECK(call(L, values) == 1);
    push_function(L, "cmsgpack", "unpack");
    lua_insert(L, -2);
    if (lua_pcall(L, 1, LUA_MULTRET, 0) != 0) {
        /* A table used as a key deeper than pack's 16 levels was packed
         * as nil (as Redis does), and a nil key cannot be unpacked. */
        const char *err = lua_tostring(L, -1);
        CHECK(err != NULL && strstr(err, "table index is nil") != NULL);
    } else {
        CHECK(lua_gettop(L) == values);
    }
    lua_settop(L, 0);
}

static void fuzz_struct(lua_State *L, const char *fmt, size_t fmt_len, const char *data, size_t data_len)
{
    push_function(L, "struct", "unpack");
    lua_pushlstring(L, fmt, fmt_len);
    lua_pushlstring(L, data, data_len);
    int results = call(L, 2);
    if (results >= 0) {
        /* the last result is the next position, 1..len+1 */
        lua_Number next = lua_tonumber(L, -1);
        CHECK(next >= 1 && next <= (lua_Number)data_len + 1);
    }
    lua_settop(L, 0);

    push_function(L, "struct", "size");
    lua_pushlstring(L, fmt, fmt_len);
    int sized = call(L, 1);
    lua_Number size = sized == 1 ? lua_tonumber(L, -1) : -1;
    lua_settop(L, 0);

    push_function(L, "struct", "pack");
    lua_pushlstring(L, fmt, fmt_len);
    for (int i = 0; i < 12; i++)
        lua_pushliteral(L, "1234567");
    int packed = call(L, 13);
    if (packed == 1 && sized == 1) {
        size_t packed_len;
        const char *bytes = lua_tolstring(L, -1, &packed_len);
        CHECK((lua_Number)packed_len == size);
        push_function(L, "struct", "unpack");
        lua_pushlstring(L, fmt, fmt_len);
        lua_pushlstring(L, bytes, packed_len);
        int back = call(L, 2);
        CHECK(back >= 1);
        CHECK(lua_tonumber(L, -1) == size + 1);
    }
    lua_settop(L, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
    if (size == 0)
        return 0;
    lua_State *L = shared_state();
    const char *rest = (const char *)input + 1;
    size_t rest_len = size - 1;
    if ((input[0] & 1) == 0) {
        fuzz_cmsgpack(L, rest, rest_len);
    } else {
        size_t fmt_len = rest_len == 0 ? 0 : (unsigned char)rest[0];
        if (rest_len > 0) {
            rest++;
            rest_len--;
        }
        if (fmt_len > rest_len)
            fmt_len = rest_len;
        fuzz_struct(L, rest, fmt_len, rest + fmt_len, rest_len - fmt_len);
    }
    lua_settop(L, 0);
    /* Tables from earlier inputs must not pile up between collections. */
    lua_gc(L, LUA_GCSTEP, 0);
    return 0;
}
