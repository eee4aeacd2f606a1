// System test of the pooldns DNS server: each test case imports a zone with the
// built pooldnsctl into a fresh SQLite file, starts the built pooldns on
// 127.0.0.1 and [::1] (a free port), talks DNS to it over real UDP and TCP
// sockets, and on teardown stops it with SIGTERM and requires exit status 0.
// The server's log (stderr) is printed when a test case fails.
//
// Environment: POOLDNS_BIN and POOLDNSCTL_BIN, the paths of the two binaries.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "dns_client.hpp"
#include "support.hpp"

#include <atomic>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <random>
#include <set>

using namespace systest;

namespace {

// ---- failure tracking ---------------------------------------------------------

// Set when an assertion of the running test case fails, so the fixture's
// destructor knows to print the server log.
std::atomic<bool> g_failed{false};

struct FailureListener : doctest::IReporter {
    explicit FailureListener(const doctest::ContextOptions&) {}
    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats&) override {}
    void test_case_start(const doctest::TestCaseData&) override { g_failed = false; }
    void test_case_reenter(const doctest::TestCaseData&) override {}
    void test_case_end(const doctest::CurrentTestCaseStats&) override {}
    void test_case_exception(const doctest::TestCaseException&) override { g_failed = true; }
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    void log_assert(const doctest::AssertData& ad) override {
        if (ad.m_failed) g_failed = true;
    }
    void log_message(const doctest::MessageData& md) override {
        if (md.m_severity & (doctest::assertType::is_check | doctest::assertType::is_require)) g_failed = true;
    }
    void test_case_skipped(const doctest::TestCaseData&) override {}
};
REGISTER_LISTENER("pooldns_failure_flag", 1, FailureListener);

// ---- the zone -------------------------------------------------------------------

constexpr const char* kOrigin = "example.com";
constexpr int kBigTxtCount = 40;

// Every record of the test zone, absolute, one per line: the zone file is made
// from these and AXFR must return exactly these.
std::vector<std::string> zone_records() {
    std::vector<std::string> z = {
        "example.com. 300 IN SOA ns1.example.com. hostmaster.example.com. 2024010101 3600 600 1209600 60",
        "example.com. 300 IN NS ns1.example.com.",
        "example.com. 300 IN NS ns2.example.com.",
        "ns1.example.com. 300 IN A 192.0.2.53",
        "ns2.example.com. 300 IN A 192.0.2.54",
        "www.example.com. 300 IN A 192.0.2.80",
        "www.example.com. 300 IN AAAA 2001:db8::80",
        "pool.example.com. 30 IN A 192.0.2.11",
        "pool.example.com. 30 IN A 192.0.2.12",
        "pool.example.com. 30 IN A 192.0.2.13",
    };
    // 40 TXT records of ~70 octets each: ~3 KB, more than any UDP answer may carry here.
    for (int i = 0; i < kBigTxtCount; ++i) {
        std::string n = (i < 10 ? "0" : "") + std::to_string(i);
        z.push_back(std::string("big.example.com. 300 IN TXT \"txt-") + n + "-" + std::string(60, 'x') + "\"");
    }
    return z;
}

const std::vector<std::string>& www_a() {
    static const auto v = norm_sorted({"www.example.com. 300 IN A 192.0.2.80"});
    return v;
}
const std::vector<std::string>& pool_a() {
    static const auto v = norm_sorted({"pool.example.com. 30 IN A 192.0.2.11", "pool.example.com. 30 IN A 192.0.2.12",
                                       "pool.example.com. 30 IN A 192.0.2.13"});
    return v;
}
std::vector<std::string> big_txt() {
    std::vector<std::string> out;
    for (const auto& r : zone_records()) {
        if (r.starts_with("big.")) out.push_back(r);
    }
    return norm_sorted(out);
}

// ---- ports ----------------------------------------------------------------------

std::string fmt_hex(std::uint8_t b) {
    const char* digits = "0123456789abcdef";
    return {digits[b >> 4], digits[b & 15]};
}

bool can_bind(int family, int type, std::uint16_t port) {
    Fd fd(::socket(family, type | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) return false;
    int one = 1;
    if (family == AF_INET6) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    Endpoint e = endpoint(family == AF_INET ? "127.0.0.1" : "::1", port);
    return ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&e.addr), e.len) == 0;
}

// A port free for UDP and TCP on 127.0.0.1 and ::1 right now (the kernel's
// choice for port 0). Another process may still take it before pooldns binds:
// the caller retries.
std::uint16_t free_port() {
    for (int attempt = 0; attempt < 50; ++attempt) {
        Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        Endpoint e = endpoint("127.0.0.1", 0);
        if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&e.addr), e.len) != 0) continue;
        sockaddr_in got{};
        socklen_t len = sizeof got;
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&got), &len);
        std::uint16_t port = ntohs(got.sin_port);
        fd.reset();
        if (can_bind(AF_INET, SOCK_STREAM, port) && can_bind(AF_INET, SOCK_DGRAM, port) &&
            can_bind(AF_INET6, SOCK_STREAM, port) && can_bind(AF_INET6, SOCK_DGRAM, port)) {
            return port;
        }
    }
    throw std::runtime_error("no free port found");
}

