// Domain names in wire form: presentation text to wire, lower-casing, label
// walking and hashing. Used by the snapshot builder and the query path, so
// nothing here allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace pooldns {

inline constexpr std::size_t kMaxNameLength = 255;
inline constexpr std::size_t kMaxLabels = 128;

// Converts an absolute presentation-form name ("www.example.com.", escapes
// \. \\ \DDD allowed) into wire form. Returns the wire length, or 0 on error.
std::size_t name_to_wire(std::string_view text, std::uint8_t (&out)[kMaxNameLength]);

inline std::uint8_t ascii_lower(std::uint8_t c) { return (c >= 'A' && c <= 'Z') ? static_cast<std::uint8_t>(c + 32) : c; }

// Lower-cases a wire name in place (label length octets are never letters).
void lower_wire_name(std::span<std::uint8_t> name);

// Length of the uncompressed wire name starting at data[0], or 0 if it runs past
// the end, has a label over 63 or a compression pointer, or exceeds 255 octets.
std::size_t wire_name_length(std::span<const std::uint8_t> data);

// Presentation form of an uncompressed wire name ("www.example.com."), escaped
// so that the zone-file reader reads it back as the same name.
std::string wire_to_text(std::span<const std::uint8_t> name);

// A fast hash of short byte strings (names): 8 octets at a time, multiply and
// fold. Only used inside one process, so it needs no stability across builds.
inline std::uint64_t hash_bytes(const std::uint8_t* p, std::size_t n) {
    constexpr std::uint64_t k = 0x9e3779b97f4a7c15ull;
    std::uint64_t h = n * k;
    while (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        h = (h ^ w) * k;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    std::uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = (h ^ w) * k;
    return h ^ (h >> 32);
}

}  // namespace pooldns
