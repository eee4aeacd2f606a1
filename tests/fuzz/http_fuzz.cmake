# The VIP's HTTP/1.1 parser (include/pooldns/http.hpp): what a client sends is
# untrusted input. Included from tests/fuzz/CMakeLists.txt.
pooldns_fuzz_target(http_request_fuzz http_request_fuzz.cpp http_request pooldns_http)
