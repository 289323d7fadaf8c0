/* script/lua_cmsgpack.c and script/lua_struct.c in a plain Lua 5.1 state:
 * exact encodings of known values, round trips of every type and size
 * class, the API's offsets and positions, and errors (never a crash) on
 * bad, truncated and random input. Most checks are Lua snippets whose
 * assert() fails the test with the snippet's own message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "lua_libs.h"

static int setup_state(void **state)
{
    lua_State *L = luaL_newstate();
    if (L == NULL)
        return -1;
    luaL_openlibs(L);
    if (luaopen_cmsgpack(L) != 1 || luaopen_struct(L) != 1)
        return -1;
    lua_settop(L, 0);
    /* Helpers the snippets share: a readable form of a byte string and a
     * deep comparison (NaN equals NaN here, so round trips can say so). */
    const char *helpers =
        "function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end\n"
        "function same(a, b)\n"
        "  if type(a) ~= type(b) then return false end\n"
        "  if type(a) == 'number' then return a == b or (a ~= a and b ~= b) end\n"
        "  if type(a) ~= 'table' then return a == b end\n"
        "  for k, v in pairs(a) do if not same(v, b[k]) then return false end end\n"
        "  for k in pairs(b) do if a[k] == nil then return false end end\n"
        "  return true\n"
        "end\n"
        "function eq_hex(got, want, what)\n"
        "  assert(hex(got) == want, (what or '') .. ': got ' .. hex(got) .. ', want ' .. want)\n"
        "end\n";
    if (luaL_dostring(L, helpers) != 0)
        return -1;
    *state = L;
    return 0;
}

static int teardown_state(void **state)
{
    lua_close((lua_State *)*state);
    return 0;
}

/* Runs a snippet that must succeed (its asserts pass). */
static void run_ok(lua_State *L, const char *code)
{
    lua_settop(L, 0);
    if (luaL_dostring(L, code) != 0)
        fail_msg("snippet failed: %s\n--- snippet:\n%s", lua_tostring(L, -1), code);
    lua_settop(L, 0);
}

/* Runs a snippet that must raise an error whose message holds `want`. */
static void run_error(lua_State *L, const char *code, const char *want)
{
    lua_settop(L, 0);
    if (luaL_dostring(L, code) == 0)
        fail_msg("snippet should have failed with \"%s\":\n%s", want, code);
    const char *msg = lua_tostring(L, -1);
    if (msg == NULL || strstr(msg, want) == NULL)
        fail_msg("snippet failed with \"%s\", want \"%s\":\n%s", msg ? msg : "(no message)", want, code);
    lua_settop(L, 0);
}

/* Runs `return <expr>` and compares the string it returns byte for byte. */
static void expect_bytes(lua_State *L, const char *expr, const char *want, size_t want_len)
{
    char code[512];
    snprintf(code, sizeof code, "return %s", expr);
    lua_settop(L, 0);
    if (luaL_dostring(L, code) != 0)
        fail_msg("%s: %s", expr, lua_tostring(L, -1));
    assert_int_equal(lua_type(L, -1), LUA_TSTRING);
    size_t len;
    const char *got = lua_tolstring(L, -1, &len);
    if (len != want_len || memcmp(got, want, len) != 0) {
        char hex[200] = "";
        for (size_t i = 0; i < len && i < 64; i++)
            snprintf(hex + 2 * i, sizeof hex - 2 * i, "%02x", (unsigned char)got[i]);
        fail_msg("%s: got %zu bytes %s, want %zu bytes", expr, len, hex, want_len);
    }
    lua_settop(L, 0);
}

#define EXPECT_BYTES(L, expr, lit) expect_bytes((L), (expr), (lit), sizeof(lit) - 1)

/* ---- cmsgpack ---- */

