// Fuzz target: master-file text (untrusted when an operator imports a file
// from elsewhere). Beyond not crashing, it checks a property: text that reads
// and passes the zone rules writes out to text that reads back to the same RRs.
#include "pooldns/zone_rules.hpp"
#include "pooldns/zonefile.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 64 * 1024) return 0;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto entries = pooldns::read_zone_text(text, "example.com.", "fuzz");
    if (!entries) return 0;
    pooldns::normalize_rrsets(*entries);
    if (!pooldns::check_zone("example.com.", *entries).empty()) return 0;

    std::vector<pooldns::Record> records;
    for (auto& e : *entries) records.push_back(e.rec);
    std::string written = pooldns::write_zone_text("example.com.", records);
    auto again = pooldns::read_zone_text(written, "example.com.", "rewritten");
    if (!again) {
        std::fprintf(stderr, "written zone does not read back: %s\n--- written:\n%s\n", again.error().message.c_str(),
                     written.c_str());
        __builtin_trap();
    }
    std::vector<pooldns::Record> back;
    for (auto& e : *again) back.push_back(e.rec);
    pooldns::sort_canonical(records);
    pooldns::sort_canonical(back);
    if (records != back) {
        std::fprintf(stderr, "round trip changed the records\n--- written:\n%s\n", written.c_str());
        __builtin_trap();
    }
    return 0;
}
