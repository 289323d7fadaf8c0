/* Values crossing between Lua and replies, Redis's way.
 *
 * Reply -> Lua (what redis.call returns), RESP2: integer -> number, bulk ->
 * string, null bulk or array -> false, array -> table, status -> {ok=s},
 * error -> {err=s}. RESP3 (after redis.setresp(3)) adds: null -> nil,
 * boolean -> boolean, double -> {double=n}, map -> {map={k=v}}, set ->
 * {set={m=true}}, big number -> {big_number=s}, verbatim ->
 * {verbatim_string={format=f, string=s}}.
 *
 * Lua -> reply (what a script returns): string -> bulk, number -> integer
 * (truncated), boolean -> 1 / nil in RESP2, true/false in RESP3, nil -> nil,
 * a table: {err=..} error, {ok=..} status, RESP3's {double}, {map}, {set},
 * {big_number}, {verbatim_string}, else an array of t[1], t[2], ... up to
 * the first nil. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script_internal.h"

#define MAX_DEPTH 1000 /* deeper is refused rather than blowing the C stack */

/* A header line "<type><text>\r\n": its text and where the next one starts. */
static int line(const char *p, size_t len, size_t *text_len, size_t *next)
{
    for (size_t i = 1; i + 1 < len; i++)
        if (p[i] == '\r' && p[i + 1] == '\n') {
            *text_len = i - 1;
            *next = i + 2;
            return 0;
        }
    return -1;
}

static long long header_ll(const char *p, size_t n)
{
    char tmp[32];
    if (n >= sizeof tmp) n = sizeof tmp - 1;
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    return strtoll(tmp, NULL, 10);
}

static void push_tagged(lua_State *L, const char *tag)
{
    /* value on top -> {tag = value} */
    lua_newtable(L);
    lua_insert(L, -2);
    lua_setfield(L, -2, tag);
}

static size_t push_value(lua_State *L, const char *p, size_t len, int depth);

/* Pushes n elements as t[1..n] (pairs: t[k] = v; set: t[m] = true). */
static size_t push_aggregate(lua_State *L, const char *p, size_t len, long long n, int kind, int depth)
{
    size_t off = 0;
    lua_newtable(L);
    for (long long i = 0; i < n; i++) {
        size_t used = push_value(L, p + off, len - off, depth + 1);
        if (!used) goto bad;
        off += used;
        if (kind == '%') {
            used = push_value(L, p + off, len - off, depth + 1);
            if (!used) {
                lua_pop(L, 1);
                goto bad;
            }
            off += used;
            lua_settable(L, -3);
        } else if (kind == '~') {
            lua_pushboolean(L, 1);
            lua_settable(L, -3);
        } else {
            lua_rawseti(L, -2, (int)i + 1);
        }
    }
    return off;
bad:
    lua_pop(L, 1);
    return 0;
}

