// Which members of a pool an answer lists, and in what order: a pure function
// of the members' weights, which of them are up, the pool's policy and a key
// that changes per query (DNS: a per-worker counter; the VIP: its own key).
// No allocation; the caller supplies the output array.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace pooldns {

enum class AllDown : std::uint8_t { All, None, Backup };

// No default member initializers: answer() keeps an array of these on the
// stack per query, and it must cost nothing until filled.
struct SelectMember {
    std::uint16_t weight;
    bool up;
};

struct Selection {
    std::uint16_t count = 0;     // indices written to `order`
    bool degraded = false;       // some member is down (the pool may shorten its TTL)
    bool use_backup = false;     // every member is down and the policy names a backup pool
};

// Up members, rotated so that over consecutive keys each is listed first in
// proportion to its weight; at most `max_records` (0: no cap). When none is up:
// `All` lists every member, `None` lists nothing, `Backup` asks for the backup.
inline Selection select_members(std::span<const SelectMember> members, std::uint16_t max_records, AllDown policy,
                                std::uint64_t key, std::span<std::uint16_t> order) {
    Selection s;
    std::size_t n = members.size();
    if (n == 0 || order.size() < n) return s;
    std::size_t up = 0;
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (members[i].up) {
            order[up++] = static_cast<std::uint16_t>(i);
            total += members[i].weight;
        }
    }
    s.degraded = up < n;
    if (up == 0) {
        if (policy == AllDown::None) return s;
        if (policy == AllDown::Backup) {
            s.use_backup = true;
            return s;
        }
        for (std::size_t i = 0; i < n; ++i) {
            order[i] = static_cast<std::uint16_t>(i);
            total += members[i].weight;
        }
        up = n;
    }
    // The first member: the one whose weight interval holds key mod total.
    std::uint64_t r = total ? key % total : 0;
    std::size_t first = 0;
    for (std::size_t k = 0; k < up; ++k) {
        std::uint64_t w = members[order[k]].weight;
        if (r < w) {
            first = k;
            break;
        }
        r -= w;
    }
    std::size_t count = max_records && max_records < up ? max_records : up;
    // Rotate order[0, up) left by `first` in place (three reversals), then cut.
    auto reverse = [&](std::size_t a, std::size_t b) {
        while (a + 1 < b) {
            std::uint16_t t = order[a];
            order[a] = order[b - 1];
            order[b - 1] = t;
            ++a;
            --b;
        }
    };
    reverse(0, first);
    reverse(first, up);
    reverse(0, up);
    s.count = static_cast<std::uint16_t>(count);
    return s;
}

}  // namespace pooldns
