// The VIP proxy (see proxy.hpp): listeners, client and backend connections,
// the exchange of one request and its response between them, the backend
// connection pool, timeouts, and the counters written to SQLite.
//
// Ownership: every connection object is created by make_unique, handed to its
// libuv handles' data, and freed in the last close callback (never before
// uv_close completes). A client connection and the backend connection serving
// its current exchange point at each other; whichever closes first detaches the
// other. Everything runs on the VIP thread, so nothing here takes a lock.
#include "proxy.hpp"

#include "dns/server.hpp"
#include "pooldns/http.hpp"
#include "pooldns/log.hpp"
#include "pooldns/store.hpp"
#include "tls.hpp"

#include <uv.h>

#include <fmt/format.h>
#include <openssl/rand.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace pooldns::vip {

namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
// A side whose unsent bytes pass kHighWater stops the other side reading until
// they fall under kLowWater: a fast sender never fills our memory.
constexpr std::size_t kHighWater = 512 * 1024;
constexpr std::size_t kLowWater = 128 * 1024;
constexpr std::size_t kMaxIdlePerBackend = 128;
constexpr std::size_t kMaxStash = 256 * 1024;  // pipelined bytes held while a response is under way

enum PauseReason : unsigned {
    kPauseBackpressure = 1,  // the other side's queue is full
    kPausePipeline = 2,      // client: a request is complete, its response is not
};

// Per-thread scratch: libuv reads into one buffer; TLS decrypts into the other.
thread_local std::array<char, kReadChunk> t_read_buffer;
thread_local std::array<std::uint8_t, kReadChunk> t_plain_buffer;

// The non-empty elements of a comma-separated field value (Connection: a, b).
template <typename F>
void for_each_token(std::string_view v, F&& f) {
    FieldList list{v};
    while (auto t = list.next()) {
        if (!t->empty()) f(*t);
    }
}

bool hop_by_hop(std::string_view name) {
    static constexpr std::string_view kFields[] = {"connection", "keep-alive", "proxy-connection", "te",
                                                   "trailer",    "transfer-encoding", "upgrade"};
    for (auto f : kFields) {
        if (equals_ci(name, f)) return true;
    }
    return false;
}

const char* reason_of(int status) {
    switch (status) {
        case 400: return "Bad Request";
        case 408: return "Request Timeout";
        case 413: return "Content Too Large";
        case 414: return "URI Too Long";
        case 431: return "Request Header Fields Too Large";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        case 505: return "HTTP Version Not Supported";
        default: return "Error";
    }
}

std::uint64_t now_ms(uv_loop_t* loop) {
    return uv_now(loop);
}

std::string address_text(const sockaddr_storage& ss, int* port = nullptr) {
    char buf[INET6_ADDRSTRLEN] = "";
    if (ss.ss_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
        inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
        if (port) *port = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
        inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
        if (port) *port = ntohs(a->sin6_port);
        // An IPv4 client on a dual-stack socket: show it as IPv4.
        std::string_view t(buf);
        if (t.starts_with("::ffff:") && t.find('.') != std::string_view::npos) return std::string(t.substr(7));
    }
    return buf;
}

std::array<std::uint8_t, 16> address_key(const sockaddr_storage& ss) {
    std::array<std::uint8_t, 16> k{};
    if (ss.ss_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
        k[10] = k[11] = 0xff;
        std::memcpy(k.data() + 12, &a->sin_addr, 4);
    } else if (ss.ss_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
        std::memcpy(k.data(), &a->sin6_addr, 16);
    }
    return k;
}

std::optional<sockaddr_storage> backend_sockaddr(const std::string& address, std::uint16_t port) {
    sockaddr_storage ss{};
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        return ss;
    }
    if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        return ss;
    }
    return std::nullopt;
}

// The size line of one chunk of a re-chunked body ("1f4\r\n").
class ChunkHead {
public:
    explicit ChunkHead(std::size_t size) : n_(fmt::format_to_n(buf_, sizeof buf_, "{:x}\r\n", size).size) {}
    std::span<const char> text() const { return {buf_, n_}; }

private:
    char buf_[24];
    std::size_t n_;
};

bool idempotent_method(std::string_view m) {
    return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "PUT" || m == "DELETE" || m == "TRACE";
}

}  // namespace

struct Counters {
    std::uint64_t connections = 0, active = 0, refused = 0, requests = 0;
    std::array<std::uint64_t, 5> status{};  // 1xx..5xx
    std::uint64_t bytes_in = 0, bytes_out = 0, retries = 0, no_backend = 0;
};

class BackendConn;
class ClientConn;
struct VipRuntime;

struct BackendRuntime {
    VipBackend info;
    std::uint32_t outstanding = 0;
    std::uint64_t picks = 0, failures = 0;
    std::vector<BackendConn*> idle;  // connected, waiting for the next request
    bool removed = false;            // no longer a member: idle connections closed, nothing new
    std::string set_cookie;          // the Set-Cookie field naming this member (built at reload)
    std::optional<sockaddr_storage> addr;  // address:backend_port (parsed at reload); none: not an IP

    void close_idle();
    void retire() {
        removed = true;
        close_idle();
    }
};

struct VipRuntime {
    Proxy::Impl* proxy = nullptr;
    VipConfig cfg;
    std::shared_ptr<ServerTls> tls;
    std::shared_ptr<SSL_CTX> backend_ctx;  // re-encryption context, when backend_tls
    std::vector<std::shared_ptr<BackendRuntime>> backends;
    std::vector<Candidate> candidates;  // scratch for picks
    Counters counters;
    uv_tcp_t* listener = nullptr;       // open and listening; owned by its close callback once closing
    bool listening() const { return listener != nullptr; }
    std::string listen_error;
    bool removed = false;
    std::uint64_t tie = 0;
    std::uint64_t seed = 0;             // cookie key

    // The members as pick_backend() sees them; `excluded` (a member that just
    // failed) counts as down.
    std::span<const Candidate> candidates_now(std::int64_t excluded = -1);

    std::shared_ptr<BackendRuntime> backend_by_id(std::int64_t id) const {
        for (const auto& b : backends) {
            if (b->info.server_id == id) return b;
        }
        return nullptr;
    }
};

struct Proxy::Impl {
    dns::SnapshotBox& box;
    std::shared_ptr<HealthTable> health;
    std::string db_path;
    uv_loop_t loop{};
    uv_async_t stop_async{};
    uv_timer_t tick{};
    uv_check_t flush_check{};
    std::thread thread;
    std::uint64_t version = 0;
    std::map<std::int64_t, std::shared_ptr<VipRuntime>> vips;  // by store id
    ProxyStats stats;
    std::uint64_t random_seed = 0;
    // Every open connection, so stop() can close them.
    std::vector<ClientConn*> clients;
    // Counters writer.
    uv_work_t work{};
    bool writing = false;
    std::uint64_t last_write_ms = 0;
    std::optional<Database> db;  // used only inside the work callback
    struct StatRow {
        std::int64_t vip_id;
        bool listening;
        std::string listen_error;
        Counters c;
        struct Member {
            std::int64_t server_id;
            std::uint64_t picks, failures, active;
        };
        std::vector<Member> members;
    };
    std::vector<StatRow> rows;
    std::string started_at;

    Impl(dns::SnapshotBox& b, std::shared_ptr<HealthTable> h, std::string path)
        : box(b), health(std::move(h)), db_path(std::move(path)) {}

    bool up(const VipBackend& b) const { return b.enabled && (!health || health->up(b.health)); }

    void run();
    void reconcile();
    void apply(const VipConfig& cfg, std::uint64_t cookie_seed);
    void open_listener(VipRuntime& v);
    void close_listener(VipRuntime& v);
    void write_stats(bool force);
    void shutdown_all();
};

// One TCP connection, maybe TLS: reads, writes with a byte count, pause
// reasons, and the close that frees it.
class Endpoint {
public:
    explicit Endpoint(uv_loop_t* loop) : loop_(loop) {
        uv_tcp_init(loop, &tcp_);
        tcp_.data = this;
        uv_timer_init(loop, &timer_);
        timer_.data = this;
    }
    virtual ~Endpoint() = default;
    Endpoint(const Endpoint&) = delete;
    Endpoint& operator=(const Endpoint&) = delete;

    uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&tcp_); }
    bool closing() const { return closing_; }
    // Bytes accepted by send() and not yet written to the socket.
    std::size_t queued() const { return queued_ + out_.size() + (tls_ ? tls_->buffered() : 0); }
    // Bytes of this connection's input still inside the TLS session.
    bool has_unread_input() const { return tls_ && tls_->has_unread(); }

    void start_reading() {
        if (closing_ || reading_ || paused_) return;
        if (uv_read_start(stream(), &Endpoint::on_alloc, &Endpoint::on_read) == 0) reading_ = true;
    }
    void pause(unsigned why) {
        paused_ |= why;
        if (reading_) {
            uv_read_stop(stream());
            reading_ = false;
        }
    }
    void resume(unsigned why) {
        paused_ &= ~why;
        start_reading();
    }

    // Sends plaintext (through TLS when there is a session). Bytes are gathered
    // and written once per loop iteration (flush_all() from the loop's check
    // phase): a response head and its body leave in one write and, with TLS, one
    // record. False: the connection failed or is closing; its failure path ran.
    bool send(std::span<const char> a, std::span<const char> b = {}, std::span<const char> c = {}) {
        if (closing_) return false;
        for (auto part : {a, b, c}) out_.insert(out_.end(), part.begin(), part.end());
        if (!dirty_) {
            dirty_ = true;
            dirty_list().push_back(this);
        }
        // Large bodies go out at once rather than piling up until the check phase.
        if (out_.size() >= kReadChunk) return flush();
        return true;
    }

    // Writes what send() gathered.
    bool flush() {
        if (closing_) return false;
        if (out_.empty()) return true;
        if (tls_) {
            bool ok = tls_->write({reinterpret_cast<const std::uint8_t*>(out_.data()), out_.size()});
            out_.clear();
            if (!ok) {
                fail(tls_->error());
                return false;
            }
            return flush_tls();
        }
        bool ok = write_raw(out_);
        out_.clear();
        if (ok) wake_if_drained();
        return ok;
    }

    // The loop's check phase: every connection written to in this iteration.
    static void flush_all() {
        auto& list = dirty_list();
        thread_local std::vector<Endpoint*> now;  // swapped with the list: both keep their capacity
        for (int round = 0; round < 8 && !list.empty(); ++round) {
            now.clear();
            now.swap(list);
            for (auto* e : now) e->dirty_ = false;
            for (auto* e : now) e->flush();
        }
    }

    // Ciphertext the TLS session produced (handshake, alerts, records).
    bool flush_tls() {
        if (!tls_ || tls_->pending() == 0) return !closing_;
        bool ok = write_raw(tls_->ciphertext());
        tls_->consume();
        if (ok) wake_if_drained();
        return ok;
    }

    void forget_waiter(Endpoint* e) {
        if (drain_waiter_ == e) drain_waiter_ = nullptr;
    }
    // Backpressure from this side onto `source` (the side whose bytes we just queued).
    void throttle(Endpoint* source) {
        if (queued() > kHighWater && source && !source->closing()) {
            source->pause(kPauseBackpressure);
            drain_waiter_ = source;
        }
    }

    // Close once every queued byte is written (a response that ends the connection).
    void close_after_flush() {
        if (closing_) return;
        if (!flush()) return;
        close_when_flushed_ = true;
        pause(kPauseBackpressure);
        if (tls_) {
            tls_->shutdown();
            flush_tls();
        }
        if (queued_ == 0 && !closing_) close();
    }

    void close() {
        if (closing_) return;
        closing_ = true;
        if (dirty_) {
            auto& list = dirty_list();
            list.erase(std::remove(list.begin(), list.end(), this), list.end());
            dirty_ = false;
        }
        out_.clear();
        if (reading_) uv_read_stop(stream());
        reading_ = false;
        uv_timer_stop(&timer_);
        before_close();
        open_handles_ += 2;
        uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &Endpoint::on_handle_closed);
        uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &Endpoint::on_handle_closed);
    }

protected:
    virtual void on_plain(std::span<const std::uint8_t> data) = 0;
    virtual void on_eof() = 0;
    virtual void on_failure(std::string_view reason) = 0;
    virtual void on_write_error(std::string_view reason) { on_failure(reason); }
    virtual void before_close() {}
    virtual void on_tls_established() {}

    // The socket and the timer close with this callback; the object is freed
    // when both have closed.
    static void on_handle_closed(uv_handle_t* h) {
        auto* self = static_cast<Endpoint*>(h->data);
        if (--self->open_handles_ == 0) {
            std::unique_ptr<Endpoint> owned(self);
        }
    }
    // The connection whose timer fired (timer_.data is the Endpoint).
    template <typename Conn>
    static Conn* owner_of(uv_timer_t* t) {
        return static_cast<Conn*>(static_cast<Endpoint*>(t->data));
    }

    void fail(std::string_view reason) {
        if (closing_) return;
        on_failure(reason);
    }

    uv_loop_t* loop_;
    uv_tcp_t tcp_{};
    uv_timer_t timer_{};  // each kind of connection's one timer (connect/idle; header/idle/response)
    std::unique_ptr<TlsChannel> tls_;
    bool connecting_ = false;

private:
    struct WriteReq {
        uv_write_t req{};
        std::vector<char> data;
        Endpoint* owner = nullptr;
    };

    static std::vector<Endpoint*>& dirty_list() {
        thread_local std::vector<Endpoint*> list;
        return list;
    }

    static std::vector<std::unique_ptr<WriteReq>>& free_reqs() {
        thread_local std::vector<std::unique_ptr<WriteReq>> reqs;
        return reqs;
    }

    bool write_raw(std::span<const char> a, std::span<const char> b = {}, std::span<const char> c = {}) {
        if (closing_) return false;
        std::array<std::span<const char>, 3> parts{a, b, c};
        std::size_t total = a.size() + b.size() + c.size();
        if (total == 0) return true;
        std::size_t skip = 0;  // bytes written at once
        if (queued_ == 0 && !connecting_) {
            uv_buf_t bufs[3];
            unsigned n = 0;
            for (auto p : parts) {
                if (!p.empty()) bufs[n++] = uv_buf_init(const_cast<char*>(p.data()), static_cast<unsigned>(p.size()));
            }
            int r = uv_try_write(stream(), bufs, n);
            if (r >= 0) {
                skip = static_cast<std::size_t>(r);
            } else if (r != UV_EAGAIN) {
                on_write_error(fmt::format("write: {}", uv_strerror(r)));
                return false;
            }
            if (skip == total) return true;
        }
        auto& pool = free_reqs();
        std::unique_ptr<WriteReq> w;
        if (pool.empty()) {
            w = std::make_unique<WriteReq>();
        } else {
            w = std::move(pool.back());
            pool.pop_back();
        }
        w->data.clear();
        w->data.reserve(total - skip);
        for (auto p : parts) {
            if (skip >= p.size()) {
                skip -= p.size();
                continue;
            }
            w->data.insert(w->data.end(), p.begin() + static_cast<std::ptrdiff_t>(skip), p.end());
            skip = 0;
        }
        w->owner = this;
        w->req.data = w.get();
        uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
        std::size_t size = w->data.size();
        int r = uv_write(&w->req, stream(), &buf, 1, &Endpoint::on_written);
        if (r != 0) {
            on_write_error(fmt::format("write: {}", uv_strerror(r)));
            return false;
        }
        queued_ += size;
        (void)w.release();
        return true;
    }

    // A reader paused on our queue resumes once it is low again: from the write
    // callback, or after a flush whose bytes left at once (TLS early data after
    // a handshake), when no write callback will come.
    void wake_if_drained() {
        if (drain_waiter_ && queued() <= kLowWater) {
            Endpoint* waiter = drain_waiter_;
            drain_waiter_ = nullptr;
            waiter->resume(kPauseBackpressure);
        }
    }

    static void on_written(uv_write_t* req, int status) {
        std::unique_ptr<WriteReq> w(static_cast<WriteReq*>(req->data));
        Endpoint* self = w->owner;
        self->queued_ -= w->data.size();
        if (w->data.capacity() <= 2 * kReadChunk && free_reqs().size() < 256) free_reqs().push_back(std::move(w));
        if (self->closing_) return;
        if (status < 0) {
            self->on_write_error(fmt::format("write: {}", uv_strerror(status)));
            return;
        }
        self->wake_if_drained();
        if (self->close_when_flushed_ && self->queued_ == 0) self->close();
    }

    static void on_alloc(uv_handle_t*, std::size_t, uv_buf_t* buf) {
        *buf = uv_buf_init(t_read_buffer.data(), static_cast<unsigned>(t_read_buffer.size()));
    }

    static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
        auto* self = static_cast<Endpoint*>(s->data);
        if (nread == 0 || self->closing_) return;
        if (nread < 0) {
            if (nread == UV_EOF) {
                self->on_eof();
            } else {
                self->fail(fmt::format("read: {}", uv_strerror(static_cast<int>(nread))));
            }
            return;
        }
        if (!self->tls_) {
            self->on_plain({reinterpret_cast<const std::uint8_t*>(buf->base), static_cast<std::size_t>(nread)});
            return;
        }
        self->tls_->feed({reinterpret_cast<const std::uint8_t*>(buf->base), static_cast<std::size_t>(nread)});
        bool was_established = self->tls_->established();
        for (;;) {
            std::size_t n = 0;
            auto r = self->tls_->read(t_plain_buffer, n);
            if (!was_established && self->tls_->established()) {
                was_established = true;
                self->on_tls_established();
                if (self->closing_) return;
            }
            if (r == TlsChannel::Read::Data) {
                self->on_plain({t_plain_buffer.data(), n});
                if (self->closing_) return;
                continue;
            }
            if (!self->flush_tls()) return;
            if (r == TlsChannel::Read::NeedMore) return;
            if (r == TlsChannel::Read::Closed) {
                self->on_eof();
                return;
            }
            self->fail(self->tls_->error());
            return;
        }
    }

    std::size_t queued_ = 0;
    unsigned paused_ = 0;
    unsigned open_handles_ = 0;
    bool reading_ = false;
    bool closing_ = false;
    bool close_when_flushed_ = false;
    bool dirty_ = false;      // in dirty_list(): out_ is flushed in this iteration's check phase
    std::vector<char> out_;   // plaintext gathered by send()
    Endpoint* drain_waiter_ = nullptr;
};