static void test_cmsgpack_known_encodings(void **state)
{
    lua_State *L = *state;
    EXPECT_BYTES(L, "cmsgpack.pack(1)", "\x01");
    EXPECT_BYTES(L, "cmsgpack.pack(0)", "\x00");
    EXPECT_BYTES(L, "cmsgpack.pack(-0.0)", "\x00");
    EXPECT_BYTES(L, "cmsgpack.pack(127)", "\x7f");
    EXPECT_BYTES(L, "cmsgpack.pack(128)", "\xcc\x80");
    EXPECT_BYTES(L, "cmsgpack.pack(255)", "\xcc\xff");
    EXPECT_BYTES(L, "cmsgpack.pack(256)", "\xcd\x01\x00");
    EXPECT_BYTES(L, "cmsgpack.pack(65535)", "\xcd\xff\xff");
    EXPECT_BYTES(L, "cmsgpack.pack(65536)", "\xce\x00\x01\x00\x00");
    EXPECT_BYTES(L, "cmsgpack.pack(2^32-1)", "\xce\xff\xff\xff\xff");
    EXPECT_BYTES(L, "cmsgpack.pack(2^32)", "\xcf\x00\x00\x00\x01\x00\x00\x00\x00");
    EXPECT_BYTES(L, "cmsgpack.pack(2^63-1024)", "\xcf\x7f\xff\xff\xff\xff\xff\xfc\x00");
    EXPECT_BYTES(L, "cmsgpack.pack(-1)", "\xff");
    EXPECT_BYTES(L, "cmsgpack.pack(-32)", "\xe0");
    EXPECT_BYTES(L, "cmsgpack.pack(-33)", "\xd0\xdf");
    EXPECT_BYTES(L, "cmsgpack.pack(-128)", "\xd0\x80");
    EXPECT_BYTES(L, "cmsgpack.pack(-129)", "\xd1\xff\x7f");
    EXPECT_BYTES(L, "cmsgpack.pack(-32768)", "\xd1\x80\x00");
    EXPECT_BYTES(L, "cmsgpack.pack(-32769)", "\xd2\xff\xff\x7f\xff");
    EXPECT_BYTES(L, "cmsgpack.pack(-2^31)", "\xd2\x80\x00\x00\x00");
    EXPECT_BYTES(L, "cmsgpack.pack(-2^31-1)", "\xd3\xff\xff\xff\xff\x7f\xff\xff\xff");
    EXPECT_BYTES(L, "cmsgpack.pack(-2^63)", "\xd3\x80\x00\x00\x00\x00\x00\x00\x00");
    /* Not whole, or beyond int64: float 32 when exact, else float 64. */
    EXPECT_BYTES(L, "cmsgpack.pack(1.5)", "\xca\x3f\xc0\x00\x00");
    EXPECT_BYTES(L, "cmsgpack.pack(0.25)", "\xca\x3e\x80\x00\x00");
    EXPECT_BYTES(L, "cmsgpack.pack(0.1)", "\xcb\x3f\xb9\x99\x99\x99\x99\x99\x9a");
    EXPECT_BYTES(L, "cmsgpack.pack(2^63)", "\xca\x5f\x00\x00\x00");
    EXPECT_BYTES(L, "cmsgpack.pack(2^64)", "\xca\x5f\x80\x00\x00");
    EXPECT_BYTES(L, "cmsgpack.pack(1e300)", "\xcb\x7e\x37\xe4\x3c\x88\x00\x75\x9c");
    EXPECT_BYTES(L, "cmsgpack.pack(math.huge)", "\xca\x7f\x80\x00\x00");
    EXPECT_BYTES(L, "cmsgpack.pack(-math.huge)", "\xca\xff\x80\x00\x00");
    run_ok(L, "local s = cmsgpack.pack(0/0); assert(#s == 9 and s:byte(1) == 0xcb, hex(s))");
    /* nil, booleans, strings, tables */
    EXPECT_BYTES(L, "cmsgpack.pack(nil)", "\xc0");
    EXPECT_BYTES(L, "cmsgpack.pack(true, false, nil)", "\xc3\xc2\xc0");
    EXPECT_BYTES(L, "cmsgpack.pack('')", "\xa0");
    EXPECT_BYTES(L, "cmsgpack.pack('abc')", "\xa3" "abc");
    EXPECT_BYTES(L, "cmsgpack.pack({})", "\x90");
    EXPECT_BYTES(L, "cmsgpack.pack({1, 2})", "\x92\x01\x02");
    EXPECT_BYTES(L, "cmsgpack.pack({a = 1})", "\x81\xa1" "a\x01");
    EXPECT_BYTES(L, "cmsgpack.pack({[0] = 1})", "\x81\x00\x01");
    EXPECT_BYTES(L, "cmsgpack.pack({[1.5] = 1})", "\x81\xca\x3f\xc0\x00\x00\x01");
    EXPECT_BYTES(L, "cmsgpack.pack(1, 'abc', {})", "\x01\xa3" "abc\x90");
    /* a function or a coroutine has no MessagePack form: nil */
    EXPECT_BYTES(L, "cmsgpack.pack(print)", "\xc0");
    EXPECT_BYTES(L, "cmsgpack.pack({coroutine.create(function() end), 1})", "\x92\xc0\x01");
}

static void test_cmsgpack_size_classes(void **state)
{
    lua_State *L = *state;
    /* string headers: fixstr up to 31, then str 8 / 16 / 32 */
    run_ok(L, "eq_hex(cmsgpack.pack(string.rep('x', 31)):sub(1, 1), 'bf', '31')\n"
              "eq_hex(cmsgpack.pack(string.rep('x', 32)):sub(1, 2), 'd920', '32')\n"
              "eq_hex(cmsgpack.pack(string.rep('x', 255)):sub(1, 2), 'd9ff', '255')\n"
              "eq_hex(cmsgpack.pack(string.rep('x', 256)):sub(1, 3), 'da0100', '256')\n"
              "eq_hex(cmsgpack.pack(string.rep('x', 65535)):sub(1, 3), 'daffff', '65535')\n"
              "eq_hex(cmsgpack.pack(string.rep('x', 65536)):sub(1, 5), 'db00010000', '65536')\n"
              "assert(#cmsgpack.pack(string.rep('x', 65536)) == 65541)\n");
    /* arrays: fixarray up to 15, then array 16 / 32 */
    run_ok(L, "local function arr(n) local t = {} for i = 1, n do t[i] = true end return t end\n"
              "eq_hex(cmsgpack.pack(arr(15)):sub(1, 1), '9f')\n"
              "eq_hex(cmsgpack.pack(arr(16)):sub(1, 3), 'dc0010')\n"
              "eq_hex(cmsgpack.pack(arr(65535)):sub(1, 3), 'dcffff')\n"
              "eq_hex(cmsgpack.pack(arr(65536)):sub(1, 5), 'dd00010000')\n");
    /* maps: fixmap up to 15, then map 16 / 32 */
    run_ok(L, "local function map(n) local t = {} for i = 1, n do t['k' .. i] = i end return t end\n"
              "eq_hex(cmsgpack.pack(map(15)):sub(1, 1), '8f')\n"
              "eq_hex(cmsgpack.pack(map(16)):sub(1, 3), 'de0010')\n"
              "eq_hex(cmsgpack.pack(map(70000)):sub(1, 5), 'df00011170')\n");
}

