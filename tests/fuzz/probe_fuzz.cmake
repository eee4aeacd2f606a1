# The probe response parsers (healthcheck/response_parse.hpp): what a probed
# web or SIP server sends back is untrusted input.
pooldns_fuzz_target(http_response_fuzz http_response_fuzz.cpp http_response pooldns_probe)
pooldns_fuzz_target(sip_response_fuzz sip_response_fuzz.cpp sip_response pooldns_probe)
