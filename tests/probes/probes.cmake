# The probe tests: the response parsers (unit, discovered one test per case) and
# the probe kinds against tests/probes/backend.py on 127.0.0.x (one ctest test,
# system.probes). Included from tests/CMakeLists.txt, so paths are from tests/.
find_package(doctest REQUIRED)
find_package(Python3 REQUIRED COMPONENTS Interpreter)
include(doctest)

add_executable(probe_unit_tests
  ${CMAKE_CURRENT_SOURCE_DIR}/unit/main.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/probes/test_response_parse.cpp
)
target_link_libraries(probe_unit_tests PRIVATE pooldns_probe doctest::doctest)
doctest_discover_tests(probe_unit_tests TEST_PREFIX "probe: ")

add_executable(probe_system_tests
  ${CMAKE_CURRENT_SOURCE_DIR}/unit/main.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/probes/test_probes.cpp
)
target_link_libraries(probe_system_tests PRIVATE pooldns_probe doctest::doctest)
target_compile_definitions(probe_system_tests PRIVATE
  POOLDNS_PYTHON="${Python3_EXECUTABLE}"
  POOLDNS_PROBE_BACKEND="${CMAKE_CURRENT_SOURCE_DIR}/probes/backend.py"
  POOLDNS_PROBE_CERTS="${CMAKE_CURRENT_SOURCE_DIR}/probes/certs")
add_test(NAME system.probes COMMAND probe_system_tests)
set_tests_properties(system.probes PROPERTIES TIMEOUT 120)
