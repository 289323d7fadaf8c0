# snapshot/: the snapshot file format (lz4 blocks sealed with AES-256-GCM), keys
# and sealed log payloads. Depends on nothing of ours.
# Included from the top-level CMakeLists.txt; paths are relative to its directory.

pkg_check_modules(LZ4 REQUIRED IMPORTED_TARGET liblz4)

add_library(tcsnapshot STATIC
  ${CMAKE_SOURCE_DIR}/snapshot/crypto.c
  ${CMAKE_SOURCE_DIR}/snapshot/file.c
  ${CMAKE_SOURCE_DIR}/snapshot/format.c
  ${CMAKE_SOURCE_DIR}/snapshot/keyfile.c
  ${CMAKE_SOURCE_DIR}/snapshot/keydir.c
  ${CMAKE_SOURCE_DIR}/snapshot/sealed.c
  ${CMAKE_SOURCE_DIR}/snapshot/reader.c
  ${CMAKE_SOURCE_DIR}/snapshot/writer.c
)
target_include_directories(tcsnapshot PUBLIC ${CMAKE_SOURCE_DIR}/snapshot)
target_link_libraries(tcsnapshot PUBLIC PkgConfig::LZ4 PkgConfig::LIBCRYPTO)

if(CMOCKA_FOUND AND NOT TC_FUZZ)
  add_executable(test_snapshot_format ${CMAKE_SOURCE_DIR}/tests/unit/test_snapshot_format.c)
  target_link_libraries(test_snapshot_format PRIVATE tcsnapshot PkgConfig::CMOCKA)
  add_test(NAME unit_snapshot_format COMMAND test_snapshot_format)
  set_tests_properties(unit_snapshot_format PROPERTIES LABELS unit TIMEOUT 600)
endif()

if(TC_FUZZ)
  add_executable(fuzz_snapshot ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_snapshot.c)
  target_link_libraries(fuzz_snapshot PRIVATE tcsnapshot)
  target_link_options(fuzz_snapshot PRIVATE -fsanitize=fuzzer,address,undefined)
endif()

if(CMOCKA_FOUND AND NOT TC_FUZZ)
  add_executable(test_keys_sealed ${CMAKE_SOURCE_DIR}/tests/unit/test_keys_sealed.c)
  target_compile_definitions(test_keys_sealed PRIVATE _GNU_SOURCE)
  target_link_libraries(test_keys_sealed PRIVATE tcsnapshot PkgConfig::CMOCKA)
  add_test(NAME unit_keys_sealed COMMAND test_keys_sealed)
  set_tests_properties(unit_keys_sealed PROPERTIES LABELS unit)
endif()
