// Records: names, types, TTLs, and the conversions between stored records,
// ldns and presentation text.
#include "pooldns/record.hpp"

#include "pooldns/wire_name.hpp"

#include <fmt/format.h>

#include <cctype>
#include <algorithm>
#include <cstring>

namespace pooldns {

namespace {

RdfPtr dname_rdf(std::string_view absolute) {
    return RdfPtr(ldns_dname_new_frm_str(std::string(absolute).c_str()));
}

std::string rdf_to_string(const ldns_rdf* rdf) {
    CStrPtr s(ldns_rdf2str(rdf));
    return s ? std::string(s.get()) : std::string();
}

}  // namespace

Result<std::string> canonical_name(std::string_view name, std::string_view origin, std::string_view what) {
    if (name.empty()) return Error{fmt::format("{}: empty name", what)};
    RdfPtr rdf;
    if (name == "@") {
        rdf = dname_rdf(origin);
    } else {
        rdf.reset(ldns_dname_new_frm_str(std::string(name).c_str()));
        if (!rdf) return Error{fmt::format("{}: '{}' is not a valid domain name", what, name)};
        // Absolute when the final dot is not escaped: an even run of backslashes before it.
        std::size_t backslashes = 0;
        while (backslashes + 1 < name.size() && name[name.size() - 2 - backslashes] == '\\') ++backslashes;
        bool absolute = name.back() == '.' && backslashes % 2 == 0;
        if (!absolute) {
            RdfPtr base = dname_rdf(origin);
            if (!base) return Error{fmt::format("{}: origin '{}' is not a valid domain name", what, origin)};
            // ldns_dname_cat does not check the 255-octet limit (RFC 1035 3.1).
            if (ldns_rdf_size(rdf.get()) - 1 + ldns_rdf_size(base.get()) > 255 ||
                ldns_dname_cat(rdf.get(), base.get()) != LDNS_STATUS_OK) {
                return Error{fmt::format("{}: '{}' made absolute under '{}' is longer than 255 octets", what,
                                         name, origin)};
            }
        }
    }
    if (!rdf) return Error{fmt::format("{}: '{}' is not a valid domain name", what, name)};
    ldns_dname2canonical(rdf.get());
    return rdf_to_string(rdf.get());
}

Result<std::string> absolute_name(std::string_view text, std::string_view what) {
    if (text.empty()) return Error{fmt::format("{}: empty name", what)};
    std::string absolute(text);
    if (!absolute.ends_with('.')) absolute += '.';
    return canonical_name(absolute, ".", what);
}

Result<std::string> argument_name(std::string_view name, std::string_view origin, std::string_view what) {
    if (!name.empty() && !name.ends_with('.') && origin != ".") {
        auto as_absolute = canonical_name(std::string(name) + ".", ".", what);
        if (as_absolute && name_in_zone(*as_absolute, origin)) return as_absolute;
    }
    return canonical_name(name, origin, what);
}

bool name_in_zone(std::string_view name, std::string_view zone) {
    // Both are canonical presentation text, where a dot inside a label is
    // escaped: `name` is in `zone` when it equals it or ends with "." + zone at
    // an unescaped dot.
    if (zone == ".") return true;
    if (name == zone) return true;
    if (name.size() <= zone.size() || !name.ends_with(zone)) return false;
    std::size_t dot = name.size() - zone.size() - 1;
    if (name[dot] != '.') return false;
    std::size_t backslashes = 0;
    while (dot > backslashes && name[dot - 1 - backslashes] == '\\') ++backslashes;
    return backslashes % 2 == 0;
}

void sort_canonical(std::vector<Record>& records) {
    // ldns names are built once per record, not once per comparison.
    std::vector<RdfPtr> names;
    names.reserve(records.size());
    for (const auto& r : records) names.push_back(dname_rdf(r.owner));
    std::vector<std::size_t> order(records.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (names[a] && names[b]) {
            int c = ldns_dname_compare(names[a].get(), names[b].get());
            if (c != 0) return c < 0;
        }
        if (records[a].type != records[b].type) return records[a].type < records[b].type;
        return records[a].rdata < records[b].rdata;
    });
    std::vector<Record> sorted;
    sorted.reserve(records.size());
    for (auto i : order) sorted.push_back(std::move(records[i]));
    records = std::move(sorted);
}

