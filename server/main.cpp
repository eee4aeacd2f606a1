// pooldns: the authoritative DNS server. Wires the store, the reloader and the
// DNS workers together; runs in the foreground and logs to stderr.
#include "checker.hpp"
#include "dns/server.hpp"
#include "pooldns/log.hpp"
#include "reloader.hpp"
#include "vip/proxy.hpp"

#include <uv.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <thread>

namespace {

constexpr const char* kHelp = R"(usage: pooldns [--db PATH] [--dns ADDR:PORT]... [--threads N] [--log-level LEVEL]

  --db PATH          the SQLite file (default: $POOLDNS_DB, else ./pooldns.db)
  --dns ADDR:PORT    listen for UDP and TCP here; repeat for more (default 127.0.0.1:53);
                     IPv6 as [::1]:53
  --threads N        DNS worker threads, one event loop each (default: number of cores)
  --log-level LEVEL  error | warn | info | debug (default info)

VIP listeners (pooldnsctl vip add) are opened from the database; none by default.

Signals: SIGTERM/SIGINT stop; SIGHUP reloads the database now (and VIP certificates).
Edits committed with pooldnsctl are served within a second without a signal.
)";

int usage(const std::string& message) {
    pooldns::log(pooldns::LogLevel::Error, "usage", "error=\"{}\"", message);
    std::fputs(kHelp, stderr);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace pooldns;
    std::signal(SIGPIPE, SIG_IGN);
    const char* env_db = std::getenv("POOLDNS_DB");
    std::string db_path = env_db && *env_db ? env_db : "pooldns.db";
    std::vector<std::string> listen;
    unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
        if (a == "--help" || a == "-h") {
            std::fputs(kHelp, stdout);
            return 0;
        } else if (a == "--db") {
            const char* v = value();
            if (!v) return usage("--db needs a PATH");
            db_path = v;
        } else if (a == "--dns") {
            const char* v = value();
            if (!v) return usage("--dns needs ADDR:PORT");
            listen.emplace_back(v);
        } else if (a == "--threads") {
            const char* v = value();
            char* end = nullptr;
            long n = v ? std::strtol(v, &end, 10) : 0;
            if (!v || *end || n < 1 || n > 256) return usage("--threads needs a number from 1 to 256");
            threads = static_cast<unsigned>(n);
        } else if (a == "--log-level") {
            const char* v = value();
            LogLevel level;
            if (!v || !parse_log_level(v, level)) return usage("--log-level needs error, warn, info or debug");
            set_log_level(level);
        } else {
            return usage(fmt::format("unknown argument '{}'", a));
        }
    }
    if (listen.empty()) listen.emplace_back("127.0.0.1:53");
    std::vector<dns::ListenAddress> addresses;
    for (const auto& l : listen) {
        auto a = dns::parse_listen_address(l);
        if (!a) return usage(a.error().message);
        addresses.push_back(*a);
    }

    uv_loop_t* loop = uv_default_loop();
    dns::SnapshotBox box;
    auto health = std::make_shared<HealthTable>();
    Reloader reloader(loop, db_path, box, health);
    if (auto st = reloader.start(); !st) {
        log(LogLevel::Error, "start_failed", "db={} reason=\"{}\"", db_path, st.error().message);
        return 1;
    }
    dns::DnsServer server(box, addresses, threads);
    if (auto st = server.open(); !st) {
        log(LogLevel::Error, "start_failed", "reason=\"{}\"", st.error().message);
        return 1;
    }
    health::CheckerOptions checker_options;
    checker_options.db_path = db_path;
    health::Checker checker(box, health, checker_options);
    if (auto st = checker.start(); !st) {
        log(LogLevel::Error, "start_failed", "reason=\"{}\"", st.error().message);
        return 1;
    }
    // The VIP listeners come from the database like everything else: none until `pooldnsctl vip add`.
    vip::Proxy proxy(box, health, db_path);
    if (auto st = proxy.start(); !st) {
        log(LogLevel::Error, "start_failed", "reason=\"{}\"", st.error().message);
        return 1;
    }
    // The checker must never die silently: its loop ticks every 100 ms; a
    // silence of 3 s is logged (and `pooldnsctl status` shows the heartbeat).
    uv_timer_t watchdog;
    uv_timer_init(loop, &watchdog);
    struct Watch {
        health::Checker* checker;
        bool stalled = false;
    } watch{&checker};
    watchdog.data = &watch;
    uv_timer_start(&watchdog, [](uv_timer_t* t) {
        auto* w = static_cast<Watch*>(t->data);
        auto now = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  std::chrono::steady_clock::now().time_since_epoch()).count());
        std::uint64_t beat = w->checker->stats().heartbeat_ms.load(std::memory_order_relaxed);
        bool stalled = now > beat + 3000;
        if (stalled && !w->stalled) log(LogLevel::Error, "health_checker_stalled", "silent_ms={}", now - beat);
        if (!stalled && w->stalled) log(LogLevel::Info, "health_checker_recovered", "silent_ms={}", now - beat);
        w->stalled = stalled;
    }, 1000, 1000);
    uv_unref(reinterpret_cast<uv_handle_t*>(&watchdog));

    // Signal handlers before any worker answers: a signal that arrives early
    // must stop or reload the server, not kill it.
    uv_signal_t sigterm, sigint, sighup;
    struct Context {
        Reloader* reloader;
        uv_signal_t* handles[3];
    } ctx{&reloader, {&sigterm, &sigint, &sighup}};
    auto on_stop = [](uv_signal_t* h, int signum) {
        auto* c = static_cast<Context*>(h->data);
        log(LogLevel::Info, "stopping", "signal={}", signum == SIGTERM ? "TERM" : "INT");
        c->reloader->stop();
        for (auto* s : c->handles) uv_close(reinterpret_cast<uv_handle_t*>(s), nullptr);
    };
    for (auto* s : ctx.handles) {
        uv_signal_init(loop, s);
        s->data = &ctx;
    }
    uv_signal_start(&sigterm, on_stop, SIGTERM);
    uv_signal_start(&sigint, on_stop, SIGINT);
    uv_signal_start(&sighup, [](uv_signal_t* h, int) {
        log(LogLevel::Info, "sighup", "action=reload");
        static_cast<Context*>(h->data)->reloader->force();
    }, SIGHUP);

    server.start();
    std::string listening;
    for (const auto& a : addresses) listening += (listening.empty() ? "" : ",") + a.text;
    log(LogLevel::Info, "listening", "dns={} transports=udp,tcp threads={} db={}", listening, threads, db_path);

    uv_run(loop, UV_RUN_DEFAULT);
    proxy.stop();
    checker.stop();
    uv_close(reinterpret_cast<uv_handle_t*>(&watchdog), nullptr);
    uv_run(loop, UV_RUN_NOWAIT);
    server.stop();
    const auto& s = server.stats();
    log(LogLevel::Info, "stopped",
        "udp_queries={} tcp_queries={} tcp_connections={} transfers={} probes={} late={} max_late_ms={:.1f} flips={} "
        "vip_connections={} vip_requests={}",
        s.udp_queries.load(), s.tcp_queries.load(), s.tcp_connections.load(), s.transfers.load(),
        checker.stats().probes.load(), checker.stats().late.load(), checker.stats().max_late_us.load() / 1000.0,
        checker.stats().flips.load(), proxy.stats().connections.load(), proxy.stats().requests.load());
    uv_loop_close(loop);
    return 0;
}
