# tools/: tricachectl, the operator's tool — a RESP client of the nodes (with
# common/'s blocking client) that reads cluster.toml through node/config.h,
# and reads and writes backups through backup/backup.h — and its
# integration tests.
#
# Included from the top-level CMakeLists.txt after the core targets.

set(TC_TRICACHECTL_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/tricachectl.c
  ${CMAKE_CURRENT_LIST_DIR}/cluster_view.c
  ${CMAKE_CURRENT_LIST_DIR}/status.c
  ${CMAKE_CURRENT_LIST_DIR}/failover.c
  ${CMAKE_CURRENT_LIST_DIR}/members.c
  ${CMAKE_CURRENT_LIST_DIR}/restart_plan.c
  ${CMAKE_CURRENT_LIST_DIR}/progress.c
  ${CMAKE_CURRENT_LIST_DIR}/keys.c
  ${CMAKE_CURRENT_LIST_DIR}/secret.c
  ${CMAKE_CURRENT_LIST_DIR}/auth.c
  ${CMAKE_CURRENT_LIST_DIR}/dest.c
  ${CMAKE_CURRENT_LIST_DIR}/cmd_backup.c
  ${CMAKE_CURRENT_LIST_DIR}/restore.c
)

if(NOT TC_FUZZ)
  add_executable(tricachectl ${TC_TRICACHECTL_SOURCES})
  target_link_libraries(tricachectl PRIVATE tcnode tcbackup tcsnapshot tccommon)
endif()

if(CMOCKA_FOUND AND NOT TC_FUZZ)
  add_executable(test_integration_tricachectl
    ${CMAKE_SOURCE_DIR}/tests/integration/test_tricachectl.c
    ${CMAKE_SOURCE_DIR}/tests/integration/harness.c)
  target_link_libraries(test_integration_tricachectl PRIVATE tccommon PkgConfig::CMOCKA)
  add_test(NAME integration_tricachectl COMMAND test_integration_tricachectl)
  set_tests_properties(integration_tricachectl PROPERTIES LABELS integration TIMEOUT 600
    ENVIRONMENT "TC_BINARY=$<TARGET_FILE:tricache>;TRICACHECTL=$<TARGET_FILE:tricachectl>")

  # keys, backup and restore: backups are made in the test with the snapshot
  # writer and the backup library, then listed, verified and restored by
  # tricachectl into real clusters.
  add_executable(test_integration_tricachectl_backup
    ${CMAKE_SOURCE_DIR}/tests/integration/test_tricachectl_backup.c
    ${CMAKE_SOURCE_DIR}/tests/integration/harness.c)
  target_link_libraries(test_integration_tricachectl_backup PRIVATE tcbackup tcsnapshot tccommon PkgConfig::CMOCKA)
  add_test(NAME integration_tricachectl_backup COMMAND test_integration_tricachectl_backup)
  set_tests_properties(integration_tricachectl_backup PROPERTIES LABELS integration TIMEOUT 900
    ENVIRONMENT "TC_BINARY=$<TARGET_FILE:tricache>;TRICACHECTL=$<TARGET_FILE:tricachectl>")
endif()
