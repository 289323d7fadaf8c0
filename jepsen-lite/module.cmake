# jepsen-lite/: the history format, its checkers and the command line. It
# talks to nodes over the wire only, with common/'s RESP client.
# Included from the top-level CMakeLists.txt; paths are from the top of the tree.

add_library(tcjepsen STATIC
  ${CMAKE_SOURCE_DIR}/jepsen-lite/brute.c
  ${CMAKE_SOURCE_DIR}/jepsen-lite/checker.c
  ${CMAKE_SOURCE_DIR}/jepsen-lite/history.c
  ${CMAKE_SOURCE_DIR}/jepsen-lite/report.c
  ${CMAKE_SOURCE_DIR}/jepsen-lite/check_set.c
  ${CMAKE_SOURCE_DIR}/jepsen-lite/wgl.c
)
target_include_directories(tcjepsen PUBLIC ${CMAKE_SOURCE_DIR}/jepsen-lite)
# common/: the JSON reader (histories) and writer (reports), the RESP client.
target_link_libraries(tcjepsen PUBLIC tccommon)

if(NOT TC_FUZZ)
  find_package(Threads REQUIRED)
  add_executable(jepsen-lite
    ${CMAKE_SOURCE_DIR}/jepsen-lite/main.c
    ${CMAKE_SOURCE_DIR}/jepsen-lite/run.c
    ${CMAKE_SOURCE_DIR}/jepsen-lite/proc.c
    ${CMAKE_SOURCE_DIR}/jepsen-lite/netns.c
    ${CMAKE_SOURCE_DIR}/jepsen-lite/cluster.c
    ${CMAKE_SOURCE_DIR}/jepsen-lite/certs.c
    ${CMAKE_SOURCE_DIR}/jepsen-lite/nemesis.c
    ${CMAKE_SOURCE_DIR}/jepsen-lite/disk.c
    ${CMAKE_SOURCE_DIR}/jepsen-lite/member.c
    ${CMAKE_SOURCE_DIR}/jepsen-lite/workload.c
    ${CMAKE_SOURCE_DIR}/jepsen-lite/recorder.c
    ${CMAKE_SOURCE_DIR}/jepsen-lite/summary.c
    ${CMAKE_SOURCE_DIR}/jepsen-lite/report_html.c
  )
  target_link_libraries(jepsen-lite PRIVATE tcjepsen Threads::Threads m)
  add_executable(jepsen-lite-gen ${CMAKE_SOURCE_DIR}/jepsen-lite/gen-history.c)

  # A deliberately broken node for the smoke test, never installed: tricache
  # built from the same sources and libraries, except that its router.c is
  # compiled with TC_TEST_ACK_BEFORE_COMMIT (SET answered +OK before the
  # write commits). That object comes first on the link line, so the
  # router.o inside libtcreplication.a is never pulled in.
  get_target_property(_tc_sources tricache SOURCES)
  get_target_property(_tc_libs tricache LINK_LIBRARIES)
  add_executable(tricache-ack-before-commit ${_tc_sources} ${CMAKE_SOURCE_DIR}/replication/router.c)
  target_compile_definitions(tricache-ack-before-commit PRIVATE TC_TEST_ACK_BEFORE_COMMIT)
  target_link_libraries(tricache-ack-before-commit PRIVATE ${_tc_libs})
endif()

if(CMOCKA_FOUND AND NOT TC_FUZZ)
  add_executable(test_checker ${CMAKE_SOURCE_DIR}/tests/unit/test_checker.c)
  target_link_libraries(test_checker PRIVATE tcjepsen PkgConfig::CMOCKA)
  add_test(NAME unit_checker COMMAND test_checker)
  set_tests_properties(unit_checker PROPERTIES LABELS unit TIMEOUT 300)
endif()

# The harness's smoke test: a short faulty run that must be valid and leave
# nothing behind, an injected stale read that must be caught, and the
# ack-before-commit build that must be caught (~56 s; the last ~11 s).
if(NOT TC_FUZZ)
  add_test(NAME jepsen_smoke COMMAND sh ${CMAKE_SOURCE_DIR}/tests/integration/test_jepsen.sh)
  set_tests_properties(jepsen_smoke PROPERTIES LABELS jepsen TIMEOUT 300
    ENVIRONMENT "JEPSEN_LITE=$<TARGET_FILE:jepsen-lite>;TC_BINARY=$<TARGET_FILE:tricache>;TC_BROKEN_BINARY=$<TARGET_FILE:tricache-ack-before-commit>")
endif()

if(TC_FUZZ)
  add_executable(fuzz_history ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_history.c)
  target_link_libraries(fuzz_history PRIVATE tcjepsen)
  target_link_options(fuzz_history PRIVATE -fsanitize=fuzzer,address,undefined)
endif()
