// The HealthTable's slot registry (see health_table.hpp).
#include "pooldns/health_table.hpp"

#include <stdexcept>

namespace pooldns {

HealthTable::HealthTable() = default;

HealthTable::~HealthTable() = default;

std::uint32_t HealthTable::slot(std::string_view key, std::uint8_t initial) {
    std::lock_guard lock(mutex_);
    if (auto it = keys_.find(std::string(key)); it != keys_.end()) return it->second;
    std::uint32_t id = size_.load(std::memory_order_relaxed);
    if (id / kChunk >= kMaxChunks) throw std::length_error("health table full");
    if (id % kChunk == 0) {
        // Chunks are allocated once and never move: readers index them without a lock.
        auto chunk = std::make_unique<std::atomic<std::uint8_t>[]>(kChunk);
        for (std::uint32_t i = 0; i < kChunk; ++i) chunk[i].store(0, std::memory_order_relaxed);
        chunks_[id / kChunk].store(chunk.get(), std::memory_order_release);
        owned_.push_back(std::move(chunk));
    }
    chunks_[id / kChunk].load(std::memory_order_relaxed)[id % kChunk].store(initial, std::memory_order_relaxed);
    keys_.emplace(std::string(key), id);
    size_.store(id + 1, std::memory_order_release);
    return id;
}

}  // namespace pooldns