// A connection to one backend: owned by the client whose request it carries,
// or idle in its BackendRuntime's pool.
class BackendConn final : public Endpoint {
public:
    BackendConn(uv_loop_t* loop, std::shared_ptr<VipRuntime> vip, std::shared_ptr<BackendRuntime> member)
        : Endpoint(loop), vip_(std::move(vip)), member_(std::move(member)), parser_(HttpParser::Response) {}

    HttpParser& parser() { return parser_; }
    bool delivered() const { return delivered_; }  // a response byte arrived in the current exchange

    // Starts connecting; false when it cannot even start (bad address).
    bool connect(std::string& error) {
        const auto& addr = member_->addr;
        if (!addr) {
            error = fmt::format("backend address '{}' is not an IP address", member_->info.address);
            return false;
        }
        if (vip_->cfg.backend_tls && !vip_->backend_ctx) {
            // Never fall back to plaintext to a member the operator asked to reach over TLS.
            error = "backend TLS context could not be loaded (see vip_backend_tls_failed)";
            return false;
        }
        if (vip_->cfg.backend_tls) {
            const std::string& sni = vip_->cfg.backend_sni.empty() ? member_->info.host : vip_->cfg.backend_sni;
            tls_ = TlsChannel::connect(vip_->backend_ctx.get(), sni);
            if (!tls_) {
                error = "TLS session could not be created";
                return false;
            }
        }
        connect_req_.data = this;
        int r = uv_tcp_connect(&connect_req_, &tcp_, reinterpret_cast<const sockaddr*>(&*addr), &BackendConn::on_connect);
        if (r != 0) {
            error = fmt::format("connect: {}", uv_strerror(r));
            return false;
        }
        connecting_ = true;
        uv_timer_start(&timer_, &BackendConn::on_connect_timeout, vip_->cfg.connect_timeout_ms, 0);
        return true;
    }

    void attach(ClientConn* client) {
        client_ = client;
        delivered_ = false;
    }
    void detach() { client_ = nullptr; }

    // Back to the pool after a complete exchange; closed instead when the pool
    // is full or the member is gone.
    void release() {
        client_ = nullptr;
        if (closing() || member_->removed || member_->idle.size() >= kMaxIdlePerBackend) {
            close();
            return;
        }
        member_->idle.push_back(this);
        resume(kPauseBackpressure);
        start_reading();  // notice a close while idle
        uv_timer_start(&timer_, &BackendConn::on_idle_timeout, kIdleMs, 0);
    }

    // Taken from the pool for a new exchange.
    void take(ClientConn* client) {
        uv_timer_stop(&timer_);
        attach(client);
    }

protected:
    void on_plain(std::span<const std::uint8_t> data) override;
    void on_eof() override;
    void on_failure(std::string_view reason) override;
    void before_close() override;
    // The connect timeout covers the TLS handshake too: a member that accepts
    // the TCP connection and never answers the ClientHello is a failed connect.
    void on_tls_established() override { uv_timer_stop(&timer_); }

private:
    static constexpr std::uint64_t kIdleMs = 30000;  // an idle pooled connection is closed after this

    void remove_from_pool() {
        auto& idle = member_->idle;
        idle.erase(std::remove(idle.begin(), idle.end(), this), idle.end());
    }

    static void on_connect(uv_connect_t* req, int status);
    static void on_connect_timeout(uv_timer_t* t);
    static void on_idle_timeout(uv_timer_t* t) { owner_of<BackendConn>(t)->close(); }

    std::shared_ptr<VipRuntime> vip_;
    std::shared_ptr<BackendRuntime> member_;
    HttpParser parser_;
    uv_connect_t connect_req_{};
    ClientConn* client_ = nullptr;
    bool delivered_ = false;

    friend class ClientConn;
};

// One client connection and the exchange under way on it.
class ClientConn final : public Endpoint {
public:
    ClientConn(uv_loop_t* loop, std::shared_ptr<VipRuntime> vip)
        : Endpoint(loop), vip_(std::move(vip)), parser_(HttpParser::Request, vip_->cfg.limits) {}

    uv_tcp_t* tcp() { return &tcp_; }

    void start() {
        sockaddr_storage ss{};
        int len = sizeof ss;
        if (uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
            client_ip_ = address_text(ss, &client_port_);
            client_key_ = address_key(ss);
        }
        uv_tcp_nodelay(&tcp_, 1);
        client_index_ = vip_->proxy->clients.size();
        vip_->proxy->clients.push_back(this);
        ++vip_->counters.connections;
        ++vip_->counters.active;
        started_ = true;
        if (vip_->tls) {
            // The SNI callback points at this ServerTls: keep it while the session lives.
            server_tls_ = vip_->tls;
            tls_ = TlsChannel::accept(server_tls_->context());
            if (!tls_) {
                close();
                return;
            }
        }
        vip_->proxy->stats.connections.fetch_add(1, std::memory_order_relaxed);
        last_activity_ = now_ms(loop_);
        // The first request (and the TLS handshake) must arrive within the header timeout.
        arm(Timer::Header, vip_->cfg.header_timeout_ms);
        start_reading();
    }

    // Backend events.
    void backend_data(BackendConn& b, std::span<const std::uint8_t> data);
    void parse_response(BackendConn& b, std::span<const std::uint8_t> data);
    void backend_eof(BackendConn& b);
    // `retryable`: the member cannot have acted on the request (it refused, reset
    // or closed before answering); false when it took the request and went silent.
    void backend_failed(BackendConn& b, std::string_view reason, bool timeout, bool retryable = true);


protected:
    void on_plain(std::span<const std::uint8_t> data) override;
    void on_eof() override;
    void on_failure(std::string_view reason) override;
    void before_close() override;

private:
    enum class Phase : std::uint8_t {
        Idle,        // between requests
        Head,        // a request head is arriving
        Body,        // the request body is being forwarded
        Waiting,     // the request is complete; its response is not
        Tunnel,      // after 101: raw bytes both ways
        Draining,    // a local reply was sent; the connection closes when it is written
    };
    enum class Timer : std::uint8_t { None, Header, Idle, Response };

    std::size_t process(std::span<const std::uint8_t> buf);
    void process_stash();
    void release_outstanding();  // the exchange no longer counts against member_
    void on_request_head(const HttpHead& head);
    void forward_request_body(std::span<const std::uint8_t> body);
    void on_request_done();
    bool open_backend(const std::shared_ptr<BackendRuntime>& member, std::string& error);
    void on_response_head(BackendConn& b, const HttpHead& head);
    void forward_response_body(std::span<const std::uint8_t> body);
    void exchange_done(BackendConn& b, bool backend_reusable);
    void reply(int status, std::string_view detail, bool close_after);
    void count_status(int status);
    void end_request_log(int status);
    void drop_backend(bool reusable);
    void arm(Timer t, std::uint64_t ms);
    void disarm();
    void continue_after_exchange();
    void send_to_backend(std::span<const char> a, std::span<const char> b = {}, std::span<const char> c = {});
    static void on_timer(uv_timer_t* t);

