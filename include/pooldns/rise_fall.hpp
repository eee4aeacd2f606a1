// The rise/fall state machine of one health slot: `fall` consecutive failed
// probes take an up member down, `rise` consecutive good ones bring it back.
// With no state to start from (a member never probed, nothing in SQLite),
// the first result decides at once. Pure.
#pragma once

#include <cstdint>

namespace pooldns {

class RiseFall {
public:
    // `known`: `up` is a recorded state (SQLite, or an earlier result) that
    // probes must overturn by rise/fall; otherwise the first result decides.
    RiseFall(bool up, bool known) : up_(up), known_(known) {}

    // Records one probe result; true when the state flips.
    bool record(bool alive, std::uint32_t rise, std::uint32_t fall) {
        if (!known_) {
            known_ = true;
            streak_ = 0;
            bool flipped = alive != up_;
            up_ = alive;
            return flipped;
        }
        if (alive == up_) {
            streak_ = 0;
            return false;
        }
        if (++streak_ >= (up_ ? fall : rise)) {
            up_ = alive;
            streak_ = 0;
            return true;
        }
        return false;
    }

    bool up() const { return up_; }
    bool known() const { return known_; }
    std::uint32_t streak() const { return streak_; }  // results so far against the current state

private:
    bool up_;
    bool known_;
    std::uint32_t streak_ = 0;
};

}  // namespace pooldns
