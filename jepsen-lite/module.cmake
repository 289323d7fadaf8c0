# jepsen-lite/: the history format, its checkers and the command line.
# Included from the top-level CMakeLists.txt; paths are from the top of the tree.

add_library(tcjepsen STATIC
  ${CMAKE_SOURCE_DIR}/jepsen-lite/brute.c
  ${CMAKE_SOURCE_DIR}/jepsen-lite/checker.c
  ${CMAKE_SOURCE_DIR}/jepsen-lite/history.c
  ${CMAKE_SOURCE_DIR}/jepsen-lite/json.c
  ${CMAKE_SOURCE_DIR}/jepsen-lite/report.c
  ${CMAKE_SOURCE_DIR}/jepsen-lite/set.c
  ${CMAKE_SOURCE_DIR}/jepsen-lite/wgl.c
)
target_include_directories(tcjepsen PUBLIC ${CMAKE_SOURCE_DIR}/jepsen-lite)

if(NOT TC_FUZZ)
  add_executable(jepsen-lite ${CMAKE_SOURCE_DIR}/jepsen-lite/main.c)
  target_link_libraries(jepsen-lite PRIVATE tcjepsen)
  add_executable(jepsen-lite-gen ${CMAKE_SOURCE_DIR}/jepsen-lite/gen-history.c)
endif()

if(CMOCKA_FOUND AND NOT TC_FUZZ)
  add_executable(test_checker ${CMAKE_SOURCE_DIR}/tests/unit/test_checker.c)
  target_link_libraries(test_checker PRIVATE tcjepsen PkgConfig::CMOCKA)
  add_test(NAME unit_checker COMMAND test_checker)
  set_tests_properties(unit_checker PROPERTIES LABELS unit TIMEOUT 300)
endif()

if(TC_FUZZ)
  add_executable(fuzz_history ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_history.c)
  target_link_libraries(fuzz_history PRIVATE tcjepsen)
  target_link_options(fuzz_history PRIVATE -fsanitize=fuzzer,address,undefined)
endif()