// Whether the process has a handler for `sig` (the SigCgt mask in /proc/PID/status).
bool catches_signal(pid_t pid, int sig) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("SigCgt:", 0) == 0) return (std::stoull(line.substr(7), nullptr, 16) >> (sig - 1)) & 1;
    }
    return false;
}

// Calls probe() every 20 ms until it returns true; returns the elapsed ms, or
// nullopt after timeout_ms.
template <class F>
std::optional<double> poll_until(F probe, int timeout_ms) {
    auto t0 = Clock::now();
    while (true) {
        auto tick = Clock::now() + std::chrono::milliseconds(20);
        if (probe()) return ms_since(t0);
        if (ms_since(t0) >= timeout_ms) return std::nullopt;
        std::this_thread::sleep_until(tick);
    }
}

// ---- the fixture ----------------------------------------------------------------

class DnsFixture {
public:
    DnsFixture()
        : pooldns_(required_env("POOLDNS_BIN")),
          pooldnsctl_(required_env("POOLDNSCTL_BIN")),
          db_(dir_.path() / "pooldns.db"),
          log_path_(dir_.path() / "pooldns.log") {
        std::string text = "$ORIGIN example.com.\n$TTL 300\n";
        for (const auto& r : zone_records()) text += r + "\n";
        write_file(dir_.path() / "example.com.zone", text);
        ctl_ok({"zone", "import", kOrigin, (dir_.path() / "example.com.zone").string()});
    }

    ~DnsFixture() {
        if (pid_ > 0) stop();
        if (g_failed || std::uncaught_exceptions() > 0) {
            std::cout.flush();
            std::cout << "---- pooldns log (" << log_path_.string() << ") ----\n"
                      << read_file(log_path_) << "---- end of pooldns log ----" << std::endl;
        }
    }

    DnsFixture(const DnsFixture&) = delete;
    DnsFixture& operator=(const DnsFixture&) = delete;

    // pooldnsctl --db DB ARGS...
    RunResult ctl(const std::vector<std::string>& args) {
        std::vector<std::string> argv = {pooldnsctl_, "--db", db_.string()};
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv, dir_.path() / "pooldnsctl.out");
    }
    void ctl_ok(const std::vector<std::string>& args) {
        auto r = ctl(args);
        std::string cmd;
        for (const auto& a : args) cmd += " " + a;
        REQUIRE_MESSAGE(r.exit_code == 0, "pooldnsctl" << cmd << " failed: " << r.output);
    }

    // Imports a zone file written from `text` into the database.
    void import_zone(const std::string& origin, const std::string& text) {
        auto path = dir_.path() / (origin + "zone");
        write_file(path, text);
        ctl_ok({"zone", "import", origin, path.string()});
    }

    void set_setting(const std::string& key, const std::string& value) {
        auto err = sql_exec(db_, "INSERT INTO settings(key, value) VALUES(" + sql_quote(key) + ", " + sql_quote(value) +
                                     ") ON CONFLICT(key) DO UPDATE SET value = excluded.value");
        REQUIRE_MESSAGE(err.empty(), "setting " << key << ": " << err);
    }

    // Starts pooldns on 127.0.0.1 and [::1] and waits until it answers on both.
    void start(unsigned threads = 2) {
        REQUIRE(pid_ < 0);
        for (int attempt = 1; attempt <= 5; ++attempt) {
            port_ = free_port();
            v4_ = endpoint("127.0.0.1", port_);
            v6_ = endpoint("::1", port_);
            auto log_start = log_size();
            pid_ = spawn({pooldns_, "--db", db_.string(), "--dns", v4_.text, "--dns", v6_.text, "--threads",
                          std::to_string(threads), "--log-level", "debug"},
                         log_path_);
            if (wait_ready()) return;
            if (pid_ > 0) {  // still running but silent: not a port race
                FAIL("pooldns does not answer on " << v4_.text << " and " << v6_.text << " within 5 s");
            }
            std::string log = read_file(log_path_).substr(log_start);
            if (log.find("cannot listen") == std::string::npos) FAIL("pooldns exited at start");
            MESSAGE("port " << port_ << " was taken before pooldns could bind it; retrying");
        }
        FAIL("pooldns could not bind a free port in 5 attempts");
    }

    // SIGTERM, then requires exit status 0 within 5 s (else SIGKILL and a failure).
    void stop() {
        if (!alive()) {
            CHECK_MESSAGE(false, "pooldns was no longer running at teardown: it had ended with "
                                     << describe_status(ended_status_));
            pid_ = -1;
            return;
        }
        // pooldns answers before it installs its signal handlers (see the SIGHUP test
        // case); wait for the SIGTERM handler so a short test case does not trip over
        // that start-up window here.
        bool handled = poll_until([&] { return catches_signal(pid_, SIGTERM); }, 5000).has_value();
        CHECK_MESSAGE(handled, "pooldns has no SIGTERM handler 5 s after it started answering");
        ::kill(pid_, SIGTERM);
        auto status = wait_exit(pid_, 5000);
        if (!status) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
            CHECK_MESSAGE(false, "pooldns did not exit within 5 s of SIGTERM (killed with SIGKILL)");
        } else {
            bool clean_exit = WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
            CHECK_MESSAGE(clean_exit, "pooldns ended with " << describe_status(*status) << " after SIGTERM");
        }
        pid_ = -1;
    }

    // True while the server process runs; once it has ended, its wait status is in ended_status_.
    bool alive() {
        if (pid_ <= 0 || ended_) return false;
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) != pid_) return true;
        ended_ = true;
        ended_status_ = status;
        return false;
    }
    std::string ended_how() const { return ended_ ? describe_status(ended_status_) : "still running"; }

    std::string log() const { return read_file(log_path_); }
    std::size_t log_size() const {
        std::error_code ec;
        auto n = std::filesystem::file_size(log_path_, ec);
        return ec ? 0 : static_cast<std::size_t>(n);
    }
    // Polls the log every 20 ms for `needle` after octet `from`; gives up early if the server ended.
    bool wait_log(const std::string& needle, std::size_t from, int timeout_ms) {
        bool found = false;
        poll_until([&] {
            found = log().find(needle, from) != std::string::npos;
            return found || !alive();
        }, timeout_ms);
        return found;
    }

    std::uint16_t next_id() { return ++id_; }

    std::optional<Response> udp(const std::string& name, ldns_rr_type type, bool ipv6 = false, QueryOptions o = {}) {
        o.id = next_id();
        UdpClient c(ipv6 ? v6_ : v4_);
        return c.query(make_query(name, type, o), 2000);
    }
    std::optional<Response> tcp(const std::string& name, ldns_rr_type type, bool ipv6 = false, QueryOptions o = {}) {
        o.id = next_id();
        auto c = TcpClient::connect(ipv6 ? v6_ : v4_);
        if (!c) return std::nullopt;
        return c->query(make_query(name, type, o), 2000);
    }

    const Endpoint& v4() const { return v4_; }
    const Endpoint& v6() const { return v6_; }
    pid_t pid() const { return pid_; }
    const std::filesystem::path& db() const { return db_; }

