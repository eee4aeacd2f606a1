// Which backend the VIP sends a request to: a pure function of the pool's
// candidates (up flag, weight, outstanding requests), the VIP's persistence
// mode, the client address, the member a persistence cookie names, and a key
// that rotates ties. No clock, no allocation, no std::hash: the same inputs give
// the same member on every build and every worker. Also the opaque cookie token
// that names a member (keyed with a per-installation seed so clients cannot
// steer themselves to a member of their choice by editing it).
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace pooldns::vip {

enum class Persist : std::uint8_t { None, Source, Cookie };

// One member of the VIP's pool. `up` means eligible for new requests: the
// server is enabled (not drained or blocked) and the health table says up.
// Weights are 1..1000 in the store; 0 is read as 1.
struct Candidate {
    std::uint64_t id;  // stable across reloads (the server id): what cookies and hashes name
    std::uint16_t weight;
    bool up;
    std::uint32_t outstanding;  // requests sent to it and not yet answered
};

struct Pick {
    std::size_t index = 0;    // into the candidates; meaningful only when found
    bool found = false;       // false: no member is up (the VIP answers 503)
    bool set_cookie = false;  // Persist::Cookie: the response must carry a cookie naming `index`
};

namespace detail {

constexpr std::uint64_t rotl(std::uint64_t x, int b) {
    return (x << b) | (x >> (64 - b));
}

// The splitmix64 finalizer: a bijection with full avalanche.
constexpr std::uint64_t mix64(std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

// Explicit little-endian load, so hashes do not depend on the host's byte order.
constexpr std::uint64_t load_le64(const std::uint8_t* p, std::size_t n = 8) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
    return v;
}

// The client's half of the rendezvous hash, computed once per pick.
constexpr std::uint64_t client_hash(std::span<const std::uint8_t, 16> client) {
    std::uint64_t h = mix64(load_le64(client.data()) + 0x9e3779b97f4a7c15ULL);
    return mix64(h ^ load_le64(client.data() + 8) ^ 0x2545f4914f6cdd1dULL);
}

constexpr std::uint64_t affinity_hash(std::uint64_t client, std::uint64_t member_id) {
    return mix64(client ^ mix64(member_id ^ 0xd6e8feb86659fd93ULL));
}

// SipHash-2-4 (Aumasson & Bernstein): a keyed PRF, so a tag cannot be computed
// without the key the way it could for an invertible mix.
constexpr std::uint64_t siphash24(std::uint64_t k0, std::uint64_t k1, std::span<const std::uint8_t> m) {
    std::uint64_t v0 = k0 ^ 0x736f6d6570736575ULL;
    std::uint64_t v1 = k1 ^ 0x646f72616e646f6dULL;
    std::uint64_t v2 = k0 ^ 0x6c7967656e657261ULL;
    std::uint64_t v3 = k1 ^ 0x7465646279746573ULL;
    auto round = [&] {
        v0 += v1;
        v1 = rotl(v1, 13);
        v1 ^= v0;
        v0 = rotl(v0, 32);
        v2 += v3;
        v3 = rotl(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = rotl(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = rotl(v1, 17);
        v1 ^= v2;
        v2 = rotl(v2, 32);
    };
    std::size_t whole = m.size() / 8 * 8;
    for (std::size_t i = 0; i < whole; i += 8) {
        std::uint64_t b = load_le64(m.data() + i);
        v3 ^= b;
        round();
        round();
        v0 ^= b;
    }
    std::uint64_t last = (static_cast<std::uint64_t>(m.size()) << 56) | load_le64(m.data() + whole, m.size() - whole);
    v3 ^= last;
    round();
    round();
    v0 ^= last;
    v2 ^= 0xff;
    for (int i = 0; i < 4; ++i) round();
    return v0 ^ v1 ^ v2 ^ v3;
}

constexpr std::uint64_t token_tag(std::uint64_t member_id, std::uint64_t secret_seed) {
    std::array<std::uint8_t, 8> id{};
    for (std::size_t i = 0; i < 8; ++i) id[i] = static_cast<std::uint8_t>(member_id >> (8 * i));
    return siphash24(secret_seed, mix64(secret_seed ^ 0x6b43a9b5d1e2f307ULL), id);
}

inline constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr int base64url_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

constexpr std::uint32_t weight_of(const Candidate& c) {
    return c.weight ? c.weight : 1u;
}

}  // namespace detail

// Characters of every token: 16 octets (member id, tag) in unpadded base64url.
inline constexpr std::size_t kMemberTokenSize = 22;

// Least outstanding requests among the up members; among equals the highest
// weight; among those the (tie_key mod count)-th, so that a counter for a key
// spreads an idle pool round-robin instead of always loading the first member.
inline Pick pick_least_outstanding(std::span<const Candidate> candidates, std::uint64_t tie_key) {
    Pick p;
    std::uint32_t best_out = 0, best_w = 0;
    std::uint64_t ties = 0;
    for (const auto& c : candidates) {
        if (!c.up) continue;
        std::uint32_t w = detail::weight_of(c);
        if (ties == 0 || c.outstanding < best_out || (c.outstanding == best_out && w > best_w)) {
            best_out = c.outstanding;
            best_w = w;
            ties = 1;
        } else if (c.outstanding == best_out && w == best_w) {
            ++ties;
        }
    }
    if (ties == 0) return p;
    std::uint64_t k = tie_key % ties;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        const auto& c = candidates[i];
        if (c.up && c.outstanding == best_out && detail::weight_of(c) == best_w && k-- == 0) {
            p.index = i;
            p.found = true;
            break;
        }
    }
    return p;
}

// Weighted rendezvous hashing: every up member scores -weight / ln(u), u the
// (client, member id) hash as a uniform in (0, 1); the highest wins. A client's
// member depends only on that member's score and the others', so a member going
// down or up moves only the clients whose winner it is or becomes, and each
// member wins in proportion to its weight.
inline Pick pick_by_source(std::span<const Candidate> candidates, std::span<const std::uint8_t, 16> client) {
    Pick p;
    std::uint64_t ch = detail::client_hash(client);
    double best = 0;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        const auto& c = candidates[i];
        if (!c.up) continue;
        std::uint64_t h = detail::affinity_hash(ch, c.id);
        double u = (static_cast<double>(h >> 11) + 0.5) * 0x1p-53;  // never 0 or 1: ln(u) is finite and < 0
        double score = static_cast<double>(detail::weight_of(c)) / -std::log(u);
        // Exact ties go to the higher id, so the answer does not depend on the order of the candidates.
        if (!p.found || score > best || (score == best && c.id > candidates[p.index].id)) {
            best = score;
            p.index = i;
            p.found = true;
        }
    }
    return p;
}

// The member for one request. Cookie: the member `cookie_member` names if it is
// up (no new cookie); otherwise (no cookie, a malformed one the caller could not
// decode, a member down, drained or gone) a fresh least-outstanding pick that the
// response must name in a new cookie.
inline Pick pick_backend(std::span<const Candidate> candidates, Persist persist,
                         std::span<const std::uint8_t, 16> client, std::optional<std::uint64_t> cookie_member,
                         std::uint64_t tie_key) {
    switch (persist) {
        case Persist::Source:
            return pick_by_source(candidates, client);
        case Persist::Cookie: {
            if (cookie_member) {
                for (std::size_t i = 0; i < candidates.size(); ++i) {
                    if (candidates[i].up && candidates[i].id == *cookie_member) return Pick{i, true, false};
                }
            }
            Pick p = pick_least_outstanding(candidates, tie_key);
            p.set_cookie = p.found;
            return p;
        }
        case Persist::None:
            break;
    }
    return pick_least_outstanding(candidates, tie_key);
}

// The cookie value naming a member: always kMemberTokenSize characters of
// [A-Za-z0-9_-] (safe in a cookie and a URL without quoting). The id is readable
// by whoever holds the cookie; the tag only stops forging a different one.
inline std::string encode_member_token(std::uint64_t member_id, std::uint64_t secret_seed) {
    std::array<std::uint8_t, 16> raw{};
    std::uint64_t tag = detail::token_tag(member_id, secret_seed);
    for (std::size_t i = 0; i < 8; ++i) {
        raw[i] = static_cast<std::uint8_t>(member_id >> (8 * i));
        raw[8 + i] = static_cast<std::uint8_t>(tag >> (8 * i));
    }
    std::string out(kMemberTokenSize, '\0');
    std::size_t o = 0;
    for (std::size_t i = 0; i < 15; i += 3) {
        std::uint32_t v = (std::uint32_t{raw[i]} << 16) | (std::uint32_t{raw[i + 1]} << 8) | raw[i + 2];
        out[o++] = detail::kBase64Url[(v >> 18) & 63];
        out[o++] = detail::kBase64Url[(v >> 12) & 63];
        out[o++] = detail::kBase64Url[(v >> 6) & 63];
        out[o++] = detail::kBase64Url[v & 63];
    }
    out[o++] = detail::kBase64Url[raw[15] >> 2];
    out[o++] = detail::kBase64Url[(raw[15] & 3) << 4];
    return out;
}

// The member a token names, or nullopt for anything that encode_member_token
// did not produce with this seed: wrong length, a character outside the
// alphabet, non-zero padding bits (one spelling per token), or a tag mismatch.
// Reads only within `token`; never throws.
inline std::optional<std::uint64_t> decode_member_token(std::string_view token, std::uint64_t secret_seed) {
    if (token.size() != kMemberTokenSize) return std::nullopt;
    std::array<int, kMemberTokenSize> v{};
    for (std::size_t i = 0; i < kMemberTokenSize; ++i) {
        v[i] = detail::base64url_value(token[i]);
        if (v[i] < 0) return std::nullopt;
    }
    if (v[21] & 15) return std::nullopt;
    std::array<std::uint8_t, 16> raw{};
    std::size_t o = 0;
    for (std::size_t i = 0; i < 20; i += 4) {
        std::uint32_t x = (static_cast<std::uint32_t>(v[i]) << 18) | (static_cast<std::uint32_t>(v[i + 1]) << 12) |
                          (static_cast<std::uint32_t>(v[i + 2]) << 6) | static_cast<std::uint32_t>(v[i + 3]);
        raw[o++] = static_cast<std::uint8_t>(x >> 16);
        raw[o++] = static_cast<std::uint8_t>(x >> 8);
        raw[o++] = static_cast<std::uint8_t>(x);
    }
    raw[15] = static_cast<std::uint8_t>((v[20] << 2) | (v[21] >> 4));
    std::uint64_t id = detail::load_le64(raw.data());
    std::uint64_t tag = detail::load_le64(raw.data() + 8);
    if (tag != detail::token_tag(id, secret_seed)) return std::nullopt;
    return id;
}

}  // namespace pooldns::vip