static void test_cmsgpack_tables(void **state)
{
    lua_State *L = *state;
    /* holes, zero or fractional keys make a map */
    run_ok(L, "local s = cmsgpack.pack({[1] = 1, [2] = 2, [4] = 4})\n"
              "assert(s:byte(1) == 0x83, hex(s))\n"
              "assert(same(cmsgpack.unpack(s), {[1] = 1, [2] = 2, [4] = 4}))\n"
              "assert(cmsgpack.pack({1, 2, nil, 4}):byte(1) == 0x83)\n"
              "assert(cmsgpack.pack({1, 2, x = 3}):byte(1) == 0x83)\n"
              "assert(cmsgpack.pack({[2] = 1}):byte(1) == 0x81)\n");
    /* 16 levels of nesting are kept, the 17th table becomes nil */
    run_ok(L, "local top = {} local t = top\n"
              "for i = 1, 20 do t[1] = {} t = t[1] end\n"
              "eq_hex(cmsgpack.pack(top), string.rep('91', 16) .. 'c0')\n"
              "local d = cmsgpack.unpack(cmsgpack.pack(top))\n"
              "for i = 1, 15 do d = d[1] end\n"
              "assert(type(d) == 'table' and d[1] == nil)\n");
    /* maps count their depth too: keys and values one level down */
    run_ok(L, "local top = {} local t = top\n"
              "for i = 1, 20 do t.k = {} t = t.k end\n"
              "eq_hex(cmsgpack.pack(top), string.rep('81a16b', 16) .. 'c0')\n");
    /* a table that holds itself ends at the nesting limit */
    run_ok(L, "local t = {} t[1] = t\n"
              "eq_hex(cmsgpack.pack(t), string.rep('91', 16) .. 'c0')\n");
    /* tables as map keys */
    run_ok(L, "local s = cmsgpack.pack({[{1}] = 'v'})\n"
              "eq_hex(s, '819101a176')\n");
}

static void test_cmsgpack_round_trips(void **state)
{
    lua_State *L = *state;
    run_ok(L, "local values = {\n"
              "  0, 1, 127, 128, 255, 256, 65535, 65536, 2^32 - 1, 2^32, 2^53, 2^63 - 1024,\n"
              "  -1, -32, -33, -128, -129, -32768, -32769, -2^31, -2^31 - 1, -2^53, -2^63,\n"
              "  0.5, -0.5, 1.5, 0.1, -0.1, 1e300, -1e-300, 3.4028234663852886e38, 2^63, 2^64,\n"
              "  math.huge, -math.huge, 0/0,\n"
              "  true, false, '', 'a', string.rep('b', 31), string.rep('c', 32), string.rep('d', 255),\n"
              "  string.rep('e', 256), string.rep('f', 65535), string.rep('g', 65536), 'nul\\0byte',\n"
              "  {}, {1, 2, 3}, {a = 1, b = {c = {1, 'x', false}}}, {[1] = 1, [3] = 3}, {[-1] = 'neg'},\n"
              "  {[0.5] = 'half', [true] = false},\n"
              "}\n"
              "for i, v in ipairs(values) do\n"
              "  local back = cmsgpack.unpack(cmsgpack.pack(v))\n"
              "  assert(same(back, v), 'value #' .. i .. ' came back different')\n"
              "end\n"
              "local all = {cmsgpack.unpack(cmsgpack.pack(unpack(values)))}\n"
              "assert(#all == #values)\n"
              "for i = 1, #values do assert(same(all[i], values[i]), 'multi #' .. i) end\n"
              "local a, b, c = cmsgpack.unpack(cmsgpack.pack(nil, 1, nil))\n"
              "assert(a == nil and b == 1 and c == nil)\n"
              "assert(select('#', cmsgpack.unpack(cmsgpack.pack(nil, 1, nil))) == 3)\n");
}

