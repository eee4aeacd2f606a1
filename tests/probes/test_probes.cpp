// The probe kinds on a real libuv loop against real listeners on 127.0.0.x
// (tests/probes/backend.py, one process per case, killed by PID): every kind
// alive, and each way a member can be dead.
#include "probe.hpp"

#include "pooldns/check_spec.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace {

using namespace pooldns::health;

const std::string kCerts = POOLDNS_PROBE_CERTS;
const std::string kCa = kCerts + "/ca.pem";

// A file descriptor closed with its owner.
class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

// backend.py in one mode on one address, from "ready PORT" until the destructor kills it.
class Backend {
public:
    explicit Backend(const std::vector<std::string>& args, const std::string& address = "127.0.0.1") {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
        Fd write_end(fds[1]);
        out_ = fds[0];
        std::vector<std::string> argv = {POOLDNS_PYTHON, POOLDNS_PROBE_BACKEND, "--listen",
                                         address + ":0", "--max-seconds",       "120"};
        argv.insert(argv.end(), args.begin(), args.end());
        std::vector<char*> raw;
        for (auto& a : argv) raw.push_back(a.data());
        raw.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
        const int rc = posix_spawn(&pid_, raw[0], &actions, nullptr, raw.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (rc != 0) throw std::runtime_error("cannot start backend.py");
        const std::string ready = wait_for("ready ", 10000);
        if (ready.empty()) throw std::runtime_error("backend.py did not print ready");
        port_ = static_cast<std::uint16_t>(std::stoi(ready.substr(6)));
    }

    ~Backend() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            // The backend's stdout closes when it exits; give it 3 s before SIGKILL.
            while (!next_line(3000).empty()) {
            }
            if (!closed_) ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (out_ >= 0) ::close(out_);
    }
    Backend(const Backend&) = delete;
    Backend& operator=(const Backend&) = delete;

    std::uint16_t port() const { return port_; }

    // Kills the backend now (SIGKILL, as a crashing server dies) and reaps it.
    void kill_now() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }

    // The next line the backend prints that starts with `prefix`, or "" after the timeout.
    std::string wait_for(std::string_view prefix, int timeout_ms = 5000) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        for (;;) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return {};
            std::string line = next_line(static_cast<int>(left.count()));
            if (line.starts_with(prefix)) return line;
            if (line.empty() && closed_) return {};
        }
    }

private:
    std::string next_line(int timeout_ms) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        for (;;) {
            if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
                std::string line = buffer_.substr(0, nl);
                buffer_.erase(0, nl + 1);
                return line;
            }
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (closed_ || left.count() <= 0) return {};
            pollfd p{out_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
            char chunk[4096];
            const ssize_t n = ::read(out_, chunk, sizeof chunk);
            if (n <= 0) {
                closed_ = true;
            } else {
                buffer_.append(chunk, static_cast<std::size_t>(n));
            }
        }
    }

    pid_t pid_ = -1;
    int out_ = -1;
    bool closed_ = false;
    std::string buffer_;
    std::uint16_t port_ = 0;
};

sockaddr_storage ipv4(const char* text, std::uint16_t port = 0) {
    sockaddr_storage address{};
    REQUIRE(uv_ip4_addr(text, port, reinterpret_cast<sockaddr_in*>(&address)) == 0);
    return address;
}

