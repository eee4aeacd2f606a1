# The VIP's HTTP/1.1 parser tests (test_http.cpp), their own binary so they link
# only pooldns_http. Included from tests/unit/CMakeLists.txt after include(doctest).
add_executable(http_unit_tests ${CMAKE_CURRENT_SOURCE_DIR}/main.cpp ${CMAKE_CURRENT_SOURCE_DIR}/test_http.cpp)
target_link_libraries(http_unit_tests PRIVATE pooldns_http doctest::doctest)
doctest_discover_tests(http_unit_tests TEST_PREFIX "http: ")