static void test_cmsgpack_decode_types(void **state)
{
    lua_State *L = *state;
    /* forms pack does not write but other encoders do */
    run_ok(L, "assert(cmsgpack.unpack('\\196\\3abc') == 'abc')\n"            /* bin 8 */
              "assert(cmsgpack.unpack('\\197\\0\\2hi') == 'hi')\n"           /* bin 16 */
              "assert(cmsgpack.unpack('\\198\\0\\0\\0\\1z') == 'z')\n"       /* bin 32 */
              "assert(cmsgpack.unpack('\\217\\3abc') == 'abc')\n"            /* str 8 */
              "assert(cmsgpack.unpack('\\204\\5') == 5)\n"                   /* uint 8, small */
              "assert(cmsgpack.unpack('\\208\\5') == 5)\n"                   /* int 8, positive */
              "assert(cmsgpack.unpack('\\209\\255\\255') == -1)\n"
              "assert(cmsgpack.unpack('\\210\\128\\0\\0\\0') == -2^31)\n"
              "assert(cmsgpack.unpack('\\211\\255\\255\\255\\255\\255\\255\\255\\254') == -2)\n"
              /* uint 64 beyond int64: the nearest double */
              "assert(cmsgpack.unpack('\\207\\255\\255\\255\\255\\255\\255\\255\\255') == 2^64)\n"
              "assert(cmsgpack.unpack('\\207\\128\\0\\0\\0\\0\\0\\0\\0') == 2^63)\n"
              "assert(cmsgpack.unpack('\\211\\128\\0\\0\\0\\0\\0\\0\\1') == -2^63)\n"
              "assert(cmsgpack.unpack('\\202\\63\\192\\0\\0') == 1.5)\n"
              "assert(cmsgpack.unpack('\\203\\63\\248\\0\\0\\0\\0\\0\\0') == 1.5)\n"
              "local t = cmsgpack.unpack('\\220\\0\\2\\1\\2')\n"              /* array 16 */
              "assert(same(t, {1, 2}))\n"
              "t = cmsgpack.unpack('\\221\\0\\0\\0\\1\\192')\n"                 /* array 32 holding nil */
              "assert(type(t) == 'table' and next(t) == nil)\n"
              "t = cmsgpack.unpack('\\222\\0\\1\\161k\\1')\n"                  /* map 16 */
              "assert(same(t, {k = 1}))\n"
              "t = cmsgpack.unpack('\\223\\0\\0\\0\\1\\1\\2')\n"               /* map 32 */
              "assert(same(t, {[1] = 2}))\n");
}

static void test_cmsgpack_unpack_one_and_limit(void **state)
{
    lua_State *L = *state;
    run_ok(L, "local s = cmsgpack.pack(1, 'two', {3})\n"
              "local off, v = cmsgpack.unpack_one(s)\n"
              "assert(off == 1 and v == 1)\n"
              "off, v = cmsgpack.unpack_one(s, off)\n"
              "assert(off == 5 and v == 'two')\n"
              "off, v = cmsgpack.unpack_one(s, off)\n"
              "assert(off == -1 and same(v, {3}))\n"
              /* at the end: -1 and no value */
              "assert(select('#', cmsgpack.unpack_one(s, #s)) == 1 and cmsgpack.unpack_one(s, #s) == -1)\n"
              "assert(select('#', cmsgpack.unpack_one('')) == 1 and cmsgpack.unpack_one('') == -1)\n"
              /* fractional offsets are cut to whole bytes */
              "assert(select(2, cmsgpack.unpack_one(s, 1.9)) == 'two')\n"
              /* unpack_limit */
              "local r = {cmsgpack.unpack_limit(s, 2)}\n"
              "assert(#r == 3 and r[1] == 5 and r[2] == 1 and r[3] == 'two')\n"
              "r = {cmsgpack.unpack_limit(s, 2, 5)}\n"
              "assert(#r == 2 and r[1] == -1 and same(r[2], {3}))\n"
              "r = {cmsgpack.unpack_limit(s, 0)}\n"
              "assert(#r == 4 and r[1] == -1 and r[4][1] == 3)\n"
              "r = {cmsgpack.unpack_limit(s, 100, 1)}\n"
              "assert(#r == 3 and r[1] == -1 and r[2] == 'two')\n"
              "assert(select('#', cmsgpack.unpack('')) == 0)\n"
              /* a whole loop over a stream, as scripts write it */
              "local parts, off = {}, 0\n"
              "repeat local v off, v = cmsgpack.unpack_one(s, off) parts[#parts + 1] = v until off == -1\n"
              "assert(#parts == 3 and parts[2] == 'two')\n");
    run_error(L, "cmsgpack.unpack_one('\\1', -1)", "offset must be 0 or more");
    run_error(L, "cmsgpack.unpack_one('\\1', 2)", "past the end");
    run_error(L, "cmsgpack.unpack_one('\\1', 0/0)", "offset must be 0 or more");
    run_error(L, "cmsgpack.unpack_one('\\1', 'x')", "number expected");
    run_error(L, "cmsgpack.unpack_limit('\\1', -1)", "limit must be 0");
    run_error(L, "cmsgpack.unpack_limit('\\1')", "number expected");
    run_error(L, "cmsgpack.unpack_limit('\\1\\2', 1, 3)", "past the end");
}

