# The VIP's backend choice tests (test_backend_pick.cpp): header-only code
# (pooldns/backend_pick.hpp), their own binary. Included from
# tests/unit/CMakeLists.txt after include(doctest).
add_executable(backend_pick_unit_tests ${CMAKE_CURRENT_SOURCE_DIR}/main.cpp
                                       ${CMAKE_CURRENT_SOURCE_DIR}/test_backend_pick.cpp)
target_link_libraries(backend_pick_unit_tests PRIVATE pooldns_zones doctest::doctest)
doctest_discover_tests(backend_pick_unit_tests TEST_PREFIX "pick: ")