    std::shared_ptr<VipRuntime> vip_;
    std::shared_ptr<ServerTls> server_tls_;  // the certificates this connection's session uses
    HttpParser parser_;
    std::size_t client_index_ = std::numeric_limits<std::size_t>::max();  // in Proxy::Impl::clients
    Timer timer_kind_ = Timer::None;
    std::uint64_t deadline_ = 0;   // when timer_kind_ trips
    std::uint64_t armed_for_ = 0;  // when the libuv timer fires (<= deadline_)
    bool timer_armed_ = false;
    std::string resp_head_;        // the response head being written (capacity kept)
    std::uint64_t last_activity_ = 0;
    Phase phase_ = Phase::Idle;
    std::string stash_;  // unconsumed plaintext: an incomplete head, or pipelined requests

    std::string client_ip_;
    int client_port_ = 0;
    std::array<std::uint8_t, 16> client_key_{};

    // The exchange under way.
    BackendConn* backend_ = nullptr;
    std::shared_ptr<BackendRuntime> member_;
    std::string out_head_;       // the request head as sent to the backend (kept for a retry)
    bool retried_ = false;
    bool idempotent_ = false;
    bool has_body_ = false;
    bool request_chunked_ = false;
    bool request_done_ = false;
    bool client_keep_alive_ = false;
    bool client_http10_ = false;
    bool upgrade_ = false;
    bool head_request_ = false;
    bool local_reply_ = false;   // the proxy answered; request body bytes are dropped
    bool set_cookie_ = false;
    bool response_started_ = false;  // response bytes went to the client
    bool response_chunked_ = false;
    bool response_close_ = false;    // the client connection closes after this response
    bool client_eof_ = false;
    bool started_ = false;           // counted as an active connection
    bool holds_outstanding_ = false; // member_->outstanding counts this exchange
    bool interim_ = false;           // the response head just parsed was a 1xx
    std::string b_stash_;            // an incomplete response head, fed again with the next bytes
    int status_ = 0;
    std::uint64_t request_bytes_in_ = 0, request_bytes_out_ = 0;
    std::uint64_t request_start_ = 0;
    std::string log_method_, log_target_;

    friend class BackendConn;
};

std::span<const Candidate> VipRuntime::candidates_now(std::int64_t excluded) {
    candidates.clear();
    for (const auto& b : backends) {
        bool up = proxy->up(b->info) && b->info.server_id != excluded;
        candidates.push_back({static_cast<std::uint64_t>(b->info.server_id), b->info.weight, up, b->outstanding});
    }
    return candidates;
}

// ---------------------------------------------------------------------------
// BackendConn

void BackendConn::on_connect(uv_connect_t* req, int status) {
    auto* self = static_cast<BackendConn*>(req->data);
    self->connecting_ = false;
    if (self->closing()) return;
    if (!self->tls_) uv_timer_stop(&self->timer_);
    if (status < 0) {
        self->fail(fmt::format("connect: {}", uv_strerror(status)));
        return;
    }
    uv_tcp_nodelay(&self->tcp_, 1);
    if (self->tls_) {
        if (!self->tls_->handshake()) {
            self->fail(self->tls_->error());
            return;
        }
        if (!self->flush_tls()) return;
    }
    self->start_reading();
}

void BackendConn::on_connect_timeout(uv_timer_t* t) {
    auto* self = owner_of<BackendConn>(t);
    if (self->closing()) return;
    ClientConn* c = self->client_;
    if (c) {
        c->backend_failed(*self, "connect timeout", true);
    } else {
        self->close();
    }
}

void BackendConn::on_plain(std::span<const std::uint8_t> data) {
    if (!client_) {
        // Bytes on an idle pooled connection: nothing asked for them.
        close();
        return;
    }
    delivered_ = true;
    client_->backend_data(*this, data);
}

void BackendConn::on_eof() {
    if (client_) {
        client_->backend_eof(*this);
    } else {
        close();
    }
}

void BackendConn::on_failure(std::string_view reason) {
    if (client_) {
        client_->backend_failed(*this, reason, false);
    } else {
        close();
    }
}

void BackendConn::before_close() {
    remove_from_pool();
    if (client_) {
        ClientConn* c = client_;
        client_ = nullptr;
        if (c->backend_ == this) c->backend_ = nullptr;
        c->forget_waiter(this);
    }
}

// ---------------------------------------------------------------------------
// ClientConn

void BackendRuntime::close_idle() {
    auto conns = idle;  // close() takes each out of `idle`
    for (auto* c : conns) c->close();
}

// The libuv timer only ever moves earlier: a deadline pushed later (every
// request re-arms the idle and response timeouts) is found when it fires, so a
// keep-alive exchange costs no timer-heap operation.
void ClientConn::arm(Timer t, std::uint64_t ms) {
    timer_kind_ = t;
    std::uint64_t now = now_ms(loop_);
    deadline_ = now + ms;
    if (!timer_armed_ || deadline_ < armed_for_) {
        uv_timer_start(&timer_, &ClientConn::on_timer, ms, 0);
        timer_armed_ = true;
        armed_for_ = deadline_;
    }
}

void ClientConn::disarm() {
    timer_kind_ = Timer::None;
}

void ClientConn::on_timer(uv_timer_t* t) {
    auto* self = owner_of<ClientConn>(t);
    self->timer_armed_ = false;
    if (self->closing() || self->timer_kind_ == Timer::None) return;
    const auto& cfg = self->vip_->cfg;
    std::uint64_t now = now_ms(self->loop_);
    if (now < self->deadline_) {
        uv_timer_start(&self->timer_, &ClientConn::on_timer, self->deadline_ - now, 0);
        self->timer_armed_ = true;
        self->armed_for_ = self->deadline_;
        return;
    }
    switch (self->timer_kind_) {
        case Timer::Header:
            // Slow or silent client (slowloris): the head did not arrive in time.
            log(LogLevel::Debug, "vip_header_timeout", "vip={} client={}:{}", cfg.name, self->client_ip_, self->client_port_);
            if (self->phase_ == Phase::Head && (!self->tls_ || self->tls_->established())) {
                self->reply(408, "the request head did not arrive in time", true);
            } else {
                self->close();
            }
            return;
        case Timer::Response:
            if (!self->response_started_ && self->backend_) {
                self->backend_failed(*self->backend_, "response timeout", true, false);
            } else {
                self->close();
            }
            return;
        case Timer::Idle: {
            std::uint64_t idle = now - self->last_activity_;
            if (idle < cfg.idle_timeout_ms) {
                self->arm(Timer::Idle, cfg.idle_timeout_ms - idle);
                return;
            }
            self->close();
            return;
        }
        case Timer::None:
            return;
    }
}

void ClientConn::on_plain(std::span<const std::uint8_t> data) {
    vip_->counters.bytes_in += data.size();
    request_bytes_in_ += data.size();
    last_activity_ = now_ms(loop_);
    if (phase_ == Phase::Tunnel) {
        if (backend_) {
            send_to_backend({reinterpret_cast<const char*>(data.data()), data.size()});
        }
        return;
    }
    if (phase_ == Phase::Draining) return;
    if (stash_.empty()) {
        std::size_t used = process(data);
        if (!closing() && used < data.size()) stash_.assign(reinterpret_cast<const char*>(data.data()) + used, data.size() - used);
    } else {
        stash_.append(reinterpret_cast<const char*>(data.data()), data.size());
        process_stash();
    }
    if (!closing() && stash_.size() > kMaxStash && phase_ != Phase::Head) pause(kPausePipeline);
}

std::size_t ClientConn::process(std::span<const std::uint8_t> buf) {
    std::size_t used = 0;
    while (!closing()) {
        // (A bodiless request's Done step still has to be taken, on an empty span if need be.)
        if ((phase_ == Phase::Waiting && request_done_) || phase_ == Phase::Tunnel || phase_ == Phase::Draining) {
            // A pipelined request waits until this response is done.
            if (used < buf.size() && phase_ == Phase::Waiting) pause(kPausePipeline);
            return phase_ == Phase::Draining ? buf.size() : used;
        }
        if (phase_ == Phase::Idle) {
            if (used == buf.size()) return used;
            phase_ = Phase::Head;
            request_start_ = now_ms(loop_);
            // The first request's clock started at accept (it covers the TLS handshake).
            if (timer_kind_ != Timer::Header) arm(Timer::Header, vip_->cfg.header_timeout_ms);
        }
        HttpStep s = parser_.feed(buf.subspan(used));
        used += s.consumed;
        switch (s.state) {
            case HttpState::NeedMore:
                return used;
            case HttpState::HeadersDone:
                on_request_head(parser_.head());
                break;
            case HttpState::Body:
                forward_request_body(s.body);
                break;
            case HttpState::Done:
                on_request_done();
                break;
            case HttpState::Error:
                log(LogLevel::Debug, "vip_bad_request", "vip={} client={}:{} status={} reason=\"{}\"", vip_->cfg.name,
                    client_ip_, client_port_, s.error.status, s.error.reason);
                if (phase_ == Phase::Head || !response_started_) {
                    if (backend_) drop_backend(false);
                    reply(s.error.status, s.error.reason, true);
                } else {
                    close();
                }
                return buf.size();
        }
    }
    return buf.size();
}