// A port nothing listens on: bound once to learn a free number, then released.
std::uint16_t unused_port() {
    Fd s(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_storage address = ipv4("127.0.0.1");
    REQUIRE(::bind(s.get(), reinterpret_cast<sockaddr*>(&address), sizeof(sockaddr_in)) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(s.get(), reinterpret_cast<sockaddr*>(&address), &length) == 0);
    return ntohs(reinterpret_cast<sockaddr_in&>(address).sin_port);
}

pooldns::CheckSpec spec(const std::string& text) {
    auto parsed = pooldns::parse_check_spec(text);
    REQUIRE_MESSAGE(parsed.ok(), text);
    return *parsed;
}

// A loop for one test: run() returns when every handle is closed, or fails the
// test if that takes longer than `limit_ms` (a probe that forgot a handle).
class TestLoop {
public:
    TestLoop() { uv_loop_init(&loop_); }
    ~TestLoop() {
        uv_run(&loop_, UV_RUN_DEFAULT);
        CHECK_MESSAGE(uv_loop_close(&loop_) == 0, "a handle was left open");
    }
    TestLoop(const TestLoop&) = delete;
    TestLoop& operator=(const TestLoop&) = delete;
    uv_loop_t* get() { return &loop_; }

    void run(std::uint64_t limit_ms) {
        uv_timer_t guard;
        bool fired = false;
        uv_timer_init(&loop_, &guard);
        guard.data = &fired;
        uv_timer_start(
            &guard,
            [](uv_timer_t* t) {
                *static_cast<bool*>(t->data) = true;
                uv_stop(t->loop);
            },
            limit_ms, 0);
        // The guard alone does not keep the loop running: the probes' handles do.
        uv_unref(reinterpret_cast<uv_handle_t*>(&guard));
        uv_run(&loop_, UV_RUN_DEFAULT);
        CHECK_FALSE_MESSAGE(fired, "probes still had handles open after ", limit_ms, " ms");
        uv_close(reinterpret_cast<uv_handle_t*>(&guard), nullptr);
        uv_run(&loop_, UV_RUN_DEFAULT);
    }

private:
    uv_loop_t loop_;
};

struct Run {
    ProbeResult result;
    int calls = 0;
    bool inside_start = false;
};

// One probe on its own loop; checks the contract every probe keeps: `done` once,
// never inside start_probe, every handle closed (TestLoop's destructor).
ProbeResult probe(const std::string& spec_text, const char* ip = "127.0.0.1", ProbeOptions options = {},
                  const std::string& host = {}) {
    INFO("probe ", spec_text);
    const pooldns::CheckSpec check = spec(spec_text);
    TlsClients tls;
    Run run;
    {
        TestLoop loop;
        ProbeTarget target{ipv4(ip), &check, host};
        bool starting = true;
        start_probe(loop.get(), tls, target, options, [&](const ProbeResult& r) {
            ++run.calls;
            run.result = r;
            run.inside_start = run.inside_start || starting;
        });
        starting = false;
        loop.run(options.timeout_ms + 10000);
    }
    // POOLDNS_TEST_VERBOSE=1 lists every verdict, to read the reasons as an operator would.
    if (std::getenv("POOLDNS_TEST_VERBOSE")) {
        fmt::print(stderr, "{} -> alive={} reason=\"{}\" latency_ms={:.1f}\n", spec_text, run.result.alive,
                   run.result.reason, run.result.latency_ms);
    }
    CHECK(run.calls == 1);
    CHECK_FALSE(run.inside_start);
    CHECK(run.result.latency_ms >= 0);
    CHECK(run.result.latency_ms < options.timeout_ms + 1000);
    return run.result;
}

ProbeOptions timeout(std::uint32_t ms) {
    ProbeOptions options;
    options.timeout_ms = ms;
    return options;
}

// Alive probes get time for a Python backend under a sanitizer build.
const ProbeOptions kPatient = timeout(5000);

}  // namespace

TEST_CASE("tcp: a listener that accepts is alive") {
    Backend b({"--mode", "tcp"});
    const ProbeResult r = probe(fmt::format("tcp:{}", b.port()), "127.0.0.1", kPatient);
    CHECK(r.alive);
    CHECK(r.reason == "connected");
}

TEST_CASE("tcp: nothing listening is dead with connect refused") {
    const ProbeResult r = probe(fmt::format("tcp:{}", unused_port()), "127.0.0.1", kPatient);
    CHECK_FALSE(r.alive);
    CHECK(r.reason == "connect refused");
}

TEST_CASE("tls: a completed handshake is alive without verification, and SNI is the server's host") {
    Backend b({"--mode", "tls", "--print-peers"});
    const ProbeResult r = probe(fmt::format("tls:{}", b.port()), "127.0.0.1", kPatient, "fe01.contoso.test");
    CHECK(r.alive);
    CHECK(r.reason == "TLS handshake ok");
    CHECK(b.wait_for("sni ") == "sni fe01.contoso.test");
}

