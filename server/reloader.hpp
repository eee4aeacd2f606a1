// The reloader: notices committed edits (PRAGMA data_version, polled), builds
// a new Snapshot on libuv's thread pool (off the query loops) and publishes it.
// A database it cannot read leaves the last good snapshot serving.
#pragma once

#include "dns/server.hpp"
#include "notify.hpp"
#include "pooldns/store.hpp"

#include <uv.h>

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

namespace pooldns {

class Reloader {
public:
    // Snapshots take their pools' health slots from `health` (shared with the checker).
    Reloader(uv_loop_t* loop, std::string db_path, dns::SnapshotBox& box, std::shared_ptr<HealthTable> health);
    // Opens the database and publishes the first snapshot; errors are fatal at start-up.
    Status start();
    void force();  // SIGHUP
    void stop();

private:
    void poll();
    void begin_build(const char* why);
    Status open_db();
    std::int64_t generation() const;

    uv_loop_t* loop_;
    std::string path_;
    dns::SnapshotBox& box_;
    std::shared_ptr<HealthTable> health_;
    Notifier notifier_;
    std::optional<Database> db_;
    std::int64_t data_version_ = -1;
    std::int64_t generation_ = -1;  // the store's configuration generation the snapshot was built from
    ino_t inode_ = 0;
    uv_timer_t timer_{};
    uv_work_t work_{};
    bool building_ = false;
    bool forced_ = false;
    bool failing_ = false;  // the last attempt failed: log again only when it recovers or changes
    const char* why_ = "";
    std::chrono::steady_clock::time_point build_start_;
    Result<std::shared_ptr<const dns::Snapshot>> result_{Error{"not built"}};
};

}  // namespace pooldns