static void test_cmsgpack_errors(void **state)
{
    lua_State *L = *state;
    run_error(L, "cmsgpack.pack()", "needs at least one value");
    run_error(L, "cmsgpack.unpack()", "string expected");
    run_error(L, "cmsgpack.unpack({})", "string expected");
    /* truncated: every type that carries a length or a payload */
    const char *truncated[] = {
        "\\204", "\\205\\1", "\\206\\1\\2\\3", "\\207\\1\\2\\3\\4\\5\\6\\7", "\\208", "\\209\\1",
        "\\210\\1\\2", "\\211\\1\\2\\3\\4\\5\\6\\7", "\\202\\1\\2\\3", "\\203\\1\\2\\3\\4\\5\\6\\7",
        "\\163ab", "\\217", "\\217\\3ab", "\\218\\0", "\\218\\0\\3ab", "\\219\\0\\0\\0\\3ab",
        "\\196\\2a", "\\197\\0\\2a", "\\198\\0\\0\\0\\2a", "\\146\\1", "\\220\\0\\2\\1", "\\221\\0\\0\\0\\2\\1",
        "\\130\\1\\1\\2", "\\222\\0\\1\\1", "\\223\\0\\0\\0\\1\\1", "\\145", "\\129\\1",
        /* a count far beyond what the input holds: refused before a table is made */
        "\\221\\255\\255\\255\\255", "\\223\\255\\255\\255\\255\\1\\1",
    };
    for (size_t i = 0; i < sizeof truncated / sizeof truncated[0]; i++) {
        char code[128];
        snprintf(code, sizeof code, "cmsgpack.unpack('%s')", truncated[i]);
        run_error(L, code, "Missing bytes in input.");
    }
    /* 0xc1 and the ext types have no Lua form */
    const char *bad[] = {"\\193", "\\199\\1\\1\\1", "\\200\\0\\1\\1\\1", "\\201\\0\\0\\0\\1\\1\\1",
                         "\\212\\1\\1", "\\213\\1\\1\\1", "\\214\\1\\1\\1\\1\\1", "\\215\\1", "\\216\\1",
                         "\\1\\193", "\\145\\193"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char code[128];
        snprintf(code, sizeof code, "cmsgpack.unpack('%s')", bad[i]);
        run_error(L, code, "Bad data format in input.");
    }
    /* nil and NaN cannot be table keys */
    run_error(L, "cmsgpack.unpack('\\129\\192\\1')", "table index is nil");
    run_error(L, "cmsgpack.unpack('\\129\\203\\255\\248\\0\\0\\0\\0\\0\\0\\1')", "table index is NaN");
    /* nesting beyond the unpack limit, and more values than the stack holds */
    run_error(L, "cmsgpack.unpack(string.rep('\\145', 600) .. '\\1')", "nested more than 512");
    run_ok(L, "local t = cmsgpack.unpack(string.rep('\\145', 512) .. '\\1')\n"
              "for i = 1, 512 do t = t[1] end\n"
              "assert(t == 1)\n");
    run_error(L, "cmsgpack.unpack(string.rep('\\1', 20000))", "too many values");
    run_ok(L, "local off, n = 0, 0\n"
              "local s = string.rep('\\1', 20000)\n"
              "while off ~= -1 do local r = {cmsgpack.unpack_limit(s, 1000, off)} off = r[1] n = n + #r - 1 end\n"
              "assert(n == 20000)\n");
    /* an error leaves the state usable */
    run_ok(L, "assert(not pcall(cmsgpack.unpack, '\\146\\1'))\n"
              "assert(cmsgpack.unpack('\\1') == 1)\n");
}

/* Every prefix and every one-byte change of a rich message: each either
 * decodes or raises a Lua error; the state survives all of them. */
static void test_cmsgpack_mangled_input(void **state)
{
    lua_State *L = *state;
    run_ok(L, "local s = cmsgpack.pack({1, -200, 70000, -2^40, 0.1, 1.5, 'str', string.rep('z', 40),\n"
              "  {k = {true, false, nil}}, 2^40}, 'tail')\n"
              "local ok_count = 0\n"
              "for i = 0, #s - 1 do\n"
              "  local ok = pcall(cmsgpack.unpack, s:sub(1, i))\n"
              "  if ok then ok_count = ok_count + 1 end\n"
              "end\n"
              "for i = 1, #s do\n"
              "  for b = 0, 255, 7 do\n"
              "    local m = s:sub(1, i - 1) .. string.char(b) .. s:sub(i + 1)\n"
              "    local ok, err = pcall(cmsgpack.unpack, m)\n"
              "    assert(ok or type(err) == 'string')\n"
              "  end\n"
              "end\n"
              /* a prefix that ends between top-level values decodes: the empty one */
              "assert(ok_count >= 1)\n"
              "math.randomseed(15)\n"
              "for n = 1, 3000 do\n"
              "  local bytes = {}\n"
              "  for i = 1, math.random(1, 24) do bytes[i] = string.char(math.random(0, 255)) end\n"
              "  local ok, err = pcall(cmsgpack.unpack, table.concat(bytes))\n"
              "  assert(ok or type(err) == 'string')\n"
              "end\n");
}

/* ---- struct ---- */