TEST_CASE("tls: verification against the test CA succeeds for the SNI name in the certificate") {
    Backend b({"--mode", "tls", "--print-peers"});
    const ProbeResult r = probe(fmt::format("tls:{}:fe01.contoso.test,ca={}", b.port(), kCa), "127.0.0.1", kPatient,
                                "other.contoso.test");
    CHECK(r.alive);
    CHECK(r.reason == "TLS handshake ok");
    CHECK(b.wait_for("sni ") == "sni fe01.contoso.test");
}

TEST_CASE("tls: verification fails for a name the certificate does not carry") {
    Backend b({"--mode", "tls"});
    const ProbeResult r = probe(fmt::format("tls:{}:wrong.contoso.test,ca={}", b.port(), kCa), "127.0.0.1", kPatient);
    CHECK_FALSE(r.alive);
    CHECK(r.reason == "certificate verify failed: hostname mismatch");
}

TEST_CASE("tls: without a name no SNI is sent and the certificate is checked for the address") {
    Backend b({"--mode", "tls", "--print-peers"}, "127.0.0.4");
    const ProbeResult r = probe(fmt::format("tls:{},ca={}", b.port(), kCa), "127.0.0.4", kPatient);
    CHECK(r.alive);
    CHECK(b.wait_for("sni ") == "sni -");
    // An IP literal given as the name is checked the same way, and not sent either.
    const ProbeResult literal = probe(fmt::format("tls:{}:127.0.0.4,ca={}", b.port(), kCa), "127.0.0.4", kPatient);
    CHECK(literal.alive);
    CHECK(b.wait_for("sni ") == "sni -");
    const ProbeResult other = probe(fmt::format("tls:{}:127.0.0.10,ca={}", b.port(), kCa), "127.0.0.4", kPatient);
    CHECK_FALSE(other.alive);
    CHECK(other.reason == "certificate verify failed: IP address mismatch");
}

TEST_CASE("tls: a CA file that did not sign the server's certificate fails verification") {
    Backend b({"--mode", "tls"});
    const ProbeResult r =
        probe(fmt::format("tls:{}:fe01.contoso.test,ca={}/server.pem", b.port(), kCerts), "127.0.0.1", kPatient);
    CHECK_FALSE(r.alive);
    CHECK(r.reason.starts_with("certificate verify failed: "));
}

TEST_CASE("tls: a CA file that cannot be loaded fails before connecting, after start_probe returns") {
    const ProbeResult r = probe(fmt::format("tls:{},ca=/nonexistent/ca.pem", unused_port()), "127.0.0.1", kPatient);
    CHECK_FALSE(r.alive);
    CHECK(r.reason.starts_with("TLS setup failed: cannot load CA file /nonexistent/ca.pem: "));
    CHECK(r.latency_ms < 1000);
}

TEST_CASE("tls: a peer that does not speak TLS fails the handshake") {
    Backend b({"--mode", "http"});
    const ProbeResult r = probe(fmt::format("tls:{}", b.port()), "127.0.0.1", kPatient);
    CHECK_FALSE(r.alive);
    CHECK(r.reason.starts_with("TLS handshake failed: "));
}

TEST_CASE("http: 200 is alive; the request carries the path and the host with a non-default port") {
    Backend b({"--mode", "http", "--print-peers"});
    const ProbeResult r =
        probe(fmt::format("http:{}/health?x=1", b.port()), "127.0.0.1", kPatient, "fe01.contoso.test");
    CHECK(r.alive);
    CHECK(r.reason == "HTTP 200");
    CHECK(b.wait_for("http ") == fmt::format("http GET /health?x=1 fe01.contoso.test:{}", b.port()));
}

TEST_CASE("http: host= wins over the server's host, and without either the Host is the address") {
    Backend b({"--mode", "http", "--print-peers"});
    CHECK(probe(fmt::format("http:{}/,host=pool.contoso.test", b.port()), "127.0.0.1", kPatient, "fe01").alive);
    CHECK(b.wait_for("http ") == fmt::format("http GET / pool.contoso.test:{}", b.port()));
    CHECK(probe(fmt::format("http:{}/", b.port()), "127.0.0.1", kPatient).alive);
    CHECK(b.wait_for("http ") == fmt::format("http GET / 127.0.0.1:{}", b.port()));
}