void ClientConn::on_request_head(const HttpHead& head) {
    ++vip_->counters.requests;
    vip_->proxy->stats.requests.fetch_add(1, std::memory_order_relaxed);
    const auto& cfg = vip_->cfg;
    request_bytes_out_ = 0;
    request_bytes_in_ = head.bytes.size();
    status_ = 0;
    retried_ = false;
    response_started_ = response_chunked_ = response_close_ = false;
    request_done_ = false;
    local_reply_ = false;
    set_cookie_ = false;
    idempotent_ = idempotent_method(head.method);
    has_body_ = head.framing == BodyFraming::Chunked || (head.framing == BodyFraming::Length && head.content_length > 0);
    request_chunked_ = head.framing == BodyFraming::Chunked;
    client_keep_alive_ = head.keep_alive;
    client_http10_ = head.minor_version == 0;
    upgrade_ = head.upgrade;
    head_request_ = head.method == "HEAD";
    if (cfg.access_log) {
        log_method_.assign(head.method);
        log_target_.assign(head.target.substr(0, 512));
    }
    phase_ = has_body_ ? Phase::Body : Phase::Waiting;
    // While the body arrives, silence longer than the idle timeout ends it.
    arm(Timer::Idle, cfg.idle_timeout_ms);

    // The request head as the backend sees it: hop-by-hop fields dropped, the
    // X-Forwarded-* set, the body framing ours.
    std::string& out = out_head_;
    out.clear();
    out.reserve(head.bytes.size() + 128);
    out.append(head.method).append(" ").append(head.target).append(" HTTP/1.1\r\n");
    std::string forwarded_for;
    std::string_view connection_tokens[16];
    std::size_t n_tokens = 0;
    std::optional<std::uint64_t> cookie_member;
    for (const auto& f : head.fields) {
        if (equals_ci(f.name, "connection")) {
            for_each_token(f.value, [&](std::string_view t) {
                if (n_tokens < 16) connection_tokens[n_tokens++] = t;
            });
        }
    }
    for (const auto& f : head.fields) {
        if (hop_by_hop(f.name)) {
            if (upgrade_ && equals_ci(f.name, "upgrade")) out.append(f.name).append(": ").append(f.value).append("\r\n");
            continue;
        }
        bool listed = false;
        for (std::size_t i = 0; i < n_tokens; ++i) listed = listed || equals_ci(f.name, connection_tokens[i]);
        if (listed) continue;
        if (equals_ci(f.name, "x-forwarded-for")) {
            if (!forwarded_for.empty()) forwarded_for += ", ";
            forwarded_for.append(f.value);
            continue;
        }
        if (equals_ci(f.name, "x-forwarded-proto") || equals_ci(f.name, "x-forwarded-host")) continue;
        if (equals_ci(f.name, "content-length")) continue;  // ours below (duplicates were equal)
        if (cfg.persist == Persist::Cookie && equals_ci(f.name, "cookie") && !cookie_member) {
            // Cookie: a=1; MS-WSMAN=token; b=2
            std::string_view v = f.value;
            while (!v.empty()) {
                auto semi = v.find(';');
                std::string_view pair = v.substr(0, semi);
                while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
                auto eq = pair.find('=');
                if (eq != std::string_view::npos && pair.substr(0, eq) == cfg.cookie_name) {
                    std::string_view value = pair.substr(eq + 1);
                    while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
                    if (auto id = decode_member_token(value, vip_->seed)) cookie_member = id;
                }
                if (semi == std::string_view::npos) break;
                v.remove_prefix(semi + 1);
            }
        }
        out.append(f.name).append(": ").append(f.value).append("\r\n");
    }
    if (!forwarded_for.empty()) forwarded_for += ", ";
    forwarded_for += client_ip_;
    out.append("X-Forwarded-For: ").append(forwarded_for).append("\r\n");
    out.append("X-Forwarded-Proto: ").append(vip_->tls ? "https" : "http").append("\r\n");
    if (!head.host.empty()) out.append("X-Forwarded-Host: ").append(head.host).append("\r\n");
    if (head.framing == BodyFraming::Length) {
        fmt::format_to(std::back_inserter(out), "Content-Length: {}\r\n", head.content_length);
    } else if (request_chunked_) {
        out.append("Transfer-Encoding: chunked\r\n");
    }
    if (upgrade_) out.append("Connection: Upgrade\r\n");
    out.append("\r\n");

    Pick p = pick_backend(vip_->candidates_now(), cfg.persist, client_key_, cookie_member, vip_->tie++);
    if (!p.found) {
        ++vip_->counters.no_backend;
        reply(503, fmt::format("no healthy member in pool {}", cfg.pool), has_body_);
        return;
    }
    set_cookie_ = p.set_cookie;
    member_ = vip_->backends[p.index];
    std::string error;
    if (!open_backend(member_, error)) {
        reply(502, error, has_body_);
        return;
    }
    send_to_backend(out_head_);
}

bool ClientConn::open_backend(const std::shared_ptr<BackendRuntime>& member, std::string& error) {
    ++member->picks;
    ++member->outstanding;
    holds_outstanding_ = true;
    // A pooled connection, if one is still open.
    while (!member->idle.empty()) {
        BackendConn* b = member->idle.back();
        member->idle.pop_back();
        if (b->closing()) continue;
        b->take(this);
        backend_ = b;
        break;
    }
    if (!backend_) {
        auto conn = std::make_unique<BackendConn>(loop_, vip_, member);
        conn->attach(this);
        if (!conn->connect(error)) {
            release_outstanding();
            ++member->failures;
            BackendConn* raw = conn.release();
            raw->detach();
            raw->close();
            return false;
        }
        backend_ = conn.release();
    }
    interim_ = false;
    if (head_request_) backend_->parser().response_to_head();
    return true;
}

void ClientConn::release_outstanding() {
    if (holds_outstanding_ && member_) --member_->outstanding;
    holds_outstanding_ = false;
}

void ClientConn::send_to_backend(std::span<const char> a, std::span<const char> b, std::span<const char> c) {
    if (!backend_) return;  // the exchange ended (a local reply): nothing more goes out
    BackendConn* be = backend_;
    if (!be->send(a, b, c)) return;  // its failure path ran
    if (backend_ == be) be->throttle(this);
}

void ClientConn::forward_request_body(std::span<const std::uint8_t> body) {
    if (local_reply_ || body.empty()) return;
    std::span<const char> data(reinterpret_cast<const char*>(body.data()), body.size());
    if (request_chunked_) {
        ChunkHead size(body.size());
        send_to_backend(size.text(), data, {"\r\n", 2});
    } else {
        send_to_backend(data);
    }
}

void ClientConn::on_request_done() {
    if (local_reply_) {
        // The proxy answered this request itself.
        local_reply_ = false;
        if (phase_ != Phase::Draining) continue_after_exchange();
        return;
    }
    request_done_ = true;
    if (request_chunked_) send_to_backend({"0\r\n\r\n", 5});
    if (closing()) return;
    if (phase_ == Phase::Body || phase_ == Phase::Head) phase_ = Phase::Waiting;
    if (phase_ == Phase::Waiting && !response_started_) arm(Timer::Response, vip_->cfg.response_timeout_ms);
}

void ClientConn::backend_data(BackendConn& b, std::span<const std::uint8_t> data) {
    last_activity_ = now_ms(loop_);
    if (phase_ == Phase::Tunnel) {
        vip_->counters.bytes_out += data.size();
        request_bytes_out_ += data.size();
        if (send({reinterpret_cast<const char*>(data.data()), data.size()})) throttle(&b);
        return;
    }
    if (!b_stash_.empty()) {
        // The parser needs an incomplete head fed again, followed by the new bytes.
        std::string buf;
        buf.swap(b_stash_);
        buf.append(reinterpret_cast<const char*>(data.data()), data.size());
        parse_response(b, {reinterpret_cast<const std::uint8_t*>(buf.data()), buf.size()});
        return;
    }
    parse_response(b, data);
}

