// The VIP's backend choice (pooldns/backend_pick.hpp): least outstanding with
// rotating ties, source affinity by weighted rendezvous hashing, cookie
// persistence and its member token. Inputs are deterministic: client addresses
// are IPv4-mapped ranges and a splitmix sequence seeded per case.
#include "pooldns/backend_pick.hpp"

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

using namespace pooldns::vip;

namespace {

using Address = std::array<std::uint8_t, 16>;

Address mapped_v4(std::uint32_t v4) {
    Address a{};
    a[10] = 0xff;
    a[11] = 0xff;
    a[12] = static_cast<std::uint8_t>(v4 >> 24);
    a[13] = static_cast<std::uint8_t>(v4 >> 16);
    a[14] = static_cast<std::uint8_t>(v4 >> 8);
    a[15] = static_cast<std::uint8_t>(v4);
    return a;
}

const Address kClient = mapped_v4(0xc0000207);  // 192.0.2.7

struct Random {
    std::uint64_t state;
    std::uint64_t next() {
        std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
};

Pick pick(const std::vector<Candidate>& c, Persist persist, std::optional<std::uint64_t> cookie = std::nullopt,
          std::uint64_t key = 0, const Address& client = kClient) {
    return pick_backend(c, persist, std::span<const std::uint8_t, 16>(client), cookie, key);
}

// Five equal members (ids 101..105), all up and idle.
std::vector<Candidate> five_members() {
    std::vector<Candidate> c;
    for (std::uint64_t id = 101; id <= 105; ++id) c.push_back({id, 1, true, 0});
    return c;
}

}  // namespace

TEST_CASE("least outstanding: the up member with the fewest outstanding requests is picked") {
    std::vector<Candidate> c{{1, 1, true, 7}, {2, 1, true, 3}, {3, 1, true, 5}};
    for (std::uint64_t key = 0; key < 10; ++key) {
        Pick p = pick(c, Persist::None, std::nullopt, key);
        CHECK(p.found);
        CHECK(p.index == 1);
        CHECK_FALSE(p.set_cookie);
    }
}

TEST_CASE("least outstanding: fewer outstanding wins over a higher weight") {
    std::vector<Candidate> c{{1, 100, true, 4}, {2, 1, true, 3}};
    CHECK(pick(c, Persist::None).index == 1);
}

TEST_CASE("least outstanding: among equal outstanding the higher weight wins") {
    std::vector<Candidate> c{{1, 1, true, 2}, {2, 5, true, 2}, {3, 3, true, 2}, {4, 9, true, 6}};
    for (std::uint64_t key = 0; key < 10; ++key) CHECK(pick(c, Persist::None, std::nullopt, key).index == 1);
}

TEST_CASE("least outstanding: ties rotate with the key, each tied member once per cycle") {
    std::vector<Candidate> c{{1, 2, true, 1}, {2, 2, false, 0}, {3, 2, true, 1}, {4, 1, true, 1}, {5, 2, true, 1}};
    // Tied: indices 0, 2, 4 (index 1 is down, index 3 has a lower weight).
    std::vector<std::size_t> seen;
    for (std::uint64_t key = 0; key < 6; ++key) seen.push_back(pick(c, Persist::None, std::nullopt, key).index);
    CHECK(seen == std::vector<std::size_t>{0, 2, 4, 0, 2, 4});
}

TEST_CASE("down members are never picked, under any policy") {
    std::vector<Candidate> c{{1, 1000, false, 0}, {2, 1, true, 50}, {3, 1000, false, 0}};
    Random rnd{1};
    for (int i = 0; i < 1000; ++i) {
        Address a{};
        for (auto& b : a) b = static_cast<std::uint8_t>(rnd.next());
        for (Persist persist : {Persist::None, Persist::Source, Persist::Cookie}) {
            Pick p = pick(c, persist, std::optional<std::uint64_t>{1 + i % 3}, rnd.next(), a);
            CHECK(p.found);
            CHECK(p.index == 1);
        }
    }
}

TEST_CASE("no member up: not found, under any policy") {
    std::vector<Candidate> down{{1, 1, false, 0}, {2, 1, false, 0}};
    std::vector<Candidate> empty;
    for (Persist persist : {Persist::None, Persist::Source, Persist::Cookie}) {
        for (const auto* c : {&down, &empty}) {
            Pick p = pick(*c, persist, std::optional<std::uint64_t>{1});
            CHECK_FALSE(p.found);
            CHECK_FALSE(p.set_cookie);
        }
    }
}

TEST_CASE("weight 0 counts as 1") {
    std::vector<Candidate> c{{1, 0, true, 0}, {2, 1, true, 0}};
    CHECK(pick(c, Persist::None, std::nullopt, 0).index == 0);
    CHECK(pick(c, Persist::None, std::nullopt, 1).index == 1);
    int first = 0;
    for (std::uint32_t i = 0; i < 10000; ++i)
        first += pick(c, Persist::Source, {}, 0, mapped_v4(0x0a000000 + i)).index == 0;
    CHECK(first > 4500);
    CHECK(first < 5500);
}

TEST_CASE("source: the same client gets the same member whatever the load, key and order") {
    auto c = five_members();
    std::size_t first = pick(c, Persist::Source).index;
    std::uint64_t id = c[first].id;
    Random rnd{2};
    for (int i = 0; i < 100; ++i) {
        for (auto& m : c) m.outstanding = static_cast<std::uint32_t>(rnd.next() % 100);
        std::swap(c[rnd.next() % 5], c[rnd.next() % 5]);
        Pick p = pick(c, Persist::Source, std::nullopt, rnd.next());
        CHECK(p.found);
        CHECK(c[p.index].id == id);
        CHECK_FALSE(p.set_cookie);
    }
}

TEST_CASE("source: a member going down moves only its clients (about 1/n), and they return when it comes back") {
    auto c = five_members();
    constexpr std::uint32_t kClients = 10000;
    std::vector<std::size_t> before(kClients);
    for (std::uint32_t i = 0; i < kClients; ++i)
        before[i] = pick(c, Persist::Source, {}, 0, mapped_v4(0x0a010000 + i)).index;

    c[2].up = false;
    std::uint32_t moved = 0;
    for (std::uint32_t i = 0; i < kClients; ++i) {
        Pick p = pick(c, Persist::Source, {}, 0, mapped_v4(0x0a010000 + i));
        REQUIRE(p.found);
        CHECK(p.index != 2);
        if (p.index != before[i]) {
            ++moved;
            CHECK(before[i] == 2);  // only the down member's clients move
        } else {
            CHECK(before[i] != 2);
        }
    }
    double fraction = static_cast<double>(moved) / kClients;
    CHECK(fraction > 0.17);  // 1/5, with about 7 standard deviations either side
    CHECK(fraction < 0.23);

    c[2].up = true;
    for (std::uint32_t i = 0; i < kClients; ++i) {
        CHECK(pick(c, Persist::Source, {}, 0, mapped_v4(0x0a010000 + i)).index == before[i]);
    }
}

TEST_CASE("source: a member coming up takes clients only in proportion to its weight") {
    std::vector<Candidate> c{{1, 1, true, 0}, {2, 1, true, 0}, {3, 2, false, 0}};
    constexpr std::uint32_t kClients = 10000;
    std::vector<std::size_t> before(kClients);
    for (std::uint32_t i = 0; i < kClients; ++i)
        before[i] = pick(c, Persist::Source, {}, 0, mapped_v4(0xac100000 + i)).index;
    c[2].up = true;
    std::uint32_t moved = 0;
    for (std::uint32_t i = 0; i < kClients; ++i) {
        std::size_t now = pick(c, Persist::Source, {}, 0, mapped_v4(0xac100000 + i)).index;
        if (now != before[i]) {
            ++moved;
            CHECK(now == 2);  // nobody moves between the members that stayed up
        }
    }
    double fraction = static_cast<double>(moved) / kClients;
    CHECK(fraction > 0.47);  // weight 2 of 4
    CHECK(fraction < 0.53);
}

TEST_CASE("source: over 100k clients each member's share is within 1 point of its weight's share") {
    std::vector<Candidate> c{{11, 1, true, 0}, {12, 2, true, 0}, {13, 3, true, 0}, {14, 4, true, 0}};
    constexpr std::uint32_t kClients = 100000;
    std::array<std::uint32_t, 4> count{};
    Random rnd{3};
    for (std::uint32_t i = 0; i < kClients; ++i) {
        // Half sequential IPv4-mapped, half random IPv6: both must spread.
        Address a = mapped_v4(0xc0a80000 + i);
        if (i % 2) {
            std::uint64_t hi = rnd.next(), lo = rnd.next();
            for (std::size_t b = 0; b < 8; ++b) {
                a[b] = static_cast<std::uint8_t>(hi >> (8 * b));
                a[8 + b] = static_cast<std::uint8_t>(lo >> (8 * b));
            }
        }
        Pick p = pick(c, Persist::Source, {}, 0, a);
        REQUIRE(p.found);
        ++count[p.index];
    }
    for (std::size_t k = 0; k < 4; ++k) {
        double share = static_cast<double>(count[k]) / kClients;
        double expected = static_cast<double>(k + 1) / 10;
        CAPTURE(k);
        CAPTURE(share);
        CHECK(share > expected - 0.01);
        CHECK(share < expected + 0.01);
    }
}

TEST_CASE("cookie: a cookie naming an up member sticks, even to the busiest member") {
    std::vector<Candidate> c{{7, 1, true, 0}, {8, 1, true, 90}, {9, 1, true, 0}};
    for (std::uint64_t key = 0; key < 5; ++key) {
        Pick p = pick(c, Persist::Cookie, std::optional<std::uint64_t>{8}, key);
        CHECK(p.found);
        CHECK(p.index == 1);
        CHECK_FALSE(p.set_cookie);
    }
}

TEST_CASE(
    "cookie: a cookie naming a down, drained or unknown member falls back to least outstanding and sets a new cookie") {
    // Drained members reach the pick as not up, like down ones.
    std::vector<Candidate> c{{7, 1, false, 0}, {8, 1, true, 9}, {9, 1, true, 2}};
    for (std::uint64_t named : {7ULL, 42ULL}) {
        CAPTURE(named);
        Pick p = pick(c, Persist::Cookie, named);
        CHECK(p.found);
        CHECK(p.index == 2);
        CHECK(p.set_cookie);
    }
}

TEST_CASE("cookie: a request without a (valid) cookie gets a fresh pick and a cookie") {
    std::vector<Candidate> c{{7, 1, true, 4}, {8, 1, true, 1}};
    Pick p = pick(c, Persist::Cookie, std::nullopt);
    CHECK(p.found);
    CHECK(p.index == 1);
    CHECK(p.set_cookie);
}

TEST_CASE("none and source ignore the cookie and never ask to set one") {
    std::vector<Candidate> c{{7, 1, true, 4}, {8, 1, true, 1}};
    Pick none = pick(c, Persist::None, std::optional<std::uint64_t>{7});
    CHECK(none.index == 1);
    CHECK_FALSE(none.set_cookie);
    CHECK_FALSE(pick(c, Persist::Source, std::optional<std::uint64_t>{7}).set_cookie);
}

TEST_CASE("token: fixed length, URL-safe characters, and it decodes to the member it names") {
    Random rnd{4};
    std::vector<std::uint64_t> ids{0, 1, 255, 256, 0x7fffffffffffffffULL, 0xffffffffffffffffULL};
    for (int i = 0; i < 1000; ++i) ids.push_back(rnd.next());
    for (std::uint64_t seed : {0ULL, 1ULL, 0x0123456789abcdefULL}) {
        for (std::uint64_t id : ids) {
            std::string t = encode_member_token(id, seed);
            CHECK(t.size() == kMemberTokenSize);
            for (char ch : t) {
                bool safe = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                            ch == '-' || ch == '_';
                CHECK(safe);
            }
            auto back = decode_member_token(t, seed);
            REQUIRE(back.has_value());
            CHECK(*back == id);
        }
    }
}

TEST_CASE("token: malformed, truncated, padded or forged tokens are rejected") {
    constexpr std::uint64_t seed = 0x5eed;
    const std::string good = encode_member_token(42, seed);
    REQUIRE(decode_member_token(good, seed) == std::optional<std::uint64_t>{42});

    const std::vector<std::string> bad{
        "",
        good.substr(0, kMemberTokenSize - 1),  // truncated
        good + "A",                            // trailing byte
        good.substr(1),                        // shifted
        good + "==",                           // padding
        std::string(kMemberTokenSize, 'A'),    // id 0, tag 0
        std::string(kMemberTokenSize, '='),
        std::string(kMemberTokenSize, '\0'),
        "AAAAAAAAAAAAAAAAAAAA+/",  // standard base64 alphabet
        good.substr(0, 10) + " " + good.substr(11),
        encode_member_token(42, seed + 1),                              // another installation's seed
        encode_member_token(43, seed).substr(0, 11) + good.substr(11),  // one token's id, another's tag
    };
    for (const auto& t : bad) {
        CAPTURE(t);
        CHECK_FALSE(decode_member_token(t, seed).has_value());
    }
    CHECK_FALSE(decode_member_token(good, seed + 1).has_value());
}

TEST_CASE("token: changing any one character of a valid token is rejected") {
    constexpr std::uint64_t seed = 99;
    const std::string good = encode_member_token(0x1122334455667788ULL, seed);
    for (std::size_t i = 0; i < good.size(); ++i) {
        for (int ch = 0; ch < 256; ++ch) {
            if (static_cast<char>(ch) == good[i]) continue;
            std::string t = good;
            t[i] = static_cast<char>(ch);
            CAPTURE(i);
            CAPTURE(ch);
            CHECK_FALSE(decode_member_token(t, seed).has_value());
        }
    }
}

TEST_CASE("token: random bytes and random alphabet strings are rejected without crashing") {
    constexpr std::uint64_t seed = 7;
    Random rnd{5};
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::size_t accepted = 0;
    for (int i = 0; i < 100000; ++i) {
        std::size_t len = i % 2 ? kMemberTokenSize : static_cast<std::size_t>(rnd.next() % 40);
        // Exact-size heap copy: a read past the view shows under ASan.
        std::vector<char> bytes(len);
        for (auto& b : bytes) b = i % 4 == 1 ? kAlphabet[rnd.next() % 64] : static_cast<char>(rnd.next());
        accepted += decode_member_token(std::string_view(bytes.data(), bytes.size()), seed).has_value();
    }
    CHECK(accepted == 0);
}

TEST_CASE("token: the tag is SipHash-2-4 (reference vectors)") {
    std::array<std::uint8_t, 15> msg{};
    for (std::size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<std::uint8_t>(i);
    constexpr std::uint64_t k0 = 0x0706050403020100ULL, k1 = 0x0f0e0d0c0b0a0908ULL;
    CHECK(pooldns::vip::detail::siphash24(k0, k1, {}) == 0x726fdb47dd0e0e31ULL);
    CHECK(pooldns::vip::detail::siphash24(k0, k1, msg) == 0xa129ca6149be45e5ULL);
}