TEST_CASE("http: 503 is dead") {
    Backend b({"--mode", "http", "--status", "503"});
    const ProbeResult r = probe(fmt::format("http:{}/", b.port()), "127.0.0.1", kPatient);
    CHECK_FALSE(r.alive);
    CHECK(r.reason == "HTTP 503");
}

TEST_CASE("http: a custom status range decides what is alive") {
    Backend unavailable({"--mode", "http", "--status", "503"});
    CHECK(probe(fmt::format("http:{}/,status=500-503", unavailable.port()), "127.0.0.1", kPatient).alive);
    Backend no_content({"--mode", "http", "--status", "204"});
    CHECK(probe(fmt::format("http:{}/", no_content.port()), "127.0.0.1", kPatient).alive);
    const ProbeResult r = probe(fmt::format("http:{}/,status=200", no_content.port()), "127.0.0.1", kPatient);
    CHECK_FALSE(r.alive);
    CHECK(r.reason == "HTTP 204");
}

TEST_CASE("https: 200 over a verified handshake is alive; SNI and Host are the host") {
    Backend b({"--mode", "https", "--print-peers"});
    const ProbeResult r =
        probe(fmt::format("https:{}/status,ca={}", b.port(), kCa), "127.0.0.1", kPatient, "fe01.contoso.test");
    CHECK(r.alive);
    CHECK(r.reason == "HTTP 200");
    CHECK(b.wait_for("sni ") == "sni fe01.contoso.test");
    CHECK(b.wait_for("http ") == fmt::format("http GET /status fe01.contoso.test:{}", b.port()));
}

TEST_CASE("tls, https and sips: a server that offers only TLS 1.2 is alive too") {
    Backend tls({"--mode", "tls", "--tls-version", "1.2"});
    CHECK(probe(fmt::format("tls:{}:fe01.contoso.test,ca={}", tls.port(), kCa), "127.0.0.1", kPatient).alive);
    Backend https({"--mode", "https", "--tls-version", "1.2"});
    CHECK(probe(fmt::format("https:{}/,ca={}", https.port(), kCa), "127.0.0.1", kPatient, "localhost").reason ==
          "HTTP 200");
    Backend sips({"--mode", "sips", "--tls-version", "1.2", "--sip-provisional"});
    CHECK(probe(fmt::format("sips:{}", sips.port()), "127.0.0.1", kPatient).reason == "SIP 200");
}

TEST_CASE("https: a status outside the range is dead") {
    Backend b({"--mode", "https", "--status", "404"});
    const ProbeResult r = probe(fmt::format("https:{}/", b.port()), "127.0.0.1", kPatient);
    CHECK_FALSE(r.alive);
    CHECK(r.reason == "HTTP 404");
}

TEST_CASE("sip: OPTIONS answered with 200 is alive; the request URI is sip:HOST:PORT") {
    Backend b({"--mode", "sip", "--print-peers"});
    const ProbeResult r = probe(fmt::format("sip:{}", b.port()), "127.0.0.1", kPatient, "fe01.contoso.test");
    CHECK(r.alive);
    CHECK(r.reason == "SIP 200");
    CHECK(b.wait_for("sip ") == fmt::format("sip OPTIONS sip:fe01.contoso.test:{}", b.port()));
}

TEST_CASE("sips: OPTIONS over a verified TLS handshake is alive") {
    Backend b({"--mode", "sips", "--print-peers"});
    const ProbeResult r =
        probe(fmt::format("sips:{},host=pool.contoso.test,sni=fe01.contoso.test,ca={}", b.port(), kCa), "127.0.0.1",
              kPatient, "fe01.contoso.test");
    CHECK(r.alive);
    CHECK(r.reason == "SIP 200");
    CHECK(b.wait_for("sni ") == "sni fe01.contoso.test");
    CHECK(b.wait_for("sip ") == fmt::format("sip OPTIONS sip:pool.contoso.test:{}", b.port()));
}

TEST_CASE("sip: 100 Trying then 486 is alive: any final response is") {
    Backend b({"--mode", "sip", "--sip-provisional", "--status", "486"});
    const ProbeResult r = probe(fmt::format("sip:{}", b.port()), "127.0.0.1", kPatient);
    CHECK(r.alive);
    CHECK(r.reason == "SIP 486");
}