Result<Record> record_from_ldns(const ldns_rr* rr) {
    if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
        return Error{"only class IN is supported"};
    }
    RdfPtr owner(ldns_rdf_clone(ldns_rr_owner(rr)));
    ldns_dname2canonical(owner.get());
    // ldns occasionally accepts text that leaves a field out (seen by the fuzzer
    // with an RFC 3597 "\\#" inside a NAPTR); such an RR could never be served.
    const ldns_rr_descriptor* d = ldns_rr_descript(ldns_rr_get_type(rr));
    if (d && !type_to_text(static_cast<std::uint16_t>(ldns_rr_get_type(rr))).starts_with("TYPE")) {
        std::size_t fields = ldns_rr_rd_count(rr);
        if (fields < ldns_rr_descriptor_minimum(d) || fields > ldns_rr_descriptor_maximum(d)) {
            return Error{fmt::format("{} rdata has {} fields, the type needs {}..{}",
                                     type_to_text(static_cast<std::uint16_t>(ldns_rr_get_type(rr))), fields,
                                     ldns_rr_descriptor_minimum(d), ldns_rr_descriptor_maximum(d))};
        }
    }
    Record rec;
    rec.owner = rdf_to_string(owner.get());
    rec.type = static_cast<std::uint16_t>(ldns_rr_get_type(rr));
    rec.ttl = ldns_rr_ttl(rr);
    BufferPtr buf(ldns_buffer_new(512));
    if (ldns_rr_rdata2buffer_wire(buf.get(), rr) != LDNS_STATUS_OK) {
        return Error{"cannot encode the rdata"};
    }
    const auto* data = ldns_buffer_begin(buf.get());
    rec.rdata.assign(data, data + ldns_buffer_position(buf.get()));
    if (rec.rdata.size() > 65535) return Error{"rdata longer than 65535 octets"};
    // What is stored must decode from wire form again (the fuzzer found text
    // ldns parses into HTTPS rdata its own wire parser rejects).
    if (!record_to_ldns(rec)) return Error{fmt::format("{} rdata does not encode to valid wire form", type_to_text(rec.type))};
    return rec;
}