static void test_struct_known_encodings(void **state)
{
    lua_State *L = *state;
    EXPECT_BYTES(L, "struct.pack('>i', 1)", "\x00\x00\x00\x01");
    EXPECT_BYTES(L, "struct.pack('<i', 1)", "\x01\x00\x00\x00");
    EXPECT_BYTES(L, "struct.pack('<h>h', 1, 1)", "\x01\x00\x00\x01");
    EXPECT_BYTES(L, "struct.pack('b', -1)", "\xff");
    EXPECT_BYTES(L, "struct.pack('b', 300)", "\x2c");
    EXPECT_BYTES(L, "struct.pack('B', 255)", "\xff");
    EXPECT_BYTES(L, "struct.pack('<I3', 2^24 + 5)", "\x05\x00\x00");
    EXPECT_BYTES(L, "struct.pack('>I3', 0x010203)", "\x01\x02\x03");
    EXPECT_BYTES(L, "struct.pack('>i', 1.7)", "\x00\x00\x00\x01");
    EXPECT_BYTES(L, "struct.pack('>i', -1.7)", "\xff\xff\xff\xff");
    EXPECT_BYTES(L, "struct.pack('>h', -2)", "\xff\xfe");
    EXPECT_BYTES(L, "struct.pack('>l', 1)", "\x00\x00\x00\x00\x00\x00\x00\x01");
    EXPECT_BYTES(L, "struct.pack('>T', 258)", "\x00\x00\x00\x00\x00\x00\x01\x02");
    EXPECT_BYTES(L, "struct.pack('>L', 2^64 - 2048)", "\xff\xff\xff\xff\xff\xff\xf8\x00");
    EXPECT_BYTES(L, "struct.pack('>i16', -1)",
                 "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff");
    EXPECT_BYTES(L, "struct.pack('<i10', 1)", "\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00");
    EXPECT_BYTES(L, "struct.pack('i0', 5)", "");
    EXPECT_BYTES(L, "struct.pack('>f', 1.5)", "\x3f\xc0\x00\x00");
    EXPECT_BYTES(L, "struct.pack('<d', 2)", "\x00\x00\x00\x00\x00\x00\x00\x40");
    EXPECT_BYTES(L, "struct.pack('>d', 2)", "\x40\x00\x00\x00\x00\x00\x00\x00");
    EXPECT_BYTES(L, "struct.pack(' x >i x ', 1)", "\x00\x00\x00\x00\x01\x00");
    /* alignment: none until '!', then to min(size, n) */
    EXPECT_BYTES(L, "struct.pack('<bi', 1, 2)", "\x01\x02\x00\x00\x00");
    EXPECT_BYTES(L, "struct.pack('<!bi', 1, 2)", "\x01\x00\x00\x00\x02\x00\x00\x00");
    EXPECT_BYTES(L, "struct.pack('<!2bi', 1, 2)", "\x01\x00\x02\x00\x00\x00");
    EXPECT_BYTES(L, "struct.pack('<!bd', 1, 2)",
                 "\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x40");
    EXPECT_BYTES(L, "struct.pack('<!4bbxh', 1, 2, 3)", "\x01\x02\x00\x00\x03\x00");
    /* strings */
    EXPECT_BYTES(L, "struct.pack('c0', 'hello')", "hello");
    EXPECT_BYTES(L, "struct.pack('c3', 'hello')", "hel");
    EXPECT_BYTES(L, "struct.pack('c', 'hello')", "h");
    EXPECT_BYTES(L, "struct.pack('c2', 12345)", "12");
    EXPECT_BYTES(L, "struct.pack('s', 'hel\\0lo')", "hel\0lo\0");
    EXPECT_BYTES(L, "struct.pack('>Hc0', 5, 'hello')", "\x00\x05hello");
    EXPECT_BYTES(L, "struct.pack('')", "");
}

static void test_struct_unpack(void **state)
{
    lua_State *L = *state;
    run_ok(L, "local a, b, n = struct.unpack('>ib', '\\0\\0\\1\\0\\255')\n"
              "assert(a == 256 and b == -1 and n == 6)\n"
              "a, n = struct.unpack('B', '\\255')\n"
              "assert(a == 255 and n == 2)\n"
              "a, n = struct.unpack('b', 'abc', 2)\n"
              "assert(a == 98 and n == 3)\n"
              "assert(struct.unpack('', 'abc', 4) == 4)\n"
              "assert(struct.unpack('>I8', string.rep('\\255', 8)) == 2^64)\n"
              "assert(struct.unpack('>i8', string.rep('\\255', 7) .. '\\254') == -2)\n"
              "assert(struct.unpack('<i3', '\\255\\255\\128') == 0x80ffff - 2^24)\n"
              "assert(struct.unpack('<I3', '\\255\\255\\128') == 0x80ffff)\n"
              "assert(struct.unpack('>I16', '\\0\\0\\0\\0\\0\\0\\0\\1\\0\\0\\0\\0\\0\\0\\0\\1') == 1)\n"
              "assert(struct.unpack('i0', '') == 0)\n"
              /* length-prefixed strings: c0 replaces the number before it */
              "local r = {struct.unpack('bc0', '\\3abcdef')}\n"
              "assert(#r == 2 and r[1] == 'abc' and r[2] == 5)\n"
              "r = {struct.unpack('bc0b', '\\2ab\\9')}\n"
              "assert(#r == 3 and r[1] == 'ab' and r[2] == 9 and r[3] == 5)\n"
              "r = {struct.unpack('>Hc0', '\\0\\0rest')}\n"
              "assert(#r == 2 and r[1] == '' and r[2] == 3)\n"
              "r = {struct.unpack('s', 'ab\\0cd\\0')}\n"
              "assert(#r == 2 and r[1] == 'ab' and r[2] == 4)\n"
              "r = {struct.unpack('ss', 'ab\\0\\0')}\n"
              "assert(#r == 3 and r[1] == 'ab' and r[2] == '' and r[3] == 5)\n"
              "r = {struct.unpack('xc2x', '_hi_')}\n"
              "assert(#r == 2 and r[1] == 'hi' and r[2] == 5)\n"
              /* alignment counts from the start of the data, not from pos */
              "r = {struct.unpack('<!i', '\\0\\0\\0\\0\\7\\0\\0\\0', 2)}\n"
              "assert(r[1] == 7 and r[2] == 9)\n");
    /* round trips of every option, in both orders and several alignments */
    run_ok(L, "local want = {-5, 250, -300, 60000, -2^40, 2^40, 77, -70000, 70000, -1, 255,\n"
              "              -30000, 65535, -2^23, 2^24 - 1, -2^39, 2^53 - 1, -2^62, 2^63,\n"
              "              -123456789, 0.5, 0.1, 'four', 'zero-ended'}\n"
              /* sizes 3, 5 and 7 only align under !1 and !2 (their alignment must be a power of 2) */
              "for _, prefix in ipairs({'<', '>', '<!1', '>!2'}) do\n"
              "  local f = prefix .. 'bBhHlLTiIi1I1i2I2i3I3i5I7i8I8i12fdxc4s'\n"
              "  local s = struct.pack(f, unpack(want))\n"
              "  local r = {struct.unpack(f, s)}\n"
              "  assert(#r == #want + 1 and r[#r] == #s + 1, prefix)\n"
              "  for i, v in ipairs(want) do assert(r[i] == v, prefix .. ' item ' .. i .. ': ' .. tostring(r[i])) end\n"
              "end\n");
    run_ok(L, "local want = {-5, 250, -300, 60000, -2^40, 2^40, 77, -70000, 70000, -2, 0.5, 0.1, 'x', 'yz', -9, 'end'}\n"
              "for _, prefix in ipairs({'!', '<!4', '>!8', '!16', '<!2'}) do\n"
              "  local f = prefix .. 'bBhHlLTiIi2fdc1sbs'\n"
              "  local s = struct.pack(f, unpack(want))\n"
              "  assert(#s > 0)\n"
              "  local r = {struct.unpack(f, s)}\n"
              "  assert(#r == #want + 1 and r[#r] == #s + 1, prefix)\n"
              "  for i, v in ipairs(want) do assert(r[i] == v, prefix .. ' item ' .. i .. ': ' .. tostring(r[i])) end\n"
              "end\n");
    run_ok(L, "local s = struct.pack('>!4 b i h d', 1, 2, 3, 4.5)\n"
              "assert(#s == struct.size('>!4 b i h d'))\n"
              "local a, b, c, d, n = struct.unpack('>!4 b i h d', s)\n"
              "assert(a == 1 and b == 2 and c == 3 and d == 4.5 and n == #s + 1)\n"
              "assert(struct.unpack('f', struct.pack('f', 0.1)) == 0.10000000149011612)\n"
              "assert(struct.unpack('d', struct.pack('d', 1e300)) == 1e300)\n"
              "assert(struct.unpack('f', struct.pack('f', 1e300)) == math.huge)\n"
              "local nan = struct.unpack('d', struct.pack('d', 0/0)) assert(nan ~= nan)\n");
}