private:
    // True once both addresses answer; false when the process exited (pid_ = -1) or after 5 s.
    bool wait_ready() {
        auto q = make_query("example.com.", LDNS_RR_TYPE_SOA, {.id = 0x0bad});
        UdpClient c4(v4_), c6(v6_);
        bool up4 = false, up6 = false;
        auto t0 = Clock::now();
        while (ms_since(t0) < 5000) {
            auto tick = Clock::now() + std::chrono::milliseconds(20);
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return false;
            }
            // A probe waits up to 20 ms for its answer (less when the port is still
            // closed and ICMP says so at once); at most one round per 20 ms.
            if (!up4) up4 = c4.query(q, 20).has_value();
            if (up4 && !up6) up6 = c6.query(q, 20).has_value();
            if (up4 && up6) return true;
            std::this_thread::sleep_until(tick);
        }
        return false;
    }

    std::string pooldns_, pooldnsctl_;
    TempDir dir_;
    std::filesystem::path db_, log_path_;
    pid_t pid_ = -1;
    bool ended_ = false;
    int ended_status_ = 0;
    std::uint16_t port_ = 0;
    Endpoint v4_, v6_;
    std::uint16_t id_ = 0;
};

void check_www(const std::optional<Response>& r, const std::string& how) {
    INFO("query: " << how);
    REQUIRE(r.has_value());
    CHECK(r->rcode() == LDNS_RCODE_NOERROR);
    CHECK(r->aa());
    CHECK_FALSE(r->tc());
    CHECK(r->answer() == www_a());
}

}  // namespace

// ---- the test cases --------------------------------------------------------------

TEST_CASE_FIXTURE(DnsFixture, "a UDP query over IPv4 and over IPv6 gets the authoritative answer") {
    start();
    check_www(udp("www.example.com.", LDNS_RR_TYPE_A, false), "UDP IPv4 www A");
    check_www(udp("www.example.com.", LDNS_RR_TYPE_A, true), "UDP IPv6 www A");
    for (bool ipv6 : {false, true}) {
        auto r = udp("pool.example.com.", LDNS_RR_TYPE_A, ipv6);
        REQUIRE(r.has_value());
        CHECK(r->rcode() == LDNS_RCODE_NOERROR);
        CHECK(r->aa());
        CHECK(r->answer() == pool_a());
    }
}