static size_t push_value(lua_State *L, const char *p, size_t len, int depth)
{
    size_t n, next;
    if (len < 3 || depth > MAX_DEPTH || line(p, len, &n, &next) != 0) return 0;
    lua_checkstack(L, 4);
    const char *text = p + 1;
    switch (p[0]) {
    case ':':
        lua_pushnumber(L, (lua_Number)header_ll(text, n));
        return next;
    case '+':
        lua_pushlstring(L, text, n);
        push_tagged(L, "ok");
        return next;
    case '-':
        lua_pushlstring(L, text, n);
        push_tagged(L, "err");
        return next;
    case '_':
        lua_pushnil(L);
        return next;
    case '#':
        lua_pushboolean(L, n == 1 && text[0] == 't');
        return next;
    case ',': {
        char tmp[64];
        size_t k = n < sizeof tmp - 1 ? n : sizeof tmp - 1;
        memcpy(tmp, text, k);
        tmp[k] = '\0';
        lua_pushnumber(L, (lua_Number)strtod(tmp, NULL));
        push_tagged(L, "double");
        return next;
    }
    case '(':
        lua_pushlstring(L, text, n);
        push_tagged(L, "big_number");
        return next;
    case '$':
    case '=':
    case '!': {
        long long blen = header_ll(text, n);
        if (blen < 0) {
            lua_pushboolean(L, 0);
            return next;
        }
        if ((size_t)blen + 2 > len - next) return 0;
        const char *data = p + next;
        if (p[0] == '$') {
            lua_pushlstring(L, data, (size_t)blen);
        } else if (p[0] == '!') {
            lua_pushlstring(L, data, (size_t)blen);
            push_tagged(L, "err");
        } else { /* verbatim: "txt:" then the text */
            size_t skip = blen >= 4 ? 4 : 0;
            lua_newtable(L);
            lua_pushlstring(L, data, skip ? 3 : 0);
            lua_setfield(L, -2, "format");
            lua_pushlstring(L, data + skip, (size_t)blen - skip);
            lua_setfield(L, -2, "string");
            push_tagged(L, "verbatim_string");
        }
        return next + (size_t)blen + 2;
    }
    case '*':
    case '>':
    case '%':
    case '~': {
        long long count = header_ll(text, n);
        if (count < 0) {
            lua_pushboolean(L, 0);
            return next;
        }
        size_t used = push_aggregate(L, p + next, len - next, count, p[0], depth);
        if (!used && count > 0) return 0;
        if (p[0] == '%' || p[0] == '~') push_tagged(L, p[0] == '%' ? "map" : "set");
        return next + used;
    }
    default:
        return 0;
    }
}

size_t tc_script_push_reply(lua_State *L, const char *p, size_t len) { return push_value(L, p, len, 0); }

/* The string field name of the table on top, or NULL (stack unchanged). */
static int field_type(lua_State *L, const char *name)
{
    lua_getfield(L, -1, name);
    int t = lua_type(L, -1);
    lua_pop(L, 1);
    return t;
}

/* The script's reply is the error table on top: counted in INFO errorstats
 * by the command that made it when it carries Redis's mark. */
static void note_counted(lua_State *L, int depth)
{
    if (depth > 0) return;
    lua_getfield(L, -1, "ignore_error_stats_update");
    if (lua_toboolean(L, -1)) tc_script_engine_from(L)->srv->reply_error_counted = 1;
    lua_pop(L, 1);
}

