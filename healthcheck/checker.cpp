// The health checker's loop (see checker.hpp): targets, their schedule, the
// rise/fall machines and the batches handed to the SQLite writer.
#include "checker.hpp"

#include "pooldns/check_spec.hpp"
#include "pooldns/log.hpp"
#include "pooldns/rise_fall.hpp"
#include "pooldns/store.hpp"
#include "probe.hpp"

#include <uv.h>

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <unordered_map>
#include <utility>
#include <vector>

namespace pooldns::health {

namespace {

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// "2026-11-22T01:02:03.456Z", as SQLite's strftime('%Y-%m-%dT%H:%M:%fZ') writes it.
std::string iso_time(std::int64_t ms) {
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                       tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
}

std::string iso_now() { return iso_time(wall_ms()); }

std::uint64_t steady_ms() {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count());
}

bool to_sockaddr(const std::string& address, std::uint16_t port, sockaddr_storage& out) {
    out = {};
    if (uv_ip4_addr(address.c_str(), port, reinterpret_cast<sockaddr_in*>(&out)) == 0) return true;
    out = {};
    return uv_ip6_addr(address.c_str(), port, reinterpret_cast<sockaddr_in6*>(&out)) == 0;
}

struct MemberRow {
    std::int64_t pool_id = 0;
    std::int64_t server_id = 0;
    std::string state;
    std::string since;
    std::string last_probe_at;
    std::string last_result;
    double latency_ms = 0;
};

struct HistoryRow {
    std::int64_t pool_id = 0;
    std::int64_t server_id = 0;
    std::string at;
    std::string state;
    std::string reason;
};

// What one write to SQLite carries: built on the loop, written on the pool.
struct Batch {
    std::vector<MemberRow> members;
    std::vector<HistoryRow> history;
    std::string started_at;
    std::string now;
    std::uint64_t targets = 0, probes = 0, late = 0;
    std::uint32_t history_keep = 200;
};

// The writer's connection lives on the thread pool side; one batch at a time.
class Writer {
public:
    explicit Writer(std::string path) : path_(std::move(path)) {}

    void write(const Batch& b) {
        if (path_.empty()) return;
        try {
            if (!db_) {
                auto db = Database::open(path_, OpenMode::ReadWriteExisting);
                if (!db) throw StoreError(db.error().message, 0);
                db_.emplace(std::move(*db));
            }
            Transaction tx(*db_);
            auto up = db_->prepare(
                "INSERT INTO member_health (pool_id, server_id, state, since, last_probe_at, last_result, "
                "last_latency_ms) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 "
                "WHERE EXISTS (SELECT 1 FROM members WHERE pool_id = ?1 AND server_id = ?2) "
                "ON CONFLICT (pool_id, server_id) DO UPDATE SET "
                "since = CASE WHEN state != excluded.state OR since = '' THEN excluded.since ELSE since END, "
                "state = excluded.state, last_probe_at = excluded.last_probe_at, "
                "last_result = excluded.last_result, last_latency_ms = excluded.last_latency_ms");
            for (const auto& m : b.members) {
                up.bind_all(m.pool_id, m.server_id, m.state, m.since, m.last_probe_at, m.last_result);
                up.bind(7, m.latency_ms);
                up.run();
                up.reset();
            }
            auto hist = db_->prepare(
                "INSERT INTO health_history (pool_id, server_id, at, state, reason) SELECT ?1, ?2, ?3, ?4, ?5 "
                "WHERE EXISTS (SELECT 1 FROM members WHERE pool_id = ?1 AND server_id = ?2)");
            auto trim = db_->prepare(
                "DELETE FROM health_history WHERE pool_id = ?1 AND server_id = ?2 AND id <= "
                "(SELECT id FROM health_history WHERE pool_id = ?1 AND server_id = ?2 ORDER BY id DESC "
                "LIMIT 1 OFFSET ?3)");
            for (const auto& h : b.history) {
                hist.bind_all(h.pool_id, h.server_id, h.at, h.state, h.reason);
                hist.run();
                hist.reset();
                trim.bind_all(h.pool_id, h.server_id, static_cast<std::int64_t>(b.history_keep));
                trim.run();
                trim.reset();
            }
            auto beat = db_->prepare(
                "INSERT INTO checker (id, pid, started_at, heartbeat_at, targets, probes, late) "
                "VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, "
                "started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, "
                "targets = excluded.targets, probes = excluded.probes, late = excluded.late");
            beat.bind_all(static_cast<std::int64_t>(getpid()), b.started_at, b.now,
                          static_cast<std::int64_t>(b.targets), static_cast<std::int64_t>(b.probes),
                          static_cast<std::int64_t>(b.late));
            beat.run();
            tx.commit();
            if (failing_) log(LogLevel::Info, "health_write", "db={} state=recovered", path_);
            failing_ = false;
        } catch (const StoreError& e) {
            // A busy or read-only file costs the record, never the probing.
            if (!failing_) log(LogLevel::Warn, "health_write_failed", "db={} reason=\"{}\"", path_, e.what());
            failing_ = true;
            db_.reset();
        }
    }

private:
    std::string path_;
    std::optional<Database> db_;
    bool failing_ = false;
};

}  // namespace

