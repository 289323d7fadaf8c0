# tools/: tricachectl, the operator's tool — a RESP client of the nodes that
# reads cluster.toml through node/config.h — and its integration tests.
#
# Included from the top-level CMakeLists.txt after the core targets.

set(TC_TRICACHECTL_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/tricachectl.c
  ${CMAKE_CURRENT_LIST_DIR}/resp_client.c
  ${CMAKE_CURRENT_LIST_DIR}/cluster_view.c
  ${CMAKE_CURRENT_LIST_DIR}/status.c
  ${CMAKE_CURRENT_LIST_DIR}/failover.c
  ${CMAKE_CURRENT_LIST_DIR}/members.c
)

if(NOT TC_FUZZ)
  add_executable(tricachectl ${TC_TRICACHECTL_SOURCES})
  target_link_libraries(tricachectl PRIVATE tcnode)
endif()

if(CMOCKA_FOUND AND NOT TC_FUZZ)
  add_executable(test_integration_tricachectl
    ${CMAKE_SOURCE_DIR}/tests/integration/test_tricachectl.c
    ${CMAKE_SOURCE_DIR}/tests/integration/harness.c)
  target_link_libraries(test_integration_tricachectl PRIVATE PkgConfig::CMOCKA)
  add_test(NAME integration_tricachectl COMMAND test_integration_tricachectl)
  set_tests_properties(integration_tricachectl PROPERTIES LABELS integration TIMEOUT 600
    ENVIRONMENT "TC_BINARY=$<TARGET_FILE:tricache>;TRICACHECTL=$<TARGET_FILE:tricachectl>")
endif()
