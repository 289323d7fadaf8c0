# script/: Lua scripting (EVAL, EVALSHA, SCRIPT). Part of the node library:
# the command table names its handlers, and it runs commands through the
# node, so the two link as one (script/ includes node's headers only).
pkg_check_modules(LUA51 REQUIRED IMPORTED_TARGET lua5.1)
find_library(LUA51_CJSON NAMES liblua5.1-cjson.a lua5.1-cjson REQUIRED)
find_library(LUA51_BITOP NAMES liblua5.1-bitop.a lua5.1-bitop REQUIRED)
target_sources(tcnode PRIVATE
  script/cmd_script.c
  script/convert.c
  script/engine.c
  script/record.c
  script/redis_lib.c
)
target_include_directories(tcnode PUBLIC script)
target_link_libraries(tcnode PUBLIC ${LUA51_CJSON} ${LUA51_BITOP} PkgConfig::LUA51)
