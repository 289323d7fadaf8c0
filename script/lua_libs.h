/* Lua 5.1 C libraries that Redis's scripting environment provides and
 * Debian does not package, written for tricache:
 *
 *   cmsgpack  MessagePack: pack(v1, v2, ...) -> string; unpack(s) -> v1, v2, ...;
 *             unpack_one(s [, offset]) -> next_offset, v;
 *             unpack_limit(s, limit [, offset]) -> next_offset, v1, ..., v_limit
 *             (offsets count bytes from 0; next_offset is -1 once s is used up;
 *             limit 0 means no limit).
 *   struct    Roberto Ierusalimschy's struct API: pack(fmt, ...) -> string;
 *             unpack(fmt, s [, pos]) -> v1, ..., next_pos (1-based); size(fmt).
 *
 * Each luaopen_* sets its table as the global of the same name (and in
 * package.loaded) and leaves it on the stack, returning 1. Memory for a
 * packed message comes from the state's own allocator, so an engine that
 * counts and caps Lua's memory counts it too. */
#ifndef TRICACHE_LUA_LIBS_H
#define TRICACHE_LUA_LIBS_H

#include <lua.h>

int luaopen_cmsgpack(lua_State *L);
int luaopen_struct(lua_State *L);

#endif