TEST_CASE_FIXTURE(DnsFixture, "a TCP query gets the same answer, and an answer too big for UDP comes with TC over UDP and whole over TCP") {
    start();
    check_www(tcp("www.example.com.", LDNS_RR_TYPE_A, false), "TCP IPv4 www A");
    check_www(tcp("www.example.com.", LDNS_RR_TYPE_A, true), "TCP IPv6 www A");

    for (bool edns : {false, true}) {
        INFO("UDP big TXT, EDNS " << edns);
        auto r = udp("big.example.com.", LDNS_RR_TYPE_TXT, false, {.edns = edns, .payload = 1232});
        REQUIRE(r.has_value());
        CHECK(r->tc());
        CHECK(r->rcode() == LDNS_RCODE_NOERROR);
        CHECK(r->wire.size() <= (edns ? 1232u : 512u));
        CHECK(r->answer().size() < static_cast<std::size_t>(kBigTxtCount));
    }
    auto r = tcp("big.example.com.", LDNS_RR_TYPE_TXT);
    REQUIRE(r.has_value());
    CHECK_FALSE(r->tc());
    CHECK(r->rcode() == LDNS_RCODE_NOERROR);
    CHECK(r->aa());
    CHECK(r->answer() == big_txt());
}

TEST_CASE_FIXTURE(DnsFixture, "pipelined TCP queries in one write are all answered in order") {
    start();
    const std::vector<std::pair<std::string, std::vector<std::string>>> asks = {
        {"www.example.com.", www_a()}, {"pool.example.com.", pool_a()}};
    Bytes batch;
    std::vector<std::uint16_t> ids;
    for (int i = 0; i < 10; ++i) {
        std::uint16_t id = static_cast<std::uint16_t>(1000 + i * 7);
        ids.push_back(id);
        auto f = TcpClient::frame(make_query(asks[i % 2].first, LDNS_RR_TYPE_A, {.id = id}));
        batch.insert(batch.end(), f.begin(), f.end());
    }
    auto c = TcpClient::connect(v4());
    REQUIRE(c.has_value());
    REQUIRE(::send(c->fd(), batch.data(), batch.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(batch.size()));
    auto d = deadline_in(3000);
    for (int i = 0; i < 10; ++i) {
        INFO("response #" << i);
        auto r = c->recv_response(d);
        REQUIRE(r.has_value());
        CHECK(r->id() == ids[i]);
        CHECK(r->rcode() == LDNS_RCODE_NOERROR);
        CHECK(r->answer() == asks[i % 2].second);
    }
}

TEST_CASE_FIXTURE(DnsFixture, "a TCP query split into one-octet writes is answered") {
    start();
    auto c = TcpClient::connect(v4(), /*nodelay=*/true);
    REQUIRE(c.has_value());
    Bytes f = TcpClient::frame(make_query("www.example.com.", LDNS_RR_TYPE_A, {.id = 4242}));
    for (std::uint8_t b : f) {
        REQUIRE(c->send_all(&b, 1));
        // Pacing, not waiting for an event: gives each octet its own segment and read on the server.
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    auto r = c->recv_response(deadline_in(2000));
    check_www(r, "TCP one octet per write");
    CHECK(r->id() == 4242);
}

TEST_CASE_FIXTURE(DnsFixture, "the TCP idle timeout closes an idle connection") {
    set_setting("tcp_idle_timeout_ms", "300");
    start();
    auto t0 = Clock::now();
    auto c = TcpClient::connect(v4());
    REQUIRE(c.has_value());
    auto closed = c->wait_closed(deadline_in(2000));
    double ms = ms_since(t0);
    MESSAGE("idle connection closed by the server after " << ms << " ms (tcp_idle_timeout_ms=300)");
    REQUIRE(closed == TcpClient::Closed::Yes);
    CHECK(ms >= 250);
    CHECK(ms <= 2000);
}

TEST_CASE_FIXTURE(DnsFixture, "the TCP connection cap closes the least recently active connection first") {
    set_setting("tcp_max_connections", "3");
    start(/*threads=*/1);
    std::vector<TcpClient> conns;
    for (int i = 0; i < 3; ++i) {
        auto c = TcpClient::connect(v4());
        REQUIRE(c.has_value());
        conns.push_back(std::move(*c));
    }
    // #2 and #3 are used, so #1 is the least recently active.
    for (int i : {1, 2}) {
        INFO("connection #" << i + 1);
        check_www(conns[i].query(make_query("www.example.com.", LDNS_RR_TYPE_A, {.id = next_id()}), 2000), "before the cap");
    }
    auto fourth = TcpClient::connect(v4());
    REQUIRE(fourth.has_value());
    conns.push_back(std::move(*fourth));
    CHECK(conns[0].wait_closed(deadline_in(2000)) == TcpClient::Closed::Yes);
    for (int i : {1, 2, 3}) {
        INFO("connection #" << i + 1);
        check_www(conns[i].query(make_query("www.example.com.", LDNS_RR_TYPE_A, {.id = next_id()}), 2000), "after the cap");
    }
}

TEST_CASE_FIXTURE(DnsFixture, "an edit committed with pooldnsctl is answered within 1 s") {
    start();
    auto has_new = [&] {
        auto r = udp("fresh.example.com.", LDNS_RR_TYPE_A);
        return r && r->rcode() == LDNS_RCODE_NOERROR && r->answer() == norm_sorted({"fresh.example.com. 300 IN A 192.0.2.99"});
    };
    auto is_gone = [&] {
        auto r = udp("fresh.example.com.", LDNS_RR_TYPE_A);
        return r && r->rcode() == LDNS_RCODE_NXDOMAIN;
    };
    REQUIRE(is_gone());

    auto t0 = Clock::now();
    ctl_ok({"record", "add", kOrigin, "fresh", "300", "A", "192.0.2.99"});
    double ctl_ms = ms_since(t0);
    auto add_ms = poll_until(has_new, 3000);
    REQUIRE_MESSAGE(add_ms.has_value(), "the added record is not served after 3 s");
    MESSAGE("record add: served " << *add_ms << " ms after pooldnsctl returned (" << ctl_ms + *add_ms
                                  << " ms after it started)");
    CHECK(*add_ms < 1000);

    t0 = Clock::now();
    ctl_ok({"record", "delete", kOrigin, "fresh", "A", "192.0.2.99"});
    ctl_ms = ms_since(t0);
    auto del_ms = poll_until(is_gone, 3000);
    REQUIRE_MESSAGE(del_ms.has_value(), "the deleted record is still served after 3 s");
    MESSAGE("record delete: gone " << *del_ms << " ms after pooldnsctl returned (" << ctl_ms + *del_ms
                                   << " ms after it started)");
    CHECK(*del_ms < 1000);
}

TEST_CASE_FIXTURE(DnsFixture, "no query is lost or answered from a half-built state during reloads") {
    start();
    struct Load {
        std::uint64_t sent = 0, answered = 0, wrong = 0, serial_back = 0;
        std::string first_wrong, first_back;
        std::uint32_t first_serial = 0, last_serial = 0;
        std::set<std::uint32_t> serials;
    } load;
    const std::vector<std::string> expected_www = www_a();
    const std::string expected_soa_prefix = "example.com.\t300\tIN\tSOA\tns1.example.com. hostmaster.example.com. ";
    std::atomic<bool> done{false};
    const Endpoint server = v4();

    std::thread client([&] {
        UdpClient c(server);
        std::uint16_t id = 0;
        bool have_serial = false;
        while (!done.load()) {
            bool soa = (load.sent % 2) == 1;
            auto q = make_query(soa ? "example.com." : "www.example.com.", soa ? LDNS_RR_TYPE_SOA : LDNS_RR_TYPE_A,
                                {.id = ++id});
            ++load.sent;
            auto r = c.query(q, 1000);
            if (!r) continue;
            ++load.answered;
            std::string why;
            if (r->rcode() != LDNS_RCODE_NOERROR || !r->aa() || r->tc()) {
                why = "header";
            } else if (!soa && r->answer() != expected_www) {
                why = "www answer";
            } else if (soa) {
                auto a = r->answer_in_order();
                if (a.size() != 1 || !a[0].starts_with(expected_soa_prefix) || !r->soa_serial()) {
                    why = "SOA answer";
                } else {
                    std::uint32_t s = *r->soa_serial();
                    load.serials.insert(s);
                    if (!have_serial) {
                        load.first_serial = s;
                        have_serial = true;
                    } else if (s < load.last_serial) {
                        if (load.serial_back++ == 0) {
                            load.first_back = std::to_string(load.last_serial) + " then " + std::to_string(s);
                        }
                    }
                    load.last_serial = s;
                }
            }
            if (!why.empty() && load.wrong++ == 0) load.first_wrong = why + ": " + r->summary();
        }
    });

    auto t0 = Clock::now();
    bool edits_ok = true;
    std::string edit_error;
    for (int i = 0; i < 50 && edits_ok; ++i) {
        auto r = ctl({"record", "add", kOrigin, "n" + std::to_string(i), "300", "A", "198.51.100." + std::to_string(i + 1)});
        if (r.exit_code != 0) {
            edits_ok = false;
            edit_error = r.output;
        }
    }
    double edits_ms = ms_since(t0);
    // The last edit becomes visible too (this bounds the load to the edits plus one reload).
    auto last = poll_until([&] {
        auto r = udp("n49.example.com.", LDNS_RR_TYPE_A);
        return r && r->rcode() == LDNS_RCODE_NOERROR;
    }, 3000);
    done = true;
    client.join();

    REQUIRE_MESSAGE(edits_ok, "pooldnsctl record add failed: " << edit_error);
    MESSAGE("50 edits in " << edits_ms << " ms; " << load.sent << " queries sent, " << load.answered
                           << " answered, " << load.serials.size() << " distinct serials seen ("
                           << load.first_serial << " .. " << load.last_serial << ")");
    CHECK(last.has_value());
    CHECK(load.sent > 100);
    CHECK(load.answered == load.sent);
    CHECK_MESSAGE(load.wrong == 0, load.wrong << " wrong answers; first: " << load.first_wrong);
    CHECK_MESSAGE(load.serial_back == 0, "the SOA serial went back " << load.serial_back << " times; first: " << load.first_back);
    CHECK(load.last_serial > load.first_serial);
    CHECK(load.serials.size() >= 2);
}

TEST_CASE_FIXTURE(DnsFixture, "a database the server cannot read keeps the last snapshot serving") {
    start();
    auto from = log_size();
    set_setting("edns_udp_size", "abc");
    REQUIRE_MESSAGE(wait_log("reload_failed", from, 5000), "no reload_failed in the log within 5 s");
    CHECK(log().find("edns_udp_size", from) != std::string::npos);
    check_www(udp("www.example.com.", LDNS_RR_TYPE_A), "while the settings are invalid");
    check_www(tcp("www.example.com.", LDNS_RR_TYPE_A), "while the settings are invalid (TCP)");
    CHECK(alive());

    set_setting("edns_udp_size", "1232");
    ctl_ok({"record", "add", kOrigin, "after-fix", "300", "A", "192.0.2.77"});
    auto ms = poll_until([&] {
        auto r = udp("after-fix.example.com.", LDNS_RR_TYPE_A);
        return r && r->rcode() == LDNS_RCODE_NOERROR && r->answer() == norm_sorted({"after-fix.example.com. 300 IN A 192.0.2.77"});
    }, 3000);
    CHECK_MESSAGE(ms.has_value(), "the edit after the fix is not served within 3 s");
    check_www(udp("www.example.com.", LDNS_RR_TYPE_A), "after the fix");
}

TEST_CASE_FIXTURE(DnsFixture, "SIGHUP forces a reload") {
    start();
    // The signal goes as soon as the server answers: a serving server must take it.
    auto from = log_size();
    bool handler_installed = catches_signal(pid(), SIGHUP);
    REQUIRE(::kill(pid(), SIGHUP) == 0);
    CHECK_MESSAGE(wait_log("reload why=signal", from, 5000), "no 'reload why=signal' in the log within 5 s");
    REQUIRE_MESSAGE(alive(), "pooldns ended after SIGHUP: " << ended_how() << "; its SIGHUP handler was "
                                 << (handler_installed ? "" : "NOT ")
                                 << "installed when the signal was sent, although it was answering queries");
    check_www(udp("www.example.com.", LDNS_RR_TYPE_A), "after SIGHUP");
}

TEST_CASE_FIXTURE(DnsFixture, "AXFR over TCP from 127.0.0.1 returns the SOA first and last and every record") {
    start();
    auto c = TcpClient::connect(v4());
    REQUIRE(c.has_value());
    REQUIRE(c->send_frame(make_query("example.com.", LDNS_RR_TYPE_AXFR, {.id = 777})));
    std::vector<std::string> rrs;
    auto d = deadline_in(5000);
    int messages = 0;
    while (rrs.size() < 2 || !rrs.back().starts_with("example.com.\t300\tIN\tSOA")) {
        auto r = c->recv_response(d);
        REQUIRE_MESSAGE(r.has_value(), "AXFR stream ended after " << messages << " messages, " << rrs.size() << " RRs");
        ++messages;
        REQUIRE(r->rcode() == LDNS_RCODE_NOERROR);
        CHECK(r->id() == 777);
        auto a = r->answer_in_order();
        rrs.insert(rrs.end(), a.begin(), a.end());
    }
    const std::string soa = norm(zone_records().front());
    CHECK(rrs.front() == soa);
    CHECK(rrs.back() == soa);
    std::vector<std::string> body(rrs.begin(), rrs.end() - 1);
    std::sort(body.begin(), body.end());
    CHECK(body == norm_sorted(zone_records()));
    MESSAGE("AXFR: " << rrs.size() << " RRs in " << messages << " messages");
}

TEST_CASE_FIXTURE(DnsFixture, "queries pipelined behind a large AXFR are answered after it, on the same connection") {
    // A transfer larger than the server's 256 KiB output high-water mark, with
    // about 105 KB of queries pipelined behind it in the same stream: the
    // transfer comes first and whole, then every answer in order.
    std::string text = "$ORIGIN bulk.test.\n$TTL 300\n@ SOA ns hm 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.1\n";
    for (int i = 0; i < 20000; ++i) text += "host" + std::to_string(i) + " TXT \"padding to make the transfer large\"\n";
    import_zone("bulk.test.", text);
    start();
    Bytes batch = TcpClient::frame(make_query("bulk.test.", LDNS_RR_TYPE_AXFR, {.id = 500}));
    const int pipelined = 3000;  // about 105 KB of queries
    for (int i = 0; i < pipelined; ++i) {
        auto f = TcpClient::frame(make_query("www.example.com.", LDNS_RR_TYPE_A, {.id = static_cast<std::uint16_t>(1000 + i)}));
        batch.insert(batch.end(), f.begin(), f.end());
    }
    auto c = TcpClient::connect(v4());
    REQUIRE(c.has_value());
    std::thread writer([&] { c->send_all(batch); });  // may block until the server reads again
    auto d = deadline_in(20000);
    std::size_t rrs = 0;
    int soas = 0;
    while (soas < 2) {
        auto r = c->recv_response(d);
        REQUIRE_MESSAGE(r.has_value(), "the transfer stopped after " << rrs << " RRs");
        REQUIRE(r->id() == 500);
        for (const auto& rr : r->answer_in_order()) {
            ++rrs;
            if (rr.find("\tSOA\t") != std::string::npos) ++soas;
        }
    }
    CHECK(rrs == 20003 + 1);
    for (int i = 0; i < pipelined; ++i) {
        auto r = c->recv_response(d);
        REQUIRE_MESSAGE(r.has_value(), "pipelined answer #" << i << " missing");
        REQUIRE(r->id() == 1000 + i);
        CHECK(r->answer() == www_a());
    }
    writer.join();
}

TEST_CASE_FIXTURE(DnsFixture, "AXFR from a client not in the allow-list is REFUSED") {
    set_setting("axfr_allow", "192.0.2.0/24");
    start();
    for (bool ipv6 : {false, true}) {
        INFO("from " << (ipv6 ? "::1" : "127.0.0.1"));
        auto r = tcp("example.com.", LDNS_RR_TYPE_AXFR, ipv6);
        REQUIRE(r.has_value());
        CHECK(r->rcode() == LDNS_RCODE_REFUSED);
        CHECK(r->answer().empty());
    }
    check_www(udp("www.example.com.", LDNS_RR_TYPE_A), "ordinary query still answered");
}

TEST_CASE_FIXTURE(DnsFixture, "malformed packets never crash or wedge the server") {
    start();
    // A fixed seed, so a failure replays; POOLDNS_SYSTEST_SEED picks another.
    const char* seed_env = std::getenv("POOLDNS_SYSTEST_SEED");
    const std::uint32_t seed = seed_env && *seed_env ? static_cast<std::uint32_t>(std::strtoul(seed_env, nullptr, 10)) : 20240607u;
    INFO("RNG seed " << seed);
    std::mt19937 rng(seed);
    auto rnd = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    auto random_bytes = [&](int n) {
        Bytes b(static_cast<std::size_t>(n));
        for (auto& x : b) x = static_cast<std::uint8_t>(rnd(0, 255));
        return b;
    };
    const std::vector<Bytes> seeds = {
        make_query("www.example.com.", LDNS_RR_TYPE_A, {.id = 1}),
        make_query("big.example.com.", LDNS_RR_TYPE_TXT, {.id = 2, .edns = true, .payload = 4096}),
        make_query("example.com.", LDNS_RR_TYPE_AXFR, {.id = 3}),
        make_query("example.com.", LDNS_RR_TYPE_SOA, {.id = 4, .edns = true}),
        make_query("nope.pool.example.com.", LDNS_RR_TYPE_ANY, {.id = 5, .rd = true}),
        make_query("example.com.", LDNS_RR_TYPE_IXFR, {.id = 6}),
    };
    // One garbled message: random bytes, a mutated valid query, or a plausible header with a random tail.
    auto garbled = [&]() -> Bytes {
        switch (rnd(0, 2)) {
        case 0:
            return random_bytes(rnd(0, 600));
        case 1: {
            Bytes b = seeds[static_cast<std::size_t>(rnd(0, static_cast<int>(seeds.size()) - 1))];
            int flips = rnd(1, 8);
            for (int i = 0; i < flips; ++i) b[static_cast<std::size_t>(rnd(0, static_cast<int>(b.size()) - 1))] = static_cast<std::uint8_t>(rnd(0, 255));
            int tail = rnd(0, 3);
            if (tail == 1) b.resize(static_cast<std::size_t>(rnd(0, static_cast<int>(b.size()))));
            if (tail == 2) {
                auto extra = random_bytes(rnd(1, 300));
                b.insert(b.end(), extra.begin(), extra.end());
            }
            return b;
        }
        default: {
            Bytes b = random_bytes(12);
            b[2] &= 0x7f;  // QR=0: a query
            for (int i = 4; i < 12; i += 2) b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(rnd(0, 1) ? 0 : rnd(0, 255));
            auto tail = random_bytes(rnd(0, 588));
            b.insert(b.end(), tail.begin(), tail.end());
            return b;
        }
        }
    };

    // UDP: 2000 datagrams from unconnected sockets, alternating IPv4 and IPv6; every
    // 100 a valid query on another socket must be answered (the server is not wedged).
    Fd u4(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    Fd u6(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    REQUIRE(u4.get() >= 0);
    REQUIRE(u6.get() >= 0);
    UdpClient probe(v4());
    int probes_failed = 0;
    std::uint8_t sink[65536];
    int responses = 0, unparseable = 0;
    std::string first_unparseable;
    auto hex = [](const std::uint8_t* p, ssize_t n) {
        std::string out;
        for (ssize_t i = 0; i < n && i < 64; ++i) out += fmt_hex(p[i]);
        return out;
    };
    for (int i = 0; i < 2000; ++i) {
        Bytes b = garbled();
        const Endpoint& to = (i % 2) ? v6() : v4();
        int fd = (i % 2) ? u6.get() : u4.get();
        ::sendto(fd, b.data(), b.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&to.addr), to.len);
        for (int sock : {u4.get(), u6.get()}) {
            ssize_t n;
            while ((n = ::recv(sock, sink, sizeof sink, MSG_DONTWAIT)) >= 0) {
                ++responses;
                if (!parse_response(Bytes(sink, sink + n)) && unparseable++ == 0) first_unparseable = hex(sink, n);
            }
        }
        if (i % 100 == 99) {
            auto r = probe.query(make_query("www.example.com.", LDNS_RR_TYPE_A, {.id = next_id()}), 2000);
            if (!r || r->answer() != www_a()) {
                ++probes_failed;
                if (!alive()) break;
            }
        }
    }
    CHECK_MESSAGE(probes_failed == 0, probes_failed << " of 20 probe queries between UDP bursts went unanswered");
    REQUIRE_MESSAGE(alive(), "pooldns died during the UDP part");
    MESSAGE("UDP part: " << responses << " responses to 2000 garbled datagrams, " << unparseable
                         << " of them not parseable by ldns");
    CHECK_MESSAGE(unparseable == 0, "a response ldns cannot parse (first 64 octets): " << first_unparseable);

    // TCP: 200 frames over 4 connections: well-framed garbage, mutated queries,
    // lengths that do not match the body; a connection the server closes is replaced.
    std::vector<TcpClient> conns;
    for (int i = 0; i < 4; ++i) {
        auto c = TcpClient::connect(v4());
        REQUIRE(c.has_value());
        conns.push_back(std::move(*c));
    }
    int closed_by_server = 0, misframed = 0;
    for (int i = 0; i < 200; ++i) {
        auto& c = conns[static_cast<std::size_t>(i % 4)];
        Bytes body = garbled();
        Bytes wire;
        bool framed = rnd(0, 3) != 0;
        if (framed) {
            wire = TcpClient::frame(body);
        } else {  // a length prefix that does not match the body: the rest of this stream is garbage
            std::uint16_t len = static_cast<std::uint16_t>(rnd(0, 1) ? rnd(0, 700) : rnd(0, 65535));
            wire = {static_cast<std::uint8_t>(len >> 8), static_cast<std::uint8_t>(len)};
            wire.insert(wire.end(), body.begin(), body.end());
            ++misframed;
        }
        bool open = c.send_all(wire) && c.drain();
        if (!open) ++closed_by_server;
        if (!open || !framed) {  // a fresh connection, so later frames are read as frames
            auto fresh = TcpClient::connect(v4());
            REQUIRE_MESSAGE(fresh.has_value(), "cannot connect over TCP during the TCP part");
            c = std::move(*fresh);
        }
    }
    for (auto& c : conns) c.drain();
    conns.clear();
    MESSAGE("TCP part: 200 frames (" << misframed << " with a wrong length) on 4 connections at a time; "
                                     << closed_by_server << " connections closed by the server");

    REQUIRE_MESSAGE(alive(), "pooldns died during the TCP part");
    check_www(udp("www.example.com.", LDNS_RR_TYPE_A, false), "UDP IPv4 after the garbage");
    check_www(udp("www.example.com.", LDNS_RR_TYPE_A, true), "UDP IPv6 after the garbage");
    check_www(tcp("www.example.com.", LDNS_RR_TYPE_A), "TCP after the garbage");
    CHECK(alive());
}

TEST_CASE_FIXTURE(DnsFixture, "names outside the zones get REFUSED and NXDOMAIN carries the SOA in authority") {
    start();
    auto out = udp("www.example.org.", LDNS_RR_TYPE_A);
    REQUIRE(out.has_value());
    CHECK(out->rcode() == LDNS_RCODE_REFUSED);
    CHECK(out->answer().empty());

    auto nx = udp("nope.example.com.", LDNS_RR_TYPE_A);
    REQUIRE(nx.has_value());
    CHECK(nx->rcode() == LDNS_RCODE_NXDOMAIN);
    CHECK(nx->aa());
    CHECK(nx->answer().empty());
    // RFC 2308: the SOA's TTL in a negative answer is min(SOA TTL, MINIMUM) = 60.
    CHECK(nx->authority() ==
          norm_sorted({"example.com. 60 IN SOA ns1.example.com. hostmaster.example.com. 2024010101 3600 600 1209600 60"}));
}