struct Target {
    HealthTarget config;
    CheckSpec spec;
    sockaddr_storage address{};
    sockaddr_storage source{};
    bool has_source = false;
    std::string host;  // without the trailing dot
    RiseFall machine{true, false};
    uv_timer_t timer{};
    std::uint64_t started_ms = 0;  // uv_now when the last probe started
    std::uint64_t held_ms = 0;     // uv_now when the held connection was taken
    std::uint64_t due_hr = 0;      // hrtime the next probe is due (its timer's deadline)
    bool in_flight = false;
    bool waiting = false;          // queued behind the in-flight cap
    std::uint64_t early_ms = 0;    // uv_now when a lost connection last brought a probe forward
    std::uint32_t quick_closes = 0;   // kept connections the peer closed within moments, in a row
    bool closes_at_once = false;      // the peer closes every connection: keep none
    std::function<void()> release; // closes the connection the last tcp probe kept
    bool removed = false;
    // For SQLite and `status`.
    std::string since;
    std::int64_t last_probe_ms = 0;  // wall clock; formatted only when written to SQLite
    ProbeResult last;
    bool dirty_state = false;
    bool dirty_result = false;
    std::uint64_t written_ms = 0;
    std::uint64_t window_start_ms = 0;
    std::uint32_t window_flips = 0;
    std::uint32_t suppressed = 0;
};

struct Checker::Loop {
    Checker& owner;
    uv_loop_t loop{};
    uv_async_t stop_async{};
    uv_timer_t tick{};
    uv_work_t work{};
    bool writing = false;
    bool stopping = false;
    TlsClients tls;
    std::unordered_map<std::uint32_t, std::unique_ptr<Target>> targets;  // by health slot
    std::vector<std::unique_ptr<Target>> retired;                        // closing
    std::deque<Target*> waiting;
    std::uint32_t in_flight = 0;
    std::uint32_t max_in_flight = 1024;  // settings: health_max_in_flight
    double jitter = 0.1;                 // settings: health_jitter_percent / 100
    std::uint64_t snapshot_version = 0;
    std::shared_ptr<const Snapshot> snapshot;
    std::mt19937_64 rng{std::random_device{}()};
    Writer writer;
    Batch pending;                  // being written
    std::vector<HistoryRow> history;  // waiting for the next flush
    std::string started_at = iso_now();
    std::uint64_t last_flush_ms = 0;

    explicit Loop(Checker& c) : owner(c), writer(c.options_.db_path) {}

    const CheckerOptions& options() const { return owner.options_; }

    std::uint64_t uniform(std::uint64_t max) {
        if (max == 0) return 0;
        return std::uniform_int_distribution<std::uint64_t>(0, max)(rng);
    }

    // --- targets ------------------------------------------------------------

    void refresh() {
        std::uint64_t v = owner.box_.version();
        if (v == snapshot_version) return;
        snapshot_version = v;
        snapshot = owner.box_.get();
        if (!snapshot) return;
        max_in_flight = snapshot->settings().health_max_in_flight;
        jitter = snapshot->settings().health_jitter_percent / 100.0;
        std::unordered_map<std::uint32_t, bool> seen;
        for (const auto& t : snapshot->health_targets()) {
            seen[t.slot] = true;
            auto it = targets.find(t.slot);
            if (it != targets.end()) {
                Target& target = *it->second;
                bool reschedule = target.config.interval_ms != t.interval_ms;
                target.config = t;
                if (reschedule && !target.in_flight && !target.waiting) schedule_next(target);
                continue;
            }
            add(t);
        }
        for (auto it = targets.begin(); it != targets.end();) {
            if (seen.count(it->first)) {
                ++it;
                continue;
            }
            retire(std::move(it->second));
            it = targets.erase(it);
        }
        owner.stats_.targets.store(targets.size(), std::memory_order_relaxed);
    }