TEST_CASE("sip and http: garbage is dead at once, without waiting for the timeout") {
    Backend b({"--mode", "garbage"});
    const ProbeResult s = probe(fmt::format("sip:{}", b.port()), "127.0.0.1", kPatient);
    CHECK_FALSE(s.alive);
    CHECK(s.reason == "bad SIP response: not a SIP/2.0 status line");
    CHECK(s.latency_ms < 2500);
    const ProbeResult h = probe(fmt::format("http:{}/", b.port()), "127.0.0.1", kPatient);
    CHECK_FALSE(h.alive);
    CHECK(h.reason == "bad HTTP response: not an HTTP/1.x status line");
    const ProbeResult t = probe(fmt::format("sips:{}", b.port()), "127.0.0.1", kPatient);
    CHECK_FALSE(t.alive);
    CHECK(t.reason.starts_with("TLS handshake failed: "));
}

TEST_CASE("a listener that accepts but never answers times out, for every kind that waits") {
    Backend b({"--mode", "silent"});
    for (const char* kind : {"http:{}/", "https:{}/", "sip:{}", "sips:{}", "tls:{}"}) {
        const ProbeResult r = probe(fmt::format(fmt::runtime(kind), b.port()), "127.0.0.1", timeout(300));
        CHECK_FALSE(r.alive);
        CHECK(r.reason == "timeout after 300 ms");
        CHECK(r.latency_ms >= 299);
    }
}

TEST_CASE("a connection reset is dead with connection reset") {
    Backend b({"--mode", "reset"});
    for (const char* kind : {"http:{}/", "sip:{}", "tls:{}", "https:{}/"}) {
        const ProbeResult r = probe(fmt::format(fmt::runtime(kind), b.port()), "127.0.0.1", kPatient);
        CHECK_FALSE(r.alive);
        CHECK(r.reason == "connection reset");
    }
}

TEST_CASE("a connection closed before the answer is dead, saying where it stopped") {
    Backend b({"--mode", "close"});
    CHECK(probe(fmt::format("http:{}/", b.port()), "127.0.0.1", kPatient).reason ==
          "connection closed before a status line");
    CHECK(probe(fmt::format("sip:{}", b.port()), "127.0.0.1", kPatient).reason ==
          "connection closed before a final response");
    CHECK(probe(fmt::format("tls:{}", b.port()), "127.0.0.1", kPatient).reason ==
          "connection closed during TLS handshake");
}

TEST_CASE("a response longer than max_response without a status line is dead") {
    Backend b({"--mode", "flood"});
    ProbeOptions options = kPatient;
    options.max_response = 256;
    const ProbeResult r = probe(fmt::format("http:{}/", b.port()), "127.0.0.1", options);
    CHECK_FALSE(r.alive);
    CHECK(r.reason == "no status line in first 256 bytes");
    // With the default cap the parser's own line limit is what refuses it.
    const ProbeResult d = probe(fmt::format("http:{}/", b.port()), "127.0.0.1", kPatient);
    CHECK(d.reason == "bad HTTP response: status line too long");
}

TEST_CASE("source: the probe connects from the given address") {
    Backend b({"--mode", "tcp", "--print-peers"}, "127.0.0.2");
    for (const char* from : {"127.0.0.1", "127.0.0.3"}) {
        const sockaddr_storage source = ipv4(from, 4);  // the port is ignored: the kernel picks one
        ProbeOptions options = kPatient;
        options.source = &source;
        CHECK(probe(fmt::format("tcp:{}", b.port()), "127.0.0.2", options).alive);
        CHECK(b.wait_for("peer ").starts_with(fmt::format("peer {}:", from)));
    }
}

TEST_CASE("source: an address that is not local fails after start_probe returns") {
    const sockaddr_storage source = ipv4("192.0.2.1");
    ProbeOptions options = kPatient;
    options.source = &source;
    const ProbeResult r = probe(fmt::format("tcp:{}", unused_port()), "127.0.0.1", options);
    CHECK_FALSE(r.alive);
    CHECK(r.reason.starts_with("source bind to 192.0.2.1 failed: "));
}

