# The probe kinds and their response parsers (healthcheck/probe.hpp,
# response_parse.hpp): a library of its own so the fuzz targets and the probe
# tests link only what they exercise.
add_library(pooldns_probe STATIC
  ${CMAKE_CURRENT_SOURCE_DIR}/probe.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/response_parse.cpp
)
target_include_directories(pooldns_probe PUBLIC ${PROJECT_SOURCE_DIR}/include ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(pooldns_probe PUBLIC pooldns_zones PkgConfig::LIBUV OpenSSL::SSL OpenSSL::Crypto fmt::fmt)