    void add(const HealthTarget& t) {
        auto spec = parse_check_spec(t.check);
        auto target = std::make_unique<Target>();
        if (!spec || !to_sockaddr(t.address, spec->port, target->address)) {
            log(LogLevel::Error, "health_target_invalid", "address={} check=\"{}\"", t.address, t.check);
            return;
        }
        target->config = t;
        target->spec = *spec;
        if (!t.source.empty()) target->has_source = to_sockaddr(t.source, 0, target->source);
        target->host = t.host;
        if (target->host.ends_with('.')) target->host.pop_back();
        // Start from what the table holds: an earlier result of this process,
        // the state recorded in SQLite, or nothing (the first result decides).
        std::uint8_t state = owner.health_->state(t.slot);
        target->machine = RiseFall((state & kHealthUp) != 0, (state & (kHealthProbed | kHealthRecorded)) != 0);
        uv_timer_init(&loop, &target->timer);
        target->timer.data = target.get();
        // The first probe goes out at once, spread over a few milliseconds so
        // that thousands of targets do not connect in the same instant.
        Target* raw = target.get();
        targets.emplace(t.slot, std::move(target));
        arm_at(*raw, uv_now(&loop) + uniform(std::min<std::uint64_t>(100, t.interval_ms / 10)), 0);
    }

    void retire(std::unique_ptr<Target> t) {
        t->removed = true;
        uv_timer_stop(&t->timer);
        if (t->release) std::exchange(t->release, nullptr)();
        if (t->waiting) waiting.erase(std::find(waiting.begin(), waiting.end(), t.get()));
        t->waiting = false;
        Target* raw = t.get();
        retired.push_back(std::move(t));
        if (!raw->in_flight) close_target(raw);
    }

    void close_target(Target* t) {
        uv_close(reinterpret_cast<uv_handle_t*>(&t->timer), [](uv_handle_t* h) {
            auto* target = static_cast<Target*>(h->data);
            auto* self = static_cast<Loop*>(h->loop->data);
            auto& r = self->retired;
            r.erase(std::remove_if(r.begin(), r.end(), [&](const auto& p) { return p.get() == target; }), r.end());
        });
    }

    // --- schedule -----------------------------------------------------------

    // The period of a target: its interval, or a quarter of it (at least
    // 100 ms) while the member is down or its state is in question, as
    // HAProxy's fastinter/downinter: a suspect member is settled sooner and a
    // dead one is seen back sooner, and the bounds only get tighter.
    std::uint64_t period(const Target& t) const {
        bool settled = t.machine.known() && t.machine.up() && t.machine.streak() == 0;
        std::uint64_t interval = t.config.interval_ms;
        return settled ? interval : std::max<std::uint64_t>(std::min<std::uint64_t>(100, interval), interval / 4);
    }

    // Fires at `due` minus up to `jitter` of the period: probes spread out but
    // are never later than the schedule the bounds rely on.
    void arm_at(Target& t, std::uint64_t due, std::uint64_t early_max) {
        std::uint64_t now = uv_now(&loop);
        std::uint64_t fire = due > early_max ? due - uniform(early_max) : due;
        if (fire < now) fire = now;
        // Lateness is measured against this deadline: a timer that fires late
        // (a busy loop) counts, not only waiting behind the in-flight cap.
        // uv_now is uv_hrtime in ms (a coarse clock: it may read up to a few
        // ms behind, which only makes lateness look worse).
        t.due_hr = fire * 1000000ull;
        uv_timer_start(&t.timer, [](uv_timer_t* h) {
            auto* target = static_cast<Target*>(h->data);
            static_cast<Loop*>(h->loop->data)->fire(*target);
        }, fire - now, 0);
    }

    // Fixed rate from the start of the last probe (a probe ends within its
    // timeout, which is at most the interval).
    void schedule_next(Target& t) {
        std::uint64_t p = period(t);
        arm_at(t, t.started_ms + p, static_cast<std::uint64_t>(jitter * static_cast<double>(p)));
    }

    void fire(Target& t) {
        if (t.in_flight || t.waiting || t.removed) return;
        if (in_flight >= max_in_flight) {
            waiting.push_back(&t);
            t.waiting = true;
            return;
        }
        launch(t);
    }