void ClientConn::parse_response(BackendConn& b, std::span<const std::uint8_t> data) {
    std::size_t used = 0;
    HttpParser& rp = b.parser();
    while (!closing() && backend_ == &b) {
        HttpStep s = rp.feed(data.subspan(used));
        used += s.consumed;
        switch (s.state) {
            case HttpState::NeedMore: {
                // An incomplete response head: keep its bytes until the rest arrives.
                std::size_t left = data.size() - used;
                if (left) {
                    if (left > vip_->cfg.limits.header_section + 4096) {
                        backend_failed(b, "response head too large", false);
                        return;
                    }
                    b_stash_.assign(reinterpret_cast<const char*>(data.data()) + used, left);
                }
                return;
            }
            case HttpState::HeadersDone: {
                const HttpHead& h = rp.head();
                if (h.status == 101 && upgrade_) {
                    // Switching protocols: pass the head on, then bytes both ways.
                    disarm();
                    count_status(101);
                    status_ = 101;
                    response_started_ = true;
                    send({h.bytes.data(), h.bytes.size()});
                    vip_->counters.bytes_out += h.bytes.size();
                    phase_ = Phase::Tunnel;
                    end_request_log(101);
                    arm(Timer::Idle, vip_->cfg.idle_timeout_ms);
                    release_outstanding();  // a tunnel is not an outstanding request
                    std::size_t rest = data.size() - used;
                    if (rest) {
                        send({reinterpret_cast<const char*>(data.data()) + used, rest});
                        vip_->counters.bytes_out += rest;
                    }
                    if (!stash_.empty()) {
                        std::string s2;
                        s2.swap(stash_);
                        send_to_backend(s2);
                    }
                    resume(kPausePipeline);
                    return;
                }
                if (h.status < 200) {
                    // 100 Continue and other interim responses go to the client as they are.
                    interim_ = true;
                    // RFC 9110 section 15.2: never to an HTTP/1.0 client.
                    if (h.status != 101 && !client_http10_) {
                        send({h.bytes.data(), h.bytes.size()});
                        vip_->counters.bytes_out += h.bytes.size();
                    }
                    break;
                }
                on_response_head(b, h);
                break;
            }
            case HttpState::Body:
                forward_response_body(s.body);
                if (!closing() && backend_ == &b) throttle(&b);
                break;
            case HttpState::Done:
                if (interim_) {
                    interim_ = false;  // the final response follows
                    break;
                }
                if (used < data.size() || b.has_unread_input()) {
                    // Bytes after the response (in this read or still in the TLS
                    // session): the backend is confused; do not reuse it.
                    exchange_done(b, false);
                } else {
                    exchange_done(b, rp.head().keep_alive);
                }
                return;
            case HttpState::Error:
                if (!response_started_) {
                    backend_failed(b, fmt::format("bad response: {}", s.error.reason), false);
                } else {
                    close();
                }
                return;
        }
    }
}

void ClientConn::on_response_head(BackendConn& b, const HttpHead& h) {
    arm(Timer::Idle, vip_->cfg.idle_timeout_ms);
    status_ = h.status;
    count_status(h.status);
    response_started_ = true;
    // The connection closes after this response when the client asked, when
    // the request is not finished (an early answer), or when the body can only
    // be delimited by closing (an HTTP/1.0 client and no length).
    bool unframed = h.framing == BodyFraming::Chunked || h.framing == BodyFraming::UntilClose;
    response_chunked_ = unframed && !client_http10_;
    bool until_close = unframed && client_http10_;
    response_close_ = !client_keep_alive_ || until_close || (phase_ == Phase::Body && !request_done_) || client_eof_;

    std::string& out = resp_head_;
    out.clear();
    out.reserve(h.bytes.size() + 128);
    fmt::format_to(std::back_inserter(out), "HTTP/1.1 {} ", h.status);
    out.append(h.reason).append("\r\n");
    for (const auto& f : h.fields) {
        if (hop_by_hop(f.name)) continue;
        if (equals_ci(f.name, "content-length") && h.framing == BodyFraming::Chunked) continue;
        out.append(f.name).append(": ").append(f.value).append("\r\n");
    }
    if (set_cookie_ && member_) out.append(member_->set_cookie);
    if (response_chunked_) out.append("Transfer-Encoding: chunked\r\n");
    if (response_close_) {
        out.append("Connection: close\r\n");
    } else if (client_http10_) {
        out.append("Connection: keep-alive\r\n");
    }
    out.append("\r\n");
    vip_->counters.bytes_out += out.size();
    request_bytes_out_ += out.size();
    if (send(out)) throttle(&b);
}

void ClientConn::forward_response_body(std::span<const std::uint8_t> body) {
    if (body.empty()) return;
    vip_->counters.bytes_out += body.size();
    request_bytes_out_ += body.size();
    std::span<const char> data(reinterpret_cast<const char*>(body.data()), body.size());
    if (response_chunked_) {
        ChunkHead size(body.size());
        send(size.text(), data, {"\r\n", 2});
    } else {
        send(data);
    }
}

void ClientConn::exchange_done(BackendConn& b, bool backend_reusable) {
    if (response_chunked_) send({"0\r\n\r\n", 5});
    end_request_log(status_);
    bool early = !request_done_;  // answered before the request body was all sent
    drop_backend(backend_reusable && !early && &b == backend_);
    if (closing()) return;
    if (response_close_ || early) {
        phase_ = Phase::Draining;
        close_after_flush();
        return;
    }
    continue_after_exchange();
}

void ClientConn::drop_backend(bool reusable) {
    BackendConn* b = backend_;
    backend_ = nullptr;
    b_stash_.clear();
    release_outstanding();
    member_.reset();
    if (!b) return;
    b->forget_waiter(this);
    forget_waiter(b);
    resume(kPauseBackpressure);
    b->detach();
    if (reusable) {
        b->release();
    } else {
        b->close();
    }
}

void ClientConn::continue_after_exchange() {
    phase_ = Phase::Idle;
    out_head_.clear();
    if (client_eof_) {
        close_after_flush();
        return;
    }
    arm(Timer::Idle, vip_->cfg.idle_timeout_ms);
    last_activity_ = now_ms(loop_);
    resume(kPausePipeline);
    if (!stash_.empty()) process_stash();
}

// Parses what stash_ holds; keeps what process() did not take. (The parser needs
// an incomplete head fed again whole, hence one buffer.)
void ClientConn::process_stash() {
    std::string buf;
    buf.swap(stash_);
    std::size_t used = process({reinterpret_cast<const std::uint8_t*>(buf.data()), buf.size()});
    if (!closing() && used < buf.size()) stash_.assign(buf, used, std::string::npos);
}

void ClientConn::backend_eof(BackendConn& b) {
    if (&b != backend_) {
        b.close();
        return;
    }
    if (phase_ == Phase::Tunnel) {
        close_after_flush();
        drop_backend(false);
        return;
    }
    HttpStep s = b.parser().finish();
    if (s.state == HttpState::Done && response_started_) {
        exchange_done(b, false);
        return;
    }
    if (!response_started_ && !b.delivered()) {
        backend_failed(b, "connection closed before a response", false);
        return;
    }
    if (!response_started_) {
        backend_failed(b, "connection closed inside the response head", false);
        return;
    }
    // A response cut short: the client must not take it as complete.
    close();
}

void ClientConn::backend_failed(BackendConn& b, std::string_view reason, bool timeout, bool retryable) {
    if (&b != backend_) {
        b.close();
        return;
    }
    auto member = member_;
    if (member) ++member->failures;
    log(LogLevel::Info, "vip_backend_failed", "vip={} member={} address={}:{} reason=\"{}\"", vip_->cfg.name,
        member ? member->info.server : "", member ? member->info.address : "", vip_->cfg.backend_port, reason);
    bool started = response_started_;
    bool delivered = b.delivered();
    std::int64_t excluded = member ? member->info.server_id : -1;
    drop_backend(false);
    if (closing()) return;
    if (started || phase_ == Phase::Tunnel) {
        close();
        return;
    }
    // Retry once on another member: only when the backend cannot have acted on
    // the request (nothing came back) and it is safe to send it twice.
    if (retryable && !retried_ && !delivered && idempotent_ && !has_body_ && !upgrade_) {
        retried_ = true;
        Pick p = pick_least_outstanding(vip_->candidates_now(excluded), vip_->tie++);
        if (p.found) {
            ++vip_->counters.retries;
            member_ = vip_->backends[p.index];
            // A cookie must now name the member that answers.
            if (vip_->cfg.persist == Persist::Cookie) set_cookie_ = true;
            std::string error;
            if (open_backend(member_, error)) {
                send_to_backend(out_head_);
                if (request_done_ && !closing()) arm(Timer::Response, vip_->cfg.response_timeout_ms);
                return;
            }
            member_.reset();
        }
    }
    reply(timeout ? 504 : 502, reason, !request_done_ || has_body_);
}