TEST_CASE("200 probes at once against one listener all complete, each once") {
    Backend b({"--mode", "http"});
    const pooldns::CheckSpec check = spec(fmt::format("http:{}/", b.port()));
    TlsClients tls;
    std::vector<Run> runs(200);
    {
        TestLoop loop;
        ProbeTarget target{ipv4("127.0.0.1"), &check, "fe01.contoso.test"};
        ProbeOptions options = timeout(20000);
        bool starting = false;
        for (auto& run : runs) {
            starting = true;
            start_probe(loop.get(), tls, target, options, [&run, &starting](const ProbeResult& r) {
                ++run.calls;
                run.result = r;
                run.inside_start = run.inside_start || starting;
            });
            starting = false;
        }
        loop.run(40000);
    }
    int alive = 0;
    for (const auto& run : runs) {
        CHECK(run.calls == 1);
        CHECK_FALSE(run.inside_start);
        alive += run.result.alive ? 1 : 0;
    }
    CHECK(alive == 200);
}

TEST_CASE("TlsClients keeps one context per CA file") {
    TlsClients tls;
    std::string error;
    void* plain = tls.context("", error);
    void* verifying = tls.context(kCa, error);
    REQUIRE(plain != nullptr);
    REQUIRE(verifying != nullptr);
    CHECK(plain != verifying);
    CHECK(tls.context("", error) == plain);
    CHECK(tls.context(kCa, error) == verifying);
    CHECK(tls.context(kCerts + "/README.md", error) == nullptr);
    CHECK(error.starts_with("cannot load CA file "));
}

TEST_CASE("tcp with on_lost: the connection is kept, and the peer's death is noticed at once") {
    Backend b({"--mode", "tcp"});
    const pooldns::CheckSpec check = spec(fmt::format("tcp:{}", b.port()));
    TlsClients tls;
    ProbeResult got;
    int lost = 0;
    std::uint64_t done_at = 0, lost_at = 0;
    {
        TestLoop loop;
        ProbeOptions options = kPatient;
        options.on_lost = [&] {
            ++lost;
            lost_at = uv_hrtime();
        };
        uv_timer_t killer;
        uv_timer_init(loop.get(), &killer);
        killer.data = &b;
        start_probe(loop.get(), tls, ProbeTarget{ipv4("127.0.0.1"), &check, {}}, options, [&](const ProbeResult& r) {
            got = r;
            done_at = uv_hrtime();
            // The member dies 200 ms after a good probe, well before the next one.
            uv_timer_start(&killer, [](uv_timer_t* t) { static_cast<Backend*>(t->data)->kill_now(); }, 200, 0);
        });
        loop.run(10000);
        uv_close(reinterpret_cast<uv_handle_t*>(&killer), nullptr);
    }
    CHECK(got.alive);
    CHECK(static_cast<bool>(got.release));
    CHECK(lost == 1);
    CHECK((lost_at - done_at) / 1000000 < 2000);
    got.release();  // after the peer closed it: a no-op
}

TEST_CASE("tcp with on_lost: release closes the kept connection quietly") {
    Backend b({"--mode", "tcp"});
    const pooldns::CheckSpec check = spec(fmt::format("tcp:{}", b.port()));
    TlsClients tls;
    int lost = 0;
    bool alive = false;
    {
        TestLoop loop;
        ProbeOptions options = kPatient;
        options.on_lost = [&] { ++lost; };
        start_probe(loop.get(), tls, ProbeTarget{ipv4("127.0.0.1"), &check, {}}, options, [&](const ProbeResult& r) {
            alive = r.alive;
            r.release();
        });
        loop.run(10000);
    }
    CHECK(alive);
    CHECK(lost == 0);
}

TEST_CASE("tcp with on_lost: a peer that closes every connection at once is still alive") {
    Backend b({"--mode", "close"});
    const pooldns::CheckSpec check = spec(fmt::format("tcp:{}", b.port()));
    TlsClients tls;
    int lost = 0;
    bool alive = false;
    {
        TestLoop loop;
        ProbeOptions options = kPatient;
        options.on_lost = [&] { ++lost; };
        start_probe(loop.get(), tls, ProbeTarget{ipv4("127.0.0.1"), &check, {}}, options,
                    [&](const ProbeResult& r) { alive = r.alive; });
        loop.run(10000);
    }
    // The verdict is the connect; the close that follows only asks for an early probe.
    CHECK(alive);
    CHECK(lost == 1);
}