    // The connection the last tcp probe kept was closed by the peer: probe
    // soon rather than at the next period (once per period). A peer that closes
    // every connection at once is recognised after three in a row and its
    // connections are no longer kept.
    void lost(Target& t) {
        std::uint64_t now = uv_now(&loop);
        log(LogLevel::Debug, "health_connection_lost", "address={} held_ms={}", t.config.address, now - t.held_ms);
        t.release = nullptr;
        if (now - t.held_ms < std::min<std::uint64_t>(100, t.config.interval_ms / 10)) {
            if (++t.quick_closes >= 3) t.closes_at_once = true;
        } else {
            t.quick_closes = 0;
        }
        bool early_this_period = t.early_ms != 0 && now - t.early_ms < t.config.interval_ms;
        if (t.removed || stopping || t.in_flight || t.waiting || early_this_period) return;
        t.early_ms = now;
        // A dying process closes its connections a moment before its listening
        // socket: a probe sent the same instant could still connect. 50 ms later
        // the port refuses.
        arm_at(t, now + std::min<std::uint64_t>(50, t.config.interval_ms / 20), 0);
    }

    void launch(Target& t) {
        if (t.release) std::exchange(t.release, nullptr)();  // one connection per target at a time
        t.started_ms = uv_now(&loop);
        std::uint64_t hr = uv_hrtime();
        std::uint64_t late_us = hr > t.due_hr ? (hr - t.due_hr) / 1000 : 0;
        // A deadline: start within 5% of the interval (at least 50 ms) of when due.
        std::uint64_t allowed_us = std::max<std::uint64_t>(50000, t.config.interval_ms * 50ull);
        if (late_us > allowed_us) owner.stats_.late.fetch_add(1, std::memory_order_relaxed);
        std::uint64_t prev = owner.stats_.max_late_us.load(std::memory_order_relaxed);
        if (late_us > prev) owner.stats_.max_late_us.store(late_us, std::memory_order_relaxed);
        t.in_flight = true;
        ++in_flight;
        ProbeTarget pt;
        pt.address = t.address;
        pt.spec = &t.spec;
        pt.host = t.host;
        ProbeOptions po;
        po.timeout_ms = t.config.timeout_ms;
        po.source = t.has_source ? &t.source : nullptr;
        Target* raw = &t;
        if (t.spec.kind == CheckKind::Tcp && !t.closes_at_once) po.on_lost = [this, raw] { lost(*raw); };
        start_probe(&loop, tls, pt, po, [this, raw](const ProbeResult& r) { done(*raw, r); });
    }

    void start_waiting() {
        while (!waiting.empty() && in_flight < max_in_flight) {
            Target* t = waiting.front();
            waiting.pop_front();
            t->waiting = false;
            launch(*t);
        }
    }

    // --- results ------------------------------------------------------------

    void done(Target& t, const ProbeResult& r) {
        t.in_flight = false;
        --in_flight;
        owner.stats_.probes.fetch_add(1, std::memory_order_relaxed);
        if (t.removed || stopping) {
            if (r.release) r.release();
            if (t.removed) close_target(&t);
            start_waiting();
            return;
        }
        if (r.release) {
            t.release = r.release;
            t.held_ms = uv_now(&loop);
        }
        t.last = r;
        t.last.release = nullptr;
        t.last_probe_ms = wall_ms();
        t.dirty_result = true;
        bool was_known = t.machine.known();
        bool flipped = t.machine.record(r.alive, t.config.rise, t.config.fall);
        std::uint8_t published = owner.health_->state(t.config.slot);
        std::uint8_t state = static_cast<std::uint8_t>((t.machine.up() ? kHealthUp : 0) | kHealthProbed);
        if (published != state) owner.health_->set(t.config.slot, state);
        if (flipped || !was_known || t.since.empty()) {
            // Text only on a change of state, not on every probe.
            if (flipped || !was_known) t.since = iso_time(t.last_probe_ms);
            t.dirty_state = true;
        }
        if (flipped) {
            owner.stats_.flips.fetch_add(1, std::memory_order_relaxed);
            std::string names;
            for (const auto& m : t.config.members) {
                if (names.size() > 300) {
                    names += ",...";
                    break;
                }
                names += (names.empty() ? "" : ",") + m.name;
            }
            log(t.machine.up() ? LogLevel::Info : LogLevel::Warn, "health",
                "state={} address={} check={} members={} reason=\"{}\" latency_ms={:.1f}",
                t.machine.up() ? "up" : "down", t.config.address, t.config.check, names, r.reason, r.latency_ms);
            record_history(t, t.since);
        }
        schedule_next(t);
        start_waiting();
    }

