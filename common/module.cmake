# common/: small shared pieces any module may use — the TOML reader, one
# JSON reader and writer, a blocking RESP client with deadlines, forked
# children that keep one descriptor, huge-page advice for big buffers and
# freed big buffers kept for the next big value. It needs
# libc and OpenSSL (the RESP client's TLS) and every other module may link
# it (common <- node <- ...).
# Included from the top-level CMakeLists.txt before node/; paths are from
# the top of the tree.

add_library(tccommon STATIC
  ${CMAKE_SOURCE_DIR}/common/big_alloc.c
  ${CMAKE_SOURCE_DIR}/common/big_keep.c
  ${CMAKE_SOURCE_DIR}/common/fork_child.c
  ${CMAKE_SOURCE_DIR}/common/json.c
  ${CMAKE_SOURCE_DIR}/common/resp_client.c
  ${CMAKE_SOURCE_DIR}/common/resp_tls.c
  ${CMAKE_SOURCE_DIR}/common/toml.c
)
target_include_directories(tccommon PUBLIC ${CMAKE_SOURCE_DIR}/common)
target_link_libraries(tccommon PUBLIC PkgConfig::LIBSSL PkgConfig::LIBCRYPTO)

if(CMOCKA_FOUND AND NOT TC_FUZZ)
  find_package(Threads REQUIRED)
  foreach(t json resp_client big_alloc big_keep)
    add_executable(test_${t} ${CMAKE_SOURCE_DIR}/tests/unit/test_${t}.c)
    target_link_libraries(test_${t} PRIVATE tccommon PkgConfig::CMOCKA Threads::Threads)
    add_test(NAME unit_${t} COMMAND test_${t})
    set_tests_properties(unit_${t} PROPERTIES LABELS unit TIMEOUT 300)
  endforeach()
endif()

if(TC_FUZZ)
  foreach(f json resp_client)
    add_executable(fuzz_${f} ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_${f}.c)
    target_link_libraries(fuzz_${f} PRIVATE tccommon)
    target_link_options(fuzz_${f} PRIVATE -fsanitize=fuzzer,address,undefined)
  endforeach()
endif()
