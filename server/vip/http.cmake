# The VIP's HTTP/1.1 message parser (include/pooldns/http.hpp): pure, so the
# unit tests and the fuzz target link it without sockets or TLS. Included from
# server/CMakeLists.txt, hence the paths from ${CMAKE_CURRENT_SOURCE_DIR}.
add_library(pooldns_http STATIC ${CMAKE_CURRENT_SOURCE_DIR}/vip/http.cpp)
target_include_directories(pooldns_http PUBLIC ${PROJECT_SOURCE_DIR}/include)
target_link_libraries(pooldns_http PUBLIC fmt::fmt)