static void reply_table(lua_State *L, tc_reply *r, int depth)
{
    if (field_type(L, "err") == LUA_TSTRING) {
        note_counted(L, depth);
        lua_getfield(L, -1, "err");
        tc_reply_error(r, lua_tostring(L, -1));
        lua_pop(L, 1);
        return;
    }
    if (field_type(L, "ok") == LUA_TSTRING) {
        lua_getfield(L, -1, "ok");
        tc_reply_status(r, lua_tostring(L, -1));
        lua_pop(L, 1);
        return;
    }
    if (field_type(L, "double") == LUA_TNUMBER) {
        lua_getfield(L, -1, "double");
        tc_reply_double(r, (double)lua_tonumber(L, -1));
        lua_pop(L, 1);
        return;
    }
    if (field_type(L, "big_number") == LUA_TSTRING) {
        lua_getfield(L, -1, "big_number");
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        if (r->out && r->resp >= 3) {
            tc_buf_printf(r->out, "(%.*s\r\n", (int)n, s);
        } else {
            tc_reply_bulk(r, s, n);
        }
        lua_pop(L, 1);
        return;
    }
    if (field_type(L, "verbatim_string") == LUA_TTABLE) {
        lua_getfield(L, -1, "verbatim_string");
        lua_getfield(L, -1, "string");
        lua_getfield(L, -2, "format");
        if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TSTRING) {
            size_t n, fn;
            const char *s = lua_tolstring(L, -2, &n);
            const char *f = lua_tolstring(L, -1, &fn);
            if (r->out && r->resp >= 3 && fn == 3)
                tc_buf_printf(r->out, "=%zu\r\n%s:%.*s\r\n", n + 4, f, (int)n, s);
            else
                tc_reply_bulk(r, s, n);
            lua_pop(L, 3);
            return;
        }
        lua_pop(L, 3);
    }
    if (field_type(L, "map") == LUA_TTABLE) {
        lua_getfield(L, -1, "map");
        size_t pairs = 0;
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            pairs++;
            lua_pop(L, 1);
        }
        tc_reply_map(r, pairs);
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            lua_pushvalue(L, -2);
            tc_script_reply_value(L, r, depth + 1); /* key */
            lua_pop(L, 1);
            tc_script_reply_value(L, r, depth + 1); /* value */
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
        return;
    }
    if (field_type(L, "set") == LUA_TTABLE) {
        lua_getfield(L, -1, "set");
        size_t n = 0;
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            n++;
            lua_pop(L, 1);
        }
        tc_reply_set(r, n);
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            lua_pop(L, 1);
            tc_script_reply_value(L, r, depth + 1); /* the member (key) */
        }
        lua_pop(L, 1);
        return;
    }
    /* an array up to the first nil */
    size_t n = 0;
    for (;;) {
        lua_rawgeti(L, -1, (int)n + 1);
        int nil = lua_isnil(L, -1);
        lua_pop(L, 1);
        if (nil) break;
        n++;
    }
    tc_reply_array(r, n);
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, -1, (int)i + 1);
        tc_script_reply_value(L, r, depth + 1);
        lua_pop(L, 1);
    }
}

void tc_script_reply_value(lua_State *L, tc_reply *r, int depth)
{
    tc_script_engine *e = tc_script_engine_from(L);
    int script_resp = e->reply_resp;
    if (depth > MAX_DEPTH) {
        tc_reply_error(r, "ERR reached lua stack limit");
        return;
    }
    lua_checkstack(L, 8);
    switch (lua_type(L, -1)) {
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, -1, &n);
        tc_reply_bulk(r, s, n);
        break;
    }
    case LUA_TBOOLEAN:
        /* by the script's protocol (redis.setresp), as Redis 7.0 */
        if (script_resp >= 3) tc_reply_bool(r, lua_toboolean(L, -1));
        else if (lua_toboolean(L, -1)) tc_reply_int(r, 1);
        else tc_reply_null(r);
        break;
    case LUA_TNUMBER: {
        /* truncated; out of range or NaN gives what x86 gives Redis's cast */
        lua_Number v = lua_tonumber(L, -1);
        tc_reply_int(r, v >= -9223372036854775808.0 && v < 9223372036854775808.0 ? (long long)v : LLONG_MIN);
        break;
    }
    case LUA_TTABLE:
        reply_table(L, r, depth);
        break;
    default:
        tc_reply_null(r);
        break;
    }
}

void tc_script_reply_error(lua_State *L, tc_reply *r, const char *sha)
{
    char msg[1024];
    if (lua_istable(L, -1)) {
        note_counted(L, 0);
        lua_getfield(L, -1, "err");
        lua_getfield(L, -2, "source");
        lua_getfield(L, -3, "line");
        const char *err = lua_isstring(L, -3) ? lua_tostring(L, -3) : "ERR unknown error";
        if (lua_isstring(L, -2) && lua_isnumber(L, -1))
            snprintf(msg, sizeof msg, "%s script: %s, on %s:%d.", err, sha, lua_tostring(L, -2),
                     (int)lua_tointeger(L, -1));
        else snprintf(msg, sizeof msg, "%s", err);
        lua_pop(L, 3);
    } else {
        /* raised past the handler: out of memory */
        snprintf(msg, sizeof msg, "ERR %s script: %s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "error", sha);
    }
    tc_reply_error(r, msg);
}