static void test_struct_size(void **state)
{
    lua_State *L = *state;
    run_ok(L, "assert(struct.size('') == 0)\n"
              "assert(struct.size('!') == 0)\n"
              "assert(struct.size('bd') == 9)\n"
              "assert(struct.size('!bd') == 16)\n"
              "assert(struct.size('!b!h') == 4)\n"
              "assert(struct.size('!4 bi16') == 20)\n"
              "assert(struct.size('!4 bi12') == 16)\n"
              "assert(struct.size('lLThHT') == 36)\n"
              "assert(struct.size('c10') == 10)\n"
              "assert(struct.size('i32') == 32)\n"
              "assert(struct.size('xxx') == 3)\n");
    run_error(L, "struct.size('s')", "option 's' has no fixed size");
    run_error(L, "struct.size('bc0')", "option 'c0' has no fixed size");
}

static void test_struct_errors(void **state)
{
    lua_State *L = *state;
    run_error(L, "struct.pack('z', 'hello')", "invalid format option 'z'");
    run_error(L, "struct.pack('=i', 1)", "invalid format option '='");
    run_error(L, "struct.size('y')", "invalid format option 'y'");
    run_error(L, "struct.unpack('q', '')", "invalid format option 'q'");
    run_error(L, "struct.pack('!3i', 1)", "alignment 3 in the format is not a power of 2");
    run_error(L, "struct.pack('!0i', 1)", "alignment 0 in the format is not a power of 2");
    run_error(L, "struct.size('!4 bi3')", "alignment 3 is not a power of 2");
    run_error(L, "struct.pack('i33', 1)", "larger than the limit of 32");
    run_error(L, "struct.size('i9999999999')", "too large");
    run_error(L, "struct.size('c99999999999999999999')", "too large");
    run_error(L, "struct.pack('i', 'x')", "number expected");
    run_error(L, "struct.pack('i')", "number expected");
    run_error(L, "struct.pack('c9', 'hello')", "too short for 'c9'");
    run_error(L, "struct.pack('bc0', 1)", "string expected");
    run_error(L, "struct.pack('b', 0/0)", "does not fit in a 64-bit integer");
    run_error(L, "struct.pack('b', math.huge)", "does not fit");
    run_error(L, "struct.pack('L', 2^64)", "does not fit");
    run_error(L, "struct.pack('l', -2^63 - 4096)", "does not fit");
    run_error(L, "struct.pack()", "string expected");
    run_error(L, "struct.unpack('i', 'ab')", "data string too short");
    run_error(L, "struct.unpack('x', '')", "data string too short");
    run_error(L, "struct.unpack('b', 'abc', 4)", "data string too short");
    run_error(L, "struct.unpack('b', 'abc', 5)", "outside 1..4");
    run_error(L, "struct.unpack('b', 'abc', 0)", "outside 1..4");
    run_error(L, "struct.unpack('b', 'abc', -1)", "outside 1..4");
    run_error(L, "struct.unpack('b', 'abc', 0/0)", "outside 1..4");
    run_error(L, "struct.unpack('s', 'ab')", "unfinished string");
    run_error(L, "struct.unpack('c0', 'abc')", "'c0' needs a number");
    run_error(L, "struct.unpack('c0', '3abc', 1)", "'c0' needs a number");
    run_error(L, "struct.unpack('sc0', '3\\0abc')", "'c0' needs a number");
    run_error(L, "struct.unpack('bxc0', '\\1x')", "data string too short");
    run_error(L, "struct.unpack('bc0', '\\255abc')", "data string too short");
    run_error(L, "struct.unpack('c2000000000', 'abc')", "data string too short");
    run_error(L, "struct.unpack(string.rep('b', 10000), string.rep('a', 10000))", "too many results");
    run_error(L, "struct.unpack('b')", "string expected");
    /* errors leave the state usable */
    run_ok(L, "assert(not pcall(struct.unpack, 'i', 'ab'))\n"
              "assert(struct.unpack('b', 'a') == 97)\n");
}