void ClientConn::count_status(int status) {
    int cls = status / 100;
    if (cls >= 1 && cls <= 5) ++vip_->counters.status[static_cast<std::size_t>(cls - 1)];
}

void ClientConn::end_request_log(int status) {
    if (!vip_->cfg.access_log) return;
    double ms = static_cast<double>(now_ms(loop_) - request_start_);
    log(LogLevel::Info, "vip_access",
        "vip={} client={}:{} method={} target=\"{}\" status={} member={} bytes_in={} bytes_out={} ms={:.0f}",
        vip_->cfg.name, client_ip_, client_port_, log_method_, log_target_, status,
        member_ ? member_->info.server : "-", request_bytes_in_, request_bytes_out_, ms);
}

void ClientConn::reply(int status, std::string_view detail, bool close_after) {
    if (phase_ == Phase::Head) {
        // Counted here: a request rejected by the parser never reached on_request_head.
        ++vip_->counters.requests;
        if (vip_->cfg.access_log) {
            log_method_ = "-";
            log_target_ = "-";
        }
    }
    std::string body = fmt::format("{} {}: {}\n", status, reason_of(status), detail);
    std::string msg = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n"
                                  "Cache-Control: no-store\r\n{}\r\n{}",
                                  status, reason_of(status), body.size(), close_after ? "Connection: close\r\n" : "",
                                  head_request_ ? "" : body);
    status_ = status;
    count_status(status);
    response_started_ = true;
    vip_->counters.bytes_out += msg.size();
    request_bytes_out_ += msg.size();
    end_request_log(status);
    // A client that does not read this reply must not hold the connection forever.
    arm(Timer::Idle, vip_->cfg.idle_timeout_ms);
    last_activity_ = now_ms(loop_);
    send(msg);
    if (closing()) return;
    if (close_after || !client_keep_alive_) {
        phase_ = Phase::Draining;
        close_after_flush();
        return;
    }
    // Keep-alive: a request without body is complete (its Done follows at once);
    // the next request continues on this connection.
    local_reply_ = true;
    if (request_done_) {
        local_reply_ = false;
        continue_after_exchange();
    }
}

void ClientConn::on_eof() {
    client_eof_ = true;
    // A client that half-closes after its request still gets the response.
    if ((phase_ == Phase::Waiting || phase_ == Phase::Body) && backend_ && request_done_) return;
    if (phase_ == Phase::Idle || phase_ == Phase::Draining) {
        close_after_flush();  // the last response may still be on its way out
        return;
    }
    close();
}

void ClientConn::on_failure(std::string_view reason) {
    log(LogLevel::Debug, "vip_client_closed", "vip={} client={}:{} reason=\"{}\"", vip_->cfg.name, client_ip_,
        client_port_, reason);
    close();
}

void ClientConn::before_close() {
    log(LogLevel::Debug, "vip_connection_closed", "vip={} client={}:{} phase={} eof={} requests_open={}", vip_->cfg.name,
        client_ip_, client_port_, static_cast<int>(phase_), client_eof_, backend_ ? 1 : 0);
    if (backend_) drop_backend(false);
    if (started_ && vip_->counters.active) --vip_->counters.active;
    // Swap-remove by position: no search through every open connection.
    auto& list = vip_->proxy->clients;
    if (client_index_ < list.size() && list[client_index_] == this) {
        list[client_index_] = list.back();
        list[client_index_]->client_index_ = client_index_;
        list.pop_back();
    }
}

// ---------------------------------------------------------------------------
// Proxy::Impl

void Proxy::Impl::run() {
    uv_run(&loop, UV_RUN_DEFAULT);
}

void Proxy::Impl::reconcile() {
    std::uint64_t v = box.version();
    if (v == version) return;
    version = v;
    auto snap = box.get();
    if (!snap) return;
    std::uint64_t seed = snap->settings().vip_cookie_seed ? snap->settings().vip_cookie_seed : random_seed;
    std::map<std::int64_t, bool> present;
    for (const auto& cfg : snap->vips()) {
        present[cfg.id] = true;
        apply(cfg, seed);
    }
    for (auto it = vips.begin(); it != vips.end();) {
        if (!present.count(it->first)) {
            auto& vr = *it->second;
            vr.removed = true;
            close_listener(vr);
            for (auto& b : vr.backends) b->retire();
            log(LogLevel::Info, "vip_closed", "vip={} listen={}", vr.cfg.name, vr.cfg.listen);
            it = vips.erase(it);
        } else {
            ++it;
        }
    }
}

void Proxy::Impl::apply(const VipConfig& cfg, std::uint64_t seed) {
    auto& slot = vips[cfg.id];
    bool fresh = !slot;
    if (fresh) {
        slot = std::make_shared<VipRuntime>();
        slot->proxy = this;
    }
    VipRuntime& v = *slot;
    bool relisten = fresh || v.cfg.listen != cfg.listen || v.cfg.tls() != cfg.tls() || !v.listening();
    bool backend_changed = v.cfg.backend_port != cfg.backend_port || v.cfg.backend_tls != cfg.backend_tls ||
                           v.cfg.backend_sni != cfg.backend_sni || v.cfg.backend_ca != cfg.backend_ca;
    // Certificates: reloaded when the paths or the files changed.
    std::string error;
    if (cfg.tls()) {
        std::string fp = ServerTls::fingerprint_of(cfg.certs);
        if (!v.tls || v.tls->fingerprint() != fp) {
            auto tls = ServerTls::load(cfg.certs);
            if (!tls) {
                error = tls.error().message;
                log(LogLevel::Error, "vip_tls_failed", "vip={} reason=\"{}\"", cfg.name, error);
            } else {
                if (v.tls) log(LogLevel::Info, "vip_certificates_reloaded", "vip={}", cfg.name);
                v.tls = *tls;
            }
        }
    } else {
        v.tls.reset();
    }
    if (cfg.backend_tls && (backend_changed || !v.backend_ctx)) {
        auto ctx = backend_tls_context(cfg.backend_ca);
        if (!ctx) {
            log(LogLevel::Error, "vip_backend_tls_failed", "vip={} reason=\"{}\"", cfg.name, ctx.error().message);
            v.backend_ctx.reset();
        } else {
            v.backend_ctx = std::shared_ptr<SSL_CTX>(ctx->release(), SSL_CTX_free);
        }
    }
    if (!cfg.backend_tls) v.backend_ctx.reset();

    // Backends: keep the runtime (counters, pool) of members that stay.
    std::vector<std::shared_ptr<BackendRuntime>> next;
    for (const auto& b : cfg.backends) {
        auto old = v.backend_by_id(b.server_id);
        if (old && old->info.address == b.address && !backend_changed) {
            old->info = b;
            next.push_back(old);
            continue;
        }
        auto nb = std::make_shared<BackendRuntime>();
        nb->info = b;
        if (old) {
            nb->picks = old->picks;
            nb->failures = old->failures;
        }
        next.push_back(std::move(nb));
    }
    for (auto& old : v.backends) {
        if (std::find(next.begin(), next.end(), old) == next.end()) old->retire();
    }
    v.backends = std::move(next);
    // A member that is drained keeps its running exchanges; its idle connections go.
    for (auto& b : v.backends) {
        if (!b->info.enabled) b->close_idle();
    }
    v.cfg = cfg;
    v.seed = seed;
    for (auto& b : v.backends) {
        b->addr = backend_sockaddr(b->info.address, cfg.backend_port);
        b->set_cookie = fmt::format("Set-Cookie: {}={}; Path=/{}{}\r\n", cfg.cookie_name,
                                    encode_member_token(static_cast<std::uint64_t>(b->info.server_id), seed),
                                    cfg.cookie_secure ? "; Secure" : "", cfg.cookie_httponly ? "; HttpOnly" : "");
    }
    if (cfg.tls() && !v.tls) {
        // No usable certificate: nothing to listen with.
        close_listener(v);
        v.listen_error = error;
        return;
    }
    if (relisten) {
        if (!fresh) close_listener(v);
        open_listener(v);
    }
}

