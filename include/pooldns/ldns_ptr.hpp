// RAII ownership of ldns objects: every ldns_* allocation is held by one of
// these so error paths free it without a manual call.
#pragma once

// ldns/common.h defines `bool`, `true` and `false` as macros unless stdbool.h
// came first; in C++ that turns `true` into an int. Include ldns only here.
#include <stdbool.h>  // NOLINT(modernize-deprecated-headers)
#include <ldns/ldns.h>

#include <memory>

namespace pooldns {

struct LdnsRrFree {
    void operator()(ldns_rr* p) const { ldns_rr_free(p); }
};
struct LdnsRdfFree {
    void operator()(ldns_rdf* p) const { ldns_rdf_deep_free(p); }
};
struct LdnsBufferFree {
    void operator()(ldns_buffer* p) const { ldns_buffer_free(p); }
};
struct LdnsPktFree {
    void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
struct MallocFree {
    void operator()(void* p) const { free(p); }
};

using RrPtr = std::unique_ptr<ldns_rr, LdnsRrFree>;
using RdfPtr = std::unique_ptr<ldns_rdf, LdnsRdfFree>;
using BufferPtr = std::unique_ptr<ldns_buffer, LdnsBufferFree>;
using PktPtr = std::unique_ptr<ldns_pkt, LdnsPktFree>;
using CStrPtr = std::unique_ptr<char, MallocFree>;

}  // namespace pooldns
