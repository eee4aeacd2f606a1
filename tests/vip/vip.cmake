# The VIP end to end (issue 5): the real pooldns and pooldnsctl, backends that
# are real HTTP(S) servers on 127.0.0.x (tests/vip/backend.py), raw-socket,
# Python ssl and curl clients. One ctest test per group, each with its own
# server, database, addresses and ports, so they may run in parallel.
# Included from tests/CMakeLists.txt, so paths are from tests/.
find_package(Python3 REQUIRED COMPONENTS Interpreter)
foreach(group proxy persist limits tls stream)
  add_test(NAME system.vip.${group}
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/vip/vip_test.py --group ${group}
            $<TARGET_FILE:pooldns> $<TARGET_FILE:pooldnsctl>)
  set_tests_properties(system.vip.${group} PROPERTIES TIMEOUT 150 LABELS vip)
endforeach()
