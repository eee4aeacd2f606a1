// Live reload (see reloader.hpp).
#include "reloader.hpp"

#include "pooldns/log.hpp"

#include <malloc.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace pooldns {

namespace {
constexpr std::uint64_t kPollMs = 200;  // edits are served within this plus the build time
}

Reloader::Reloader(uv_loop_t* loop, std::string db_path, dns::SnapshotBox& box, std::shared_ptr<HealthTable> health)
    : loop_(loop), path_(std::move(db_path)), box_(box), health_(std::move(health)), notifier_(loop) {}

std::int64_t Reloader::generation() const {
    auto st = db_->prepare("SELECT value FROM generation WHERE id = 1");
    return st.step() ? st.column_int(0) : -1;
}

Status Reloader::open_db() {
    auto db = Database::open(path_, OpenMode::ReadWriteExisting);
    if (!db) return db.error();
    db_.emplace(std::move(*db));
    struct stat st {};
    inode_ = ::stat(path_.c_str(), &st) == 0 ? st.st_ino : 0;
    data_version_ = -1;
    generation_ = -1;
    return {};
}

Status Reloader::start() {
    if (auto st = open_db(); !st) return st;
    auto start = std::chrono::steady_clock::now();
    data_version_ = db_->data_version();
    generation_ = generation();
    auto snap = dns::load_snapshot(*db_, health_);
    if (!snap) return snap.error();
    auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    const auto& s = **snap;
    log(LogLevel::Info, "load", "zones={} records={} names={} memory_kib={} took_ms={:.1f}", s.zones().size(),
        s.record_count(), s.nodes().size(), s.memory_bytes() / 1024, ms);
    notifier_.changed(nullptr, **snap);  // secondaries may have missed changes while we were down
    box_.publish(std::move(*snap));
    malloc_trim(0);  // hand the builder's temporary memory back to the system
    uv_timer_init(loop_, &timer_);
    timer_.data = this;
    uv_timer_start(&timer_, [](uv_timer_t* t) { static_cast<Reloader*>(t->data)->poll(); }, kPollMs, kPollMs);
    return {};
}

void Reloader::force() {
    forced_ = true;
    poll();
}

void Reloader::stop() {
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
    notifier_.stop();
}

void Reloader::poll() {
    if (building_) return;
    // A file replaced under us (restored backup, mv): reopen it.
    struct stat st {};
    if (::stat(path_.c_str(), &st) == 0 && st.st_ino != inode_) {
        log(LogLevel::Info, "reopen", "db={} reason=file_replaced", path_);
        if (auto s = open_db(); !s) {
            log(LogLevel::Error, "reload_failed", "db={} reason=\"{}\" serving=previous", path_, s.error().message);
            return;
        }
    }
    std::int64_t v, g = generation_;
    try {
        v = db_->data_version();
        // The checker's own writes (member_health, the heartbeat) move
        // data_version every second; only a configuration change is worth a build.
        if (v != data_version_) g = generation();
    } catch (const StoreError& e) {
        if (!failing_) log(LogLevel::Error, "reload_failed", "db={} reason=\"{}\" serving=previous", path_, e.what());
        failing_ = true;
        return;
    }
    bool changed = v != data_version_ && g != generation_;
    data_version_ = v;
    // After a failure, try again on the next change, or every few seconds for
    // the causes that need none (a file made readable again).
    bool retry = failing_ && std::chrono::steady_clock::now() - build_start_ > std::chrono::seconds(5);
    if (!changed && !forced_ && !retry) return;
    const char* why = forced_ ? "signal" : (changed ? "change" : "retry");
    forced_ = false;
    generation_ = g;
    begin_build(why);
}

void Reloader::begin_build(const char* why) {
    building_ = true;
    why_ = why;
    build_start_ = std::chrono::steady_clock::now();
    work_.data = this;
    uv_queue_work(
        loop_, &work_,
        [](uv_work_t* w) {
            // Builds yield to the query threads when they share a core: at nice 19
            // a rebuild takes the idle time, not the time queries need.
            setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 19);
            auto* self = static_cast<Reloader*>(w->data);
            self->result_ = dns::load_snapshot(*self->db_, self->health_);
        },
        [](uv_work_t* w, int) {
            auto* self = static_cast<Reloader*>(w->data);
            self->building_ = false;
            auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - self->build_start_)
                          .count();
            if (!self->result_) {
                if (!self->failing_) {
                    log(LogLevel::Error, "reload_failed", "db={} reason=\"{}\" serving=previous", self->path_,
                        self->result_.error().message);
                }
                self->failing_ = true;
                return;
            }
            self->failing_ = false;
            auto snap = std::move(*self->result_);
            self->result_ = Error{"consumed"};
            std::string serials;
            for (const auto& z : snap->zones()) {
                if (serials.size() < 200) serials += fmt::format("{}{}={}", serials.empty() ? "" : ",", z.origin, z.serial);
            }
            log(LogLevel::Info, "reload", "why={} zones={} records={} took_ms={:.1f} serials={}", self->why_,
                snap->zones().size(), snap->record_count(), ms, serials);
            auto previous = self->box_.get();
            self->notifier_.changed(previous.get(), *snap);
            self->box_.publish(std::move(snap));
            previous.reset();
            malloc_trim(0);
        });
}

}  // namespace pooldns
