# backup/: snapshot files at a destination, a local folder (file://) or
# S3-compatible object storage (s3://) over libcurl (library tcbackup, used
# by tricachectl too), and a running node's backups (tcbackupjob).
# Included from the top-level CMakeLists.txt.

pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)

add_library(tcbackup STATIC
  ${CMAKE_SOURCE_DIR}/backup/destination.c
  ${CMAKE_SOURCE_DIR}/backup/manifest.c
  ${CMAKE_SOURCE_DIR}/backup/util.c
  ${CMAKE_SOURCE_DIR}/backup/dest_file.c
  ${CMAKE_SOURCE_DIR}/backup/dest_s3.c
  ${CMAKE_SOURCE_DIR}/backup/s3_credentials.c
  ${CMAKE_SOURCE_DIR}/backup/s3_request.c
)
target_include_directories(tcbackup PUBLIC ${CMAKE_SOURCE_DIR}/backup)
# common/: the JSON reader and writer of manifests.
target_link_libraries(tcbackup PUBLIC tcsnapshot tccommon PkgConfig::CURL PkgConfig::LIBCRYPTO)

add_library(tcbackupjob STATIC ${CMAKE_SOURCE_DIR}/backup/job.c ${CMAKE_SOURCE_DIR}/backup/forward.c)
target_link_libraries(tcbackupjob PUBLIC tcimage tcbackup)

if(CMOCKA_FOUND AND NOT TC_FUZZ)
  find_package(Threads REQUIRED)
  foreach(t backup_file s3_sigv4)
    add_executable(test_${t} ${CMAKE_SOURCE_DIR}/tests/unit/test_${t}.c)
    target_link_libraries(test_${t} PRIVATE tcbackup PkgConfig::CMOCKA Threads::Threads)
    add_test(NAME unit_${t} COMMAND test_${t})
    set_tests_properties(unit_${t} PROPERTIES LABELS unit TIMEOUT 300)
  endforeach()

  # Against s3rver (a local S3 endpoint from npm, installed into tests/s3 by
  # scripts/install-deps.sh); cross-checked with awscli when it is there.
  add_executable(test_integration_backup_s3 ${CMAKE_SOURCE_DIR}/tests/integration/test_backup_s3.c
                                            ${CMAKE_SOURCE_DIR}/tests/integration/harness.c)
  target_include_directories(test_integration_backup_s3 PRIVATE ${CMAKE_SOURCE_DIR}/tests/integration)
  target_link_libraries(test_integration_backup_s3 PRIVATE tcbackup tccommon PkgConfig::CMOCKA)
  add_test(NAME integration_backup_s3 COMMAND test_integration_backup_s3)
  set_tests_properties(integration_backup_s3 PROPERTIES LABELS integration TIMEOUT 600
    ENVIRONMENT "TC_S3RVER=${CMAKE_SOURCE_DIR}/tests/s3/node_modules/.bin/s3rver;TC_BINARY=$<TARGET_FILE:tricache>;TRICACHECTL=$<TARGET_FILE:tricachectl>")
endif()

if(TC_FUZZ)
  add_executable(fuzz_backup_answers ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_backup_answers.c)
  target_include_directories(fuzz_backup_answers PRIVATE ${CMAKE_SOURCE_DIR}/backup)
  target_link_libraries(fuzz_backup_answers PRIVATE tcbackup)
  target_link_options(fuzz_backup_answers PRIVATE -fsanitize=fuzzer,address,undefined)
endif()
