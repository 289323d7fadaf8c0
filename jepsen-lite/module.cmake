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
  find_package(Threads REQUIRED)
  add_executable(jepsen-lite
    ${CMAKE_SOURCE_DIR}/jepsen-lite/main.c
    ${CMAKE_SOURCE_DIR}/jepsen-lite/run.c
    ${CMAKE_SOURCE_DIR}/jepsen-lite/proc.c
    ${CMAKE_SOURCE_DIR}/jepsen-lite/resp.c
    ${CMAKE_SOURCE_DIR}/jepsen-lite/netns.c
    ${CMAKE_SOURCE_DIR}/jepsen-lite/cluster.c
    ${CMAKE_SOURCE_DIR}/jepsen-lite/nemesis.c
    ${CMAKE_SOURCE_DIR}/jepsen-lite/workload.c
    ${CMAKE_SOURCE_DIR}/jepsen-lite/recorder.c
    ${CMAKE_SOURCE_DIR}/jepsen-lite/summary.c
    ${CMAKE_SOURCE_DIR}/jepsen-lite/report_html.c
  )
  target_link_libraries(jepsen-lite PRIVATE tcjepsen Threads::Threads m)
  add_executable(jepsen-lite-gen ${CMAKE_SOURCE_DIR}/jepsen-lite/gen-history.c)
endif()

if(CMOCKA_FOUND AND NOT TC_FUZZ)
  add_executable(test_checker ${CMAKE_SOURCE_DIR}/tests/unit/test_checker.c)
  target_link_libraries(test_checker PRIVATE tcjepsen PkgConfig::CMOCKA)
  add_test(NAME unit_checker COMMAND test_checker)
  set_tests_properties(unit_checker PROPERTIES LABELS unit TIMEOUT 300)
endif()

# The harness's smoke test: a short faulty run that must be valid and leave
# nothing behind, and an injected stale read that must be caught (~55 s).
if(NOT TC_FUZZ)
  add_test(NAME jepsen_smoke COMMAND sh ${CMAKE_SOURCE_DIR}/tests/integration/test_jepsen.sh)
  set_tests_properties(jepsen_smoke PROPERTIES LABELS jepsen TIMEOUT 300
    ENVIRONMENT "JEPSEN_LITE=$<TARGET_FILE:jepsen-lite>;TC_BINARY=$<TARGET_FILE:tricache>")
endif()

if(TC_FUZZ)
  add_executable(fuzz_history ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_history.c)
  target_link_libraries(fuzz_history PRIVATE tcjepsen)
  target_link_options(fuzz_history PRIVATE -fsanitize=fuzzer,address,undefined)
endif()