/* Random formats over random data: an answer or a Lua error, never a
 * crash; when a format without s and c0 packs, it unpacks to its size. */
static void test_struct_random(void **state)
{
    lua_State *L = *state;
    run_ok(L, "math.randomseed(7)\n"
              "local opts = {'<', '>', '!', '!2', '!4', 'x', 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I',\n"
              "              'i3', 'I5', 'i16', 'f', 'd', 's', 'c', 'c0', 'c3', ' ', '!8'}\n"
              "for n = 1, 3000 do\n"
              "  local parts = {}\n"
              "  for i = 1, math.random(1, 8) do parts[i] = opts[math.random(#opts)] end\n"
              "  local fmt = table.concat(parts)\n"
              "  local data = {}\n"
              "  for i = 1, math.random(0, 40) do data[i] = string.char(math.random(0, 255)) end\n"
              "  local ok, err = pcall(struct.unpack, fmt, table.concat(data))\n"
              "  assert(ok or type(err) == 'string')\n"
              "  local args = {}\n"
              "  for i = 1, 8 do args[i] = '123456' end\n"
              "  local okp, packed = pcall(struct.pack, fmt, unpack(args))\n"
              "  local oks, size = pcall(struct.size, fmt)\n"
              "  if okp and oks then\n"
              "    assert(#packed == size, fmt)\n"
              "    local r = {struct.unpack(fmt, packed)}\n"
              "    assert(r[#r] == size + 1, fmt)\n"
              "  end\n"
              "end\n");
}

/* The libraries as globals and as luaopen_* results. */
static void test_registration(void **state)
{
    lua_State *L = *state;
    run_ok(L, "assert(type(cmsgpack) == 'table' and type(struct) == 'table')\n"
              "assert(cmsgpack._NAME == 'cmsgpack')\n"
              "assert(package.loaded.cmsgpack == cmsgpack and package.loaded.struct == struct)\n"
              "for _, f in ipairs({'pack', 'unpack', 'unpack_one', 'unpack_limit'}) do\n"
              "  assert(type(cmsgpack[f]) == 'function', f) end\n"
              "for _, f in ipairs({'pack', 'unpack', 'size'}) do assert(type(struct[f]) == 'function', f) end\n");
    lua_State *fresh = luaL_newstate();
    assert_non_null(fresh);
    assert_int_equal(luaopen_struct(fresh), 1);
    assert_int_equal(lua_type(fresh, -1), LUA_TTABLE);
    lua_getglobal(fresh, "struct");
    assert_true(lua_rawequal(fresh, -1, -2));
    lua_settop(fresh, 0);
    assert_int_equal(luaopen_cmsgpack(fresh), 1);
    assert_int_equal(lua_type(fresh, -1), LUA_TTABLE);
    lua_getglobal(fresh, "cmsgpack");
    assert_true(lua_rawequal(fresh, -1, -2));
    lua_close(fresh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registration, setup_state, teardown_state),
        cmocka_unit_test_setup_teardown(test_cmsgpack_known_encodings, setup_state, teardown_state),
        cmocka_unit_test_setup_teardown(test_cmsgpack_size_classes, setup_state, teardown_state),
        cmocka_unit_test_setup_teardown(test_cmsgpack_tables, setup_state, teardown_state),
        cmocka_unit_test_setup_teardown(test_cmsgpack_round_trips, setup_state, teardown_state),
        cmocka_unit_test_setup_teardown(test_cmsgpack_decode_types, setup_state, teardown_state),
        cmocka_unit_test_setup_teardown(test_cmsgpack_unpack_one_and_limit, setup_state, teardown_state),
        cmocka_unit_test_setup_teardown(test_cmsgpack_errors, setup_state, teardown_state),
        cmocka_unit_test_setup_teardown(test_cmsgpack_mangled_input, setup_state, teardown_state),
        cmocka_unit_test_setup_teardown(test_struct_known_encodings, setup_state, teardown_state),
        cmocka_unit_test_setup_teardown(test_struct_unpack, setup_state, teardown_state),
        cmocka_unit_test_setup_teardown(test_struct_size, setup_state, teardown_state),
        cmocka_unit_test_setup_teardown(test_struct_errors, setup_state, teardown_state),
        cmocka_unit_test_setup_teardown(test_struct_random, setup_state, teardown_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
