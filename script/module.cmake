# script/: Lua scripting (EVAL, EVALSHA, SCRIPT). Part of the node library:
# the command table names its handlers, and it runs commands through the
# node, so the two link as one (script/ includes node's headers only).
pkg_check_modules(LUA51 REQUIRED IMPORTED_TARGET lua5.1)
# the Lua 5.1 libraries Redis scripts expect and Debian lacks (cmsgpack,
# struct): a library of their own, so their unit test and fuzzer need no node
add_library(tc_lualibs STATIC ${CMAKE_SOURCE_DIR}/script/lua_cmsgpack.c ${CMAKE_SOURCE_DIR}/script/lua_struct.c)
target_include_directories(tc_lualibs PUBLIC ${CMAKE_SOURCE_DIR}/script)
target_link_libraries(tc_lualibs PUBLIC PkgConfig::LUA51 m)
find_library(LUA51_CJSON NAMES liblua5.1-cjson.a lua5.1-cjson REQUIRED)
find_library(LUA51_BITOP NAMES liblua5.1-bitop.a lua5.1-bitop REQUIRED)
target_sources(tcnode PRIVATE
  script/cmd_function.c
  script/cmd_script.c
  script/convert.c
  script/engine.c
  script/function.c
  script/function_meta.c
  script/record.c
  script/redis_lib.c
)
target_include_directories(tcnode PUBLIC script)
target_link_libraries(tcnode PUBLIC tc_lualibs ${LUA51_CJSON} ${LUA51_BITOP} PkgConfig::LUA51)