RrPtr record_to_ldns(const Record& rec) {
    RdfPtr owner = dname_rdf(rec.owner);
    if (!owner) return nullptr;
    std::vector<std::uint8_t> wire(ldns_rdf_data(owner.get()), ldns_rdf_data(owner.get()) + ldns_rdf_size(owner.get()));
    auto put16 = [&](std::uint32_t v) {
        wire.push_back(static_cast<std::uint8_t>(v >> 8));
        wire.push_back(static_cast<std::uint8_t>(v));
    };
    put16(rec.type);
    put16(LDNS_RR_CLASS_IN);
    put16(rec.ttl >> 16);
    put16(rec.ttl & 0xffff);
    put16(static_cast<std::uint32_t>(rec.rdata.size()));
    wire.insert(wire.end(), rec.rdata.begin(), rec.rdata.end());
    ldns_rr* rr = nullptr;
    size_t pos = 0;
    if (ldns_wire2rr(&rr, wire.data(), wire.size(), &pos, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK) {
        return nullptr;
    }
    return RrPtr(rr);
}

namespace {

// One rdata field as text. Names are printed by wire_to_text, not ldns: ldns
// leaves a '"' in a name unescaped, and the result would not read back.
std::string rdf_text(const ldns_rdf* rdf) {
    if (ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_DNAME) {
        return wire_to_text({ldns_rdf_data(rdf), ldns_rdf_size(rdf)});
    }
    return rdf_to_string(rdf);
}

}  // namespace

std::string record_to_text(const Record& rec) {
    std::uint8_t owner[kMaxNameLength];
    std::size_t n = name_to_wire(rec.owner, owner);
    std::string owner_text = n ? wire_to_text({owner, n}) : rec.owner;
    return fmt::format("{}\t{}\tIN\t{}\t{}", owner_text, rec.ttl, type_to_text(rec.type), rdata_to_text(rec));
}

std::string rdata_to_text(const Record& rec) {
    RrPtr rr = record_to_ldns(rec);
    if (!rr) return fmt::format("\\# {} (unparseable stored rdata)", rec.rdata.size());
    std::string out;
    for (size_t i = 0; i < ldns_rr_rd_count(rr.get()); ++i) {
        if (i) out += ' ';
        out += rdf_text(ldns_rr_rdf(rr.get(), i));
    }
    // ldns prints nothing for an unknown type with empty rdata; RFC 3597 says "\# 0".
    if (rec.rdata.empty() && type_to_text(rec.type).starts_with("TYPE")) out = "\\# 0";
    return out;
}

std::string type_to_text(std::uint16_t type) {
    CStrPtr s(ldns_rr_type2str(static_cast<ldns_rr_type>(type)));
    return s ? std::string(s.get()) : fmt::format("TYPE{}", type);
}

std::uint16_t type_from_text(std::string_view text) {
    if (text.empty()) return 0;
    std::string upper;
    for (char c : text) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (upper.rfind("TYPE", 0) == 0 && upper.size() > 4) {
        unsigned long v = 0;
        for (size_t i = 4; i < upper.size(); ++i) {
            if (!std::isdigit(static_cast<unsigned char>(upper[i]))) return 0;
            v = v * 10 + static_cast<unsigned long>(upper[i] - '0');
            if (v > 65535) return 0;
        }
        return static_cast<std::uint16_t>(v);
    }
    return static_cast<std::uint16_t>(ldns_get_rr_type_by_name(upper.c_str()));
}

Result<std::uint32_t> parse_ttl(std::string_view text, std::string_view what) {
    if (text.empty()) return Error{fmt::format("{}: empty TTL", what)};
    std::uint64_t total = 0, number = 0;
    bool have_digit = false, used_unit = false;
    for (char c : text) {
        if (c >= '0' && c <= '9') {
            number = number * 10 + static_cast<unsigned>(c - '0');
            have_digit = true;
            if (number > 0xffffffffull * 10) break;
            continue;
        }
        std::uint64_t unit = 0;
        switch (std::tolower(static_cast<unsigned char>(c))) {
            case 's': unit = 1; break;
            case 'm': unit = 60; break;
            case 'h': unit = 3600; break;
            case 'd': unit = 86400; break;
            case 'w': unit = 604800; break;
            default:
                return Error{fmt::format("{}: '{}' is not a TTL (seconds, or units such as 1h30m)", what, text)};
        }
        if (!have_digit) return Error{fmt::format("{}: '{}' is not a TTL (a unit needs a number)", what, text)};
        total += number * unit;
        number = 0;
        have_digit = false;
        used_unit = true;
        if (total > 0xffffffffull) break;
    }
    if (!used_unit && !have_digit) return Error{fmt::format("{}: '{}' is not a TTL", what, text)};
    total += number;
    if (total > kMaxTtl) {
        return Error{fmt::format("{}: TTL {} is out of range 0..{} (RFC 2181)", what, text, kMaxTtl)};
    }
    return static_cast<std::uint32_t>(total);
}

Result<Record> parse_record(std::string_view owner, std::uint32_t ttl, std::string_view type,
                            std::string_view rdata, std::string_view origin) {
    if (ttl > kMaxTtl) return Error{fmt::format("TTL {} is out of range 0..{}", ttl, kMaxTtl)};
    auto name = argument_name(owner, origin, "NAME");
    if (!name) return name.error();
    std::uint16_t t = type_from_text(type);
    if (t == 0) return Error{fmt::format("TYPE: unknown RR type '{}'", type)};
    std::string text = fmt::format("{} {} IN {} {}", *name, ttl, type_to_text(t), rdata);
    RdfPtr origin_rdf(ldns_dname_new_frm_str(std::string(origin).c_str()));
    ldns_rr* raw = nullptr;
    ldns_status st = ldns_rr_new_frm_str(&raw, text.c_str(), ttl, origin_rdf.get(), nullptr);
    RrPtr rr(raw);
    if (st != LDNS_STATUS_OK) {
        return Error{fmt::format("RDATA: cannot parse {} rdata '{}': {}", type_to_text(t), rdata,
                                 ldns_get_errorstr_by_id(st))};
    }
    auto rec = record_from_ldns(rr.get());
    if (!rec) return Error{fmt::format("RDATA: {}", rec.error().message)};
    return rec;
}

namespace {

// Offset of the fixed 20-octet tail (serial..minimum) of SOA rdata.
Result<std::size_t> soa_tail(const std::vector<std::uint8_t>& rdata) {
    std::size_t pos = 0;
    for (int name = 0; name < 2; ++name) {
        while (true) {
            if (pos >= rdata.size()) return Error{"SOA rdata is truncated"};
            std::uint8_t len = rdata[pos];
            if (len > 63) return Error{"SOA rdata holds a compressed or invalid name"};
            pos += 1u + len;
            if (len == 0) break;
        }
    }
    if (pos + 20 != rdata.size()) return Error{"SOA rdata has the wrong length"};
    return pos;
}

std::uint32_t get32(const std::vector<std::uint8_t>& d, std::size_t at) {
    return (std::uint32_t{d[at]} << 24) | (std::uint32_t{d[at + 1]} << 16) | (std::uint32_t{d[at + 2]} << 8) |
           std::uint32_t{d[at + 3]};
}

}  // namespace

Result<std::uint32_t> soa_serial(const std::vector<std::uint8_t>& rdata) {
    auto tail = soa_tail(rdata);
    if (!tail) return tail.error();
    return get32(rdata, *tail);
}

Result<std::uint32_t> soa_minimum(const std::vector<std::uint8_t>& rdata) {
    auto tail = soa_tail(rdata);
    if (!tail) return tail.error();
    return get32(rdata, *tail + 16);
}

Status set_soa_serial(std::vector<std::uint8_t>& rdata, std::uint32_t serial) {
    auto tail = soa_tail(rdata);
    if (!tail) return tail.error();
    for (int i = 0; i < 4; ++i) rdata[*tail + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(serial >> (24 - 8 * i));
    return {};
}

}  // namespace pooldns
