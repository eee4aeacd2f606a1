// The HealthTable: one byte of published state per health slot, written by
// the checker and read lock-free by every DNS worker (and the VIP). A slot is
// one (probe address, check, rise, fall); every pool member probed that way
// reads the same slot, so a probe serves any number of pools. Slots live at
// stable addresses for the life of the process: snapshots built later find
// the same slot by its key, so a rebuild never loses or resets health.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pooldns {

enum HealthBits : std::uint8_t {
    kHealthUp = 1,      // answers may list the member
    kHealthProbed = 2,  // a probe result arrived in this process
    kHealthRecorded = 4,  // the state came from SQLite (a restart): probes overturn it by rise/fall
};

class HealthTable {
public:
    static constexpr std::uint32_t kNoSlot = 0xffffffffu;

    HealthTable();
    ~HealthTable();
    HealthTable(const HealthTable&) = delete;
    HealthTable& operator=(const HealthTable&) = delete;

    // The slot of a key, created with `initial` state when new. Called while
    // building snapshots (takes a mutex); never on the query path.
    std::uint32_t slot(std::string_view key, std::uint8_t initial);
    std::uint32_t size() const { return size_.load(std::memory_order_acquire); }

    // Query path: one relaxed load (a flip is seen by the next query on any core).
    std::uint8_t state(std::uint32_t slot) const noexcept {
        const auto* chunk = chunks_[slot / kChunk].load(std::memory_order_acquire);
        return chunk[slot % kChunk].load(std::memory_order_relaxed);
    }
    bool up(std::uint32_t slot) const noexcept { return slot == kNoSlot || (state(slot) & kHealthUp) != 0; }
    void set(std::uint32_t slot, std::uint8_t state) noexcept {
        auto* chunk = chunks_[slot / kChunk].load(std::memory_order_acquire);
        chunk[slot % kChunk].store(state, std::memory_order_relaxed);
        flips_.fetch_add(1, std::memory_order_relaxed);
    }
    std::uint64_t flips() const noexcept { return flips_.load(std::memory_order_relaxed); }

private:
    static constexpr std::uint32_t kChunk = 4096;
    static constexpr std::uint32_t kMaxChunks = 1024;  // 4M slots
    std::array<std::atomic<std::atomic<std::uint8_t>*>, kMaxChunks> chunks_{};
    std::atomic<std::uint32_t> size_{0};
    std::atomic<std::uint64_t> flips_{0};
    std::mutex mutex_;
    std::unordered_map<std::string, std::uint32_t> keys_;
    std::vector<std::unique_ptr<std::atomic<std::uint8_t>[]>> owned_;  // what chunks_ points at
};

}  // namespace pooldns