    // Flips go to health_history, at most history_per_minute per member; the
    // rest of a flapping minute is summarised in one row when it ends.
    void record_history(Target& t, const std::string& now) {
        std::uint64_t ms = steady_ms();
        if (ms - t.window_start_ms >= 60000) {
            if (t.suppressed) push_history(t, now, fmt::format("flapping: {} more changes in the last minute not recorded", t.suppressed));
            t.window_start_ms = ms;
            t.window_flips = 0;
            t.suppressed = 0;
        }
        if (t.window_flips >= options().history_per_minute) {
            ++t.suppressed;
            return;
        }
        ++t.window_flips;
        push_history(t, now, t.last.reason);
    }

    void push_history(const Target& t, const std::string& now, const std::string& reason) {
        for (const auto& m : t.config.members) {
            history.push_back({m.pool_id, m.server_id, now, t.machine.up() ? "up" : "down", reason});
        }
    }

    // --- SQLite -------------------------------------------------------------

    Batch collect(bool all) {
        Batch b;
        std::uint64_t ms = steady_ms();
        for (auto& [slot, tp] : targets) {
            Target& t = *tp;
            bool due = t.dirty_state || (t.dirty_result && ms - t.written_ms >= options().result_refresh_ms) ||
                       (all && t.dirty_result);
            if (!due) continue;
            for (const auto& m : t.config.members) {
                b.members.push_back({m.pool_id, m.server_id, t.machine.up() ? "up" : "down", t.since, iso_time(t.last_probe_ms),
                                     t.last.reason, t.last.latency_ms});
            }
            t.dirty_state = t.dirty_result = false;
            t.written_ms = ms;
        }
        b.history = std::move(history);
        history.clear();
        b.started_at = started_at;
        b.now = iso_now();
        b.targets = targets.size();
        b.probes = owner.stats_.probes.load(std::memory_order_relaxed);
        b.late = owner.stats_.late.load(std::memory_order_relaxed);
        b.history_keep = options().history_keep;
        return b;
    }

    void flush() {
        if (writing || owner.options_.db_path.empty()) return;
        writing = true;
        pending = collect(false);
        work.data = this;
        uv_queue_work(
            &loop, &work, [](uv_work_t* w) {
                auto* self = static_cast<Loop*>(w->data);
                self->writer.write(self->pending);
            },
            [](uv_work_t* w, int) { static_cast<Loop*>(w->data)->writing = false; });
    }

    void housekeeping() {
        owner.stats_.heartbeat_ms.store(steady_ms(), std::memory_order_relaxed);
        if (stopping) return;
        refresh();
        std::uint64_t now = uv_now(&loop);
        if (now - last_flush_ms >= options().flush_ms) {
            last_flush_ms = now;
            flush();
        }
    }

    void shutdown() {
        stopping = true;
        uv_timer_stop(&tick);
        uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
        uv_close(reinterpret_cast<uv_handle_t*>(&stop_async), nullptr);
        for (auto& [slot, t] : targets) {
            uv_timer_stop(&t->timer);
            if (t->release) std::exchange(t->release, nullptr)();
            t->removed = true;
            if (!t->in_flight) close_target(t.get());
            retired.push_back(std::move(t));
        }
        targets.clear();
        waiting.clear();
    }
};

Checker::Checker(SnapshotBox& box, std::shared_ptr<HealthTable> health, CheckerOptions options)
    : box_(box), health_(std::move(health)), options_(std::move(options)) {}

Checker::~Checker() { stop(); }

Status Checker::start() {
    loop_ = std::make_unique<Loop>(*this);
    Loop* l = loop_.get();
    if (int rc = uv_loop_init(&l->loop); rc != 0) return Error{fmt::format("health checker loop: {}", uv_strerror(rc))};
    l->loop.data = l;
    uv_async_init(&l->loop, &l->stop_async, [](uv_async_t* a) { static_cast<Loop*>(a->loop->data)->shutdown(); });
    uv_timer_init(&l->loop, &l->tick);
    stats_.heartbeat_ms.store(steady_ms(), std::memory_order_relaxed);
    thread_ = std::thread([l] {
        pthread_setname_np(pthread_self(), "pooldns-health");
        l->refresh();
        l->last_flush_ms = uv_now(&l->loop);
        uv_timer_start(&l->tick, [](uv_timer_t* t) { static_cast<Loop*>(t->loop->data)->housekeeping(); }, 100, 100);
        uv_run(&l->loop, UV_RUN_DEFAULT);
        // The last state changes, written before the thread ends.
        l->writer.write(l->collect(true));
        uv_loop_close(&l->loop);
    });
    return {};
}

void Checker::stop() {
    if (!thread_.joinable()) return;
    uv_async_send(&loop_->stop_async);
    thread_.join();
    loop_.reset();
}

}  // namespace pooldns::health