void Proxy::Impl::open_listener(VipRuntime& v) {
    auto addr = dns::parse_listen_address(v.cfg.listen);
    if (!addr) {
        v.listen_error = addr.error().message;
        log(LogLevel::Error, "vip_listen_failed", "vip={} listen={} reason=\"{}\"", v.cfg.name, v.cfg.listen, v.listen_error);
        return;
    }
    auto tcp = std::make_unique<uv_tcp_t>();
    uv_tcp_init(&loop, tcp.get());
    tcp->data = &v;
    int r = uv_tcp_bind(tcp.get(), reinterpret_cast<const sockaddr*>(&addr->addr), 0);
    if (r == 0) {
        r = uv_listen(reinterpret_cast<uv_stream_t*>(tcp.get()), 1024, [](uv_stream_t* server, int status) {
            auto* vr = static_cast<VipRuntime*>(server->data);
            if (status < 0 || !vr || vr->removed) return;
            auto owner = vr->proxy->vips.find(vr->cfg.id);
            if (owner == vr->proxy->vips.end()) return;
            auto conn = std::make_unique<ClientConn>(&vr->proxy->loop, owner->second);
            if (uv_accept(server, reinterpret_cast<uv_stream_t*>(conn->tcp())) != 0) {
                conn.release()->close();
                return;
            }
            if (vr->counters.active >= vr->cfg.max_connections) {
                ++vr->counters.refused;
                conn.release()->close();
                return;
            }
            conn.release()->start();
        });
    }
    if (r != 0) {
        v.listen_error = uv_strerror(r);
        log(LogLevel::Error, "vip_listen_failed", "vip={} listen={} reason=\"{}\"", v.cfg.name, v.cfg.listen, v.listen_error);
        uv_close(reinterpret_cast<uv_handle_t*>(tcp.release()),
                 [](uv_handle_t* h) { std::unique_ptr<uv_tcp_t> owned(reinterpret_cast<uv_tcp_t*>(h)); });
        return;
    }
    v.listener = tcp.release();
    v.listen_error.clear();
    log(LogLevel::Info, "vip_listening", "vip={} listen={} tls={} pool={} persist={}", v.cfg.name, v.cfg.listen,
        v.cfg.tls() ? "on" : "off", v.cfg.pool,
        v.cfg.persist == Persist::Cookie ? "cookie" : v.cfg.persist == Persist::Source ? "source" : "none");
}

void Proxy::Impl::close_listener(VipRuntime& v) {
    if (!v.listener) return;
    v.listener->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(v.listener),
             [](uv_handle_t* h) { std::unique_ptr<uv_tcp_t> owned(reinterpret_cast<uv_tcp_t*>(h)); });
    v.listener = nullptr;
}

void Proxy::Impl::write_stats(bool force) {
    if (writing) return;
    std::uint64_t now = uv_now(&loop);
    if (!force && now - last_write_ms < 1000) return;
    last_write_ms = now;
    rows.clear();
    for (const auto& [id, v] : vips) {
        StatRow row{id, v->listening(), v->listen_error, v->counters, {}};
        for (const auto& b : v->backends) row.members.push_back({b->info.server_id, b->picks, b->failures, b->outstanding});
        rows.push_back(std::move(row));
    }
    if (rows.empty()) return;
    writing = true;
    work.data = this;
    uv_queue_work(
        &loop, &work,
        [](uv_work_t* w) {
            auto* self = static_cast<Impl*>(w->data);
            try {
                if (!self->db) {
                    auto db = Database::open(self->db_path, OpenMode::ReadWriteExisting);
                    if (!db) return;
                    self->db.emplace(std::move(*db));
                }
                const Database& db = *self->db;
                Transaction tx(db);
                auto st = db.prepare(
                    "INSERT OR REPLACE INTO vip_stats (vip_id, pid, started_at, updated_at, listening, listen_error, "
                    "connections, active, refused, requests, status_1xx, status_2xx, status_3xx, status_4xx, status_5xx, "
                    "bytes_in, bytes_out, retries, no_backend) SELECT ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ','now'), ?, "
                    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM vips WHERE id = ?)");
                auto ms = db.prepare(
                    "INSERT OR REPLACE INTO vip_member_stats (vip_id, server_id, picks, failures, active) SELECT ?, ?, ?, "
                    "?, ? WHERE EXISTS (SELECT 1 FROM vips WHERE id = ?) AND EXISTS (SELECT 1 FROM servers WHERE id = ?)");
                for (const auto& r : self->rows) {
                    const auto& c = r.c;
                    st.bind(1, r.vip_id).bind(2, static_cast<std::int64_t>(::getpid())).bind(3, self->started_at);
                    st.bind(4, r.listening ? 1 : 0);
                    if (r.listen_error.empty()) {
                        st.bind(5, std::nullopt);
                    } else {
                        st.bind(5, r.listen_error);
                    }
                    std::int64_t values[] = {static_cast<std::int64_t>(c.connections), static_cast<std::int64_t>(c.active),
                                             static_cast<std::int64_t>(c.refused), static_cast<std::int64_t>(c.requests),
                                             static_cast<std::int64_t>(c.status[0]), static_cast<std::int64_t>(c.status[1]),
                                             static_cast<std::int64_t>(c.status[2]), static_cast<std::int64_t>(c.status[3]),
                                             static_cast<std::int64_t>(c.status[4]), static_cast<std::int64_t>(c.bytes_in),
                                             static_cast<std::int64_t>(c.bytes_out), static_cast<std::int64_t>(c.retries),
                                             static_cast<std::int64_t>(c.no_backend)};
                    int i = 6;
                    for (auto x : values) st.bind(i++, x);
                    st.bind(i, r.vip_id);
                    st.step();
                    st.reset();
                    for (const auto& m : r.members) {
                        ms.bind(1, r.vip_id).bind(2, m.server_id).bind(3, static_cast<std::int64_t>(m.picks));
                        ms.bind(4, static_cast<std::int64_t>(m.failures)).bind(5, static_cast<std::int64_t>(m.active));
                        ms.bind(6, r.vip_id).bind(7, m.server_id);
                        ms.step();
                        ms.reset();
                    }
                }
                tx.commit();
            } catch (const StoreError& e) {
                // A busy file delays the counters, never the traffic.
                log(LogLevel::Debug, "vip_stats_write_failed", "reason=\"{}\"", e.what());
            }
        },
        [](uv_work_t* w, int) { static_cast<Impl*>(w->data)->writing = false; });
}

void Proxy::Impl::shutdown_all() {
    uv_timer_stop(&tick);
    uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
    uv_check_stop(&flush_check);
    uv_close(reinterpret_cast<uv_handle_t*>(&flush_check), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&stop_async), nullptr);
    for (auto& [id, v] : vips) {
        v->removed = true;
        close_listener(*v);
        for (auto& b : v->backends) b->retire();
    }
    auto clients_now = clients;
    for (auto* c : clients_now) c->close();
}

// ---------------------------------------------------------------------------
// Proxy

Proxy::Proxy(dns::SnapshotBox& box, std::shared_ptr<HealthTable> health, std::string db_path)
    : impl_(std::make_unique<Impl>(box, std::move(health), std::move(db_path))) {}

Proxy::~Proxy() {
    stop();
}

const ProxyStats& Proxy::stats() const {
    return impl_->stats;
}

Status Proxy::start() {
    Impl& i = *impl_;
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&i.random_seed), sizeof i.random_seed) != 1) {
        i.random_seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    }
    {
        auto now = std::chrono::system_clock::now();
        std::time_t t = std::chrono::system_clock::to_time_t(now);
        std::tm tm{};
        gmtime_r(&t, &tm);
        char buf[32];
        std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
        i.started_at = buf;
    }
    if (int r = uv_loop_init(&i.loop); r != 0) return Error{fmt::format("VIP loop: {}", uv_strerror(r))};
    uv_async_init(&i.loop, &i.stop_async, [](uv_async_t* a) { static_cast<Impl*>(a->data)->shutdown_all(); });
    i.stop_async.data = &i;
    uv_timer_init(&i.loop, &i.tick);
    i.tick.data = &i;
    uv_check_init(&i.loop, &i.flush_check);
    uv_check_start(&i.flush_check, [](uv_check_t*) { Endpoint::flush_all(); });
    i.reconcile();
    uv_timer_start(&i.tick, [](uv_timer_t* t) {
        auto* self = static_cast<Impl*>(t->data);
        self->reconcile();
        self->write_stats(false);
    }, 100, 100);
    i.thread = std::thread([&i] {
        pthread_setname_np(pthread_self(), "pooldns-vip");
        i.run();
    });
    return {};
}

void Proxy::stop() {
    Impl& i = *impl_;
    if (!i.thread.joinable()) return;
    uv_async_send(&i.stop_async);
    i.thread.join();
    uv_loop_close(&i.loop);
}

}  // namespace pooldns::vip
