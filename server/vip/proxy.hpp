// The VIP: the HTTP(S) listeners of every row in `vips`, on one thread with
// its own libuv loop. It follows the published Snapshot (listeners opened,
// changed and closed within the reloader's poll plus 100 ms), balances each
// request over the members of the VIP's pool that are enabled and up in the
// process-wide HealthTable (the same truth the DNS answers use), and writes
// its counters to SQLite about once a second for `pooldnsctl status`.
#pragma once

#include "pooldns/health_table.hpp"
#include "pooldns/result.hpp"
#include "pooldns/snapshot.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace pooldns::vip {

struct ProxyStats {
    std::atomic<std::uint64_t> connections{0};
    std::atomic<std::uint64_t> requests{0};
};

class Proxy {
public:
    Proxy(dns::SnapshotBox& box, std::shared_ptr<HealthTable> health, std::string db_path);
    ~Proxy();
    Proxy(const Proxy&) = delete;
    Proxy& operator=(const Proxy&) = delete;

    // Starts the thread; it opens the listeners of the current snapshot.
    Status start();
    // Closes every listener and connection and joins the thread.
    void stop();
    const ProxyStats& stats() const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace pooldns::vip
