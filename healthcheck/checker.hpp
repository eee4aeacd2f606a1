// The health checker: one thread with its own libuv loop that probes every
// HealthTarget of the current snapshot on its schedule (interval, jitter that
// only ever fires early, timeout, a global cap on probes in flight), runs each
// slot's rise/fall machine, publishes flips to the HealthTable (DNS sees them
// on the next query; nothing is rebuilt), and hands state changes and last
// results to a writer that records them in SQLite off the loop.
#pragma once

#include "pooldns/health_table.hpp"
#include "pooldns/result.hpp"
#include "pooldns/snapshot.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

namespace pooldns::health {

using dns::HealthTarget;
using dns::Snapshot;
using dns::SnapshotBox;

struct CheckerOptions {
    std::string db_path;                 // where member_health / health_history / checker go; "" : nowhere
    // max_in_flight and jitter come from the snapshot's settings
    // (health_max_in_flight, health_jitter_percent) and follow edits.
    std::uint32_t flush_ms = 1000;       // state changes reach SQLite within this
    std::uint32_t result_refresh_ms = 2000;  // unchanged members' last result is rewritten this often
    std::uint32_t history_per_minute = 6;    // recorded flips per member per minute (flapping is summarised)
    std::uint32_t history_keep = 200;        // history rows kept per member
};

struct CheckerStats {
    std::atomic<std::uint64_t> probes{0};      // completed
    std::atomic<std::uint64_t> late{0};        // started later than their deadline
    std::atomic<std::uint64_t> flips{0};
    std::atomic<std::uint64_t> targets{0};
    std::atomic<std::uint64_t> max_late_us{0};
    std::atomic<std::uint64_t> heartbeat_ms{0};  // uv_now of the loop's last housekeeping tick
};

class Checker {
public:
    Checker(SnapshotBox& box, std::shared_ptr<HealthTable> health, CheckerOptions options);
    ~Checker();
    Checker(const Checker&) = delete;
    Checker& operator=(const Checker&) = delete;

    Status start();
    void stop();  // from any thread; joins
    const CheckerStats& stats() const { return stats_; }

    struct Loop;  // the loop thread's state (checker.cpp)

private:
    SnapshotBox& box_;
    std::shared_ptr<HealthTable> health_;
    CheckerOptions options_;
    CheckerStats stats_;
    std::unique_ptr<Loop> loop_;
    std::thread thread_;
};

}  // namespace pooldns::health
