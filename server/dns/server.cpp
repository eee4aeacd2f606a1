// DNS workers: UDP served by one blocking recvmmsg/sendmmsg thread per socket
// (no event-loop round trip per datagram), TCP by the worker's libuv loop
// (RFC 7766: length framing across any split, pipelined queries answered in
// order, idle timeout, a connection cap that closes the least recently active
// connection first), AXFR streamed as the client drains its socket.
#include "server.hpp"

#include "pooldns/log.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <pthread.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <csignal>
#include <cerrno>
#include <cstring>
#include <random>

namespace pooldns::dns {

namespace {

constexpr int kUdpBatch = 64;
constexpr std::size_t kUdpIn = 4096;
constexpr std::size_t kUdpOut = 65535;
constexpr std::size_t kTcpHighWater = 256 * 1024;  // stop reading / pausing AXFR above this many unsent octets
constexpr std::size_t kTcpMaxFrame = 65535;

PeerAddress mapped(const sockaddr_storage& sa) {
    PeerAddress a{};
    if (sa.ss_family == AF_INET) {
        const auto& in = reinterpret_cast<const sockaddr_in&>(sa);
        a[10] = a[11] = 0xff;
        std::memcpy(a.data() + 12, &in.sin_addr, 4);
    } else if (sa.ss_family == AF_INET6) {
        const auto& in6 = reinterpret_cast<const sockaddr_in6&>(sa);
        std::memcpy(a.data(), &in6.sin6_addr, 16);
    }
    return a;
}

std::string peer_text(const sockaddr_storage& sa) {
    char buf[INET6_ADDRSTRLEN] = "?";
    if (sa.ss_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(sa).sin_addr, buf, sizeof buf);
    } else if (sa.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(sa).sin6_addr, buf, sizeof buf);
    }
    return buf;
}

// Creates a bound SO_REUSEPORT socket; errors name the address.
Result<int> bound_socket(const ListenAddress& a, int type) {
    // UDP sockets block (their thread sleeps in recvmmsg); TCP ones are libuv's.
    int fd = ::socket(a.addr.ss_family, type | (type == SOCK_STREAM ? SOCK_NONBLOCK : 0) | SOCK_CLOEXEC, 0);
    if (fd < 0) return Error{fmt::format("{}: socket: {}", a.text, std::strerror(errno))};
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (type == SOCK_STREAM) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (a.addr.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (type == SOCK_DGRAM) {
        int size = 4 << 20;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
        timeval tick{0, 500000};  // a stop request is seen within this even without the shutdown() wake-up
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick);
    }
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&a.addr), a.len) != 0) {
        int err = errno;
        ::close(fd);
        return Error{fmt::format("cannot listen on {} ({}): {}", a.text, type == SOCK_DGRAM ? "udp" : "tcp",
                                 std::strerror(err))};
    }
    return fd;
}

std::string query_name_text(std::span<const std::uint8_t> q) {
    if (q.size() <= 12) return "-";
    std::size_t n = wire_name_length(q.subspan(12));
    return n ? wire_to_text(q.subspan(12, n)) : "-";
}

}  // namespace

Result<ListenAddress> parse_listen_address(std::string_view text) {
    ListenAddress out;
    out.text = std::string(text);
    std::string host, port;
    if (text.starts_with('[')) {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return Error{fmt::format("--dns '{}': expected [IPv6]:PORT", text)};
        }
        host = std::string(text.substr(1, close - 1));
        port = std::string(text.substr(close + 2));
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return Error{fmt::format("--dns '{}': expected ADDR:PORT", text)};
        host = std::string(text.substr(0, colon));
        port = std::string(text.substr(colon + 1));
    }
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(port) > 65535) {
        return Error{fmt::format("--dns '{}': '{}' is not a port", text, port)};
    }
    auto p = static_cast<std::uint16_t>(std::stoul(port));
    auto* in = reinterpret_cast<sockaddr_in*>(&out.addr);
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&out.addr);
    if (inet_pton(AF_INET, host.c_str(), &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(p);
        out.len = sizeof(sockaddr_in);
    } else if (inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(p);
        out.len = sizeof(sockaddr_in6);
    } else {
        return Error{fmt::format("--dns '{}': '{}' is not an IPv4 or IPv6 address", text, host)};
    }
    return out;
}

class Worker {
public:
    Worker(SnapshotBox& box, ServerStats& stats, unsigned threads) : box_(box), stats_(stats), threads_(threads) {}

    ~Worker() {
        for (auto& u : udp_) {
            if (u->fd >= 0) ::close(u->fd);
        }
        for (int fd : tcp_fds_) {
            if (fd >= 0) ::close(fd);
        }
    }

    Status open(const std::vector<ListenAddress>& addresses) {
        for (const auto& a : addresses) {
            auto udp = bound_socket(a, SOCK_DGRAM);
            if (!udp) return udp.error();
            auto s = std::make_unique<UdpSocket>();
            s->fd = *udp;
            s->owner = this;
            udp_.push_back(std::move(s));
            auto tcp = bound_socket(a, SOCK_STREAM);
            if (!tcp) return tcp.error();
            if (::listen(*tcp, 256) != 0) {
                return Error{fmt::format("cannot listen on {} (tcp): {}", a.text, std::strerror(errno))};
            }
            tcp_fds_.push_back(*tcp);
        }
        return {};
    }

    void start() {
        uv_loop_init(&loop_);
        uv_async_init(&loop_, &stop_, [](uv_async_t* h) { static_cast<Worker*>(h->data)->shutdown(); });
        stop_.data = this;
        // Workers never take process signals: they go to the main loop's handlers.
        sigset_t block, old;
        sigemptyset(&block);
        for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE}) sigaddset(&block, sig);
        pthread_sigmask(SIG_BLOCK, &block, &old);
        thread_ = std::thread([this] {
            pthread_setname_np(pthread_self(), "pooldns-tcp");  // names show in top -H and the benchmarks
            run();
        });
        for (auto& u : udp_) {
            UdpSocket* sock = u.get();
            sock->thread = std::thread([this, sock] {
                pthread_setname_np(pthread_self(), "pooldns-udp");
                serve_udp(*sock);
            });
        }
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
    }

    void stop() {
        stopping_.store(true, std::memory_order_relaxed);
        // Wakes a thread blocked in recvmmsg: it returns at once on a shut-down socket.
        for (auto& u : udp_) ::shutdown(u->fd, SHUT_RDWR);
        if (thread_.joinable()) uv_async_send(&stop_);
    }
    void join() {
        for (auto& u : udp_) {
            if (u->thread.joinable()) u->thread.join();
        }
        if (thread_.joinable()) thread_.join();
    }

private:
    // One SO_REUSEPORT UDP socket and the thread that serves it. The thread
    // blocks in recvmmsg (MSG_WAITFORONE), answers the batch, sends it with
    // sendmmsg; every buffer is allocated once, here.
    struct UdpSocket {
        int fd = -1;
        Worker* owner = nullptr;
        std::thread thread;
        std::shared_ptr<const Snapshot> snap;
        std::uint64_t version = 0;
        std::uint64_t rotation = std::random_device{}();  // per-query key for pool answers
        std::uint8_t in[kUdpBatch][kUdpIn];
        std::uint8_t out[kUdpBatch][kUdpOut];
        iovec in_iov[kUdpBatch];
        iovec out_iov[kUdpBatch];
        mmsghdr in_msgs[kUdpBatch];
        mmsghdr out_msgs[kUdpBatch];
        sockaddr_storage peers[kUdpBatch];
    };

    struct Listener {
        uv_tcp_t tcp{};
        Worker* owner = nullptr;
    };

    struct Connection {
        Worker* owner = nullptr;
        uv_tcp_t tcp{};
        uv_timer_t timer{};
        uv_write_t write_req{};
        int handles_open = 0;
        bool closing = false;
        bool reading = false;
        bool write_active = false;
        sockaddr_storage peer_sa{};
        PeerAddress peer{};
        std::vector<std::uint8_t> in;
        std::size_t in_used = 0;
        std::vector<std::uint8_t> pending, writing;
        std::shared_ptr<const Snapshot> transfer_snap;  // keeps the transferred version alive
        std::unique_ptr<TransferCursor> transfer;
        std::uint32_t transfer_zone = 0;
        Connection* prev = nullptr;  // least recently active first
        Connection* next = nullptr;
    };

    void run() {
        refresh();
        for (int& fd : tcp_fds_) {
            auto l = std::make_unique<Listener>();
            l->owner = this;
            uv_tcp_init(&loop_, &l->tcp);
            l->tcp.data = l.get();
            uv_tcp_open(&l->tcp, fd);
            fd = -1;  // the handle owns it now
            uv_listen(reinterpret_cast<uv_stream_t*>(&l->tcp), 256, [](uv_stream_t* s, int status) {
                if (status == 0) static_cast<Listener*>(s->data)->owner->accept(s);
            });
            listeners_.push_back(std::move(l));
        }
        uv_run(&loop_, UV_RUN_DEFAULT);
        uv_loop_close(&loop_);
    }

    void shutdown() {
        for (auto& l : listeners_) uv_close(reinterpret_cast<uv_handle_t*>(&l->tcp), nullptr);
        while (lru_head_) close(lru_head_);
        uv_close(reinterpret_cast<uv_handle_t*>(&stop_), nullptr);
    }

    // Picks up a newly published snapshot: one atomic load per call.
    void refresh() {
        std::uint64_t v = box_.version();
        if (v != version_) {
            snap_ = box_.get();
            version_ = v;
        }
    }

    // --- UDP ---------------------------------------------------------------

    void serve_udp(UdpSocket& s) {
        for (int i = 0; i < kUdpBatch; ++i) {
            s.in_iov[i] = {s.in[i], kUdpIn};
            std::memset(&s.in_msgs[i].msg_hdr, 0, sizeof(msghdr));
            s.in_msgs[i].msg_hdr.msg_iov = &s.in_iov[i];
            s.in_msgs[i].msg_hdr.msg_iovlen = 1;
            s.in_msgs[i].msg_hdr.msg_name = &s.peers[i];
        }
        while (!stopping_.load(std::memory_order_relaxed)) {
            for (int i = 0; i < kUdpBatch; ++i) s.in_msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
            int n = recvmmsg(s.fd, s.in_msgs, kUdpBatch, MSG_WAITFORONE, nullptr);
            if (n <= 0) continue;  // EINTR, a timeout, or the shutdown() that stops us
            std::uint64_t v = box_.version();
            if (v != s.version) {
                s.snap = box_.get();
                s.version = v;
            }
            if (!s.snap) continue;
            const Snapshot& snap = *s.snap;
            bool query_log = snap.settings().query_log;
            int replies = 0;
            for (int i = 0; i < n; ++i) {
                PeerAddress peer = mapped(s.peers[i]);
                std::span<const std::uint8_t> q(s.in[i], s.in_msgs[i].msg_len);
                Answered a = answer(q, snap, QueryContext{Transport::Udp, &peer, ++s.rotation}, std::span(s.out[i], kUdpOut));
                if (query_log) log_query(s.peers[i], q, a, "udp");
                if (a.outcome != Outcome::Reply) continue;
                s.out_iov[replies] = {s.out[i], a.size};
                std::memset(&s.out_msgs[replies].msg_hdr, 0, sizeof(msghdr));
                s.out_msgs[replies].msg_hdr.msg_iov = &s.out_iov[replies];
                s.out_msgs[replies].msg_hdr.msg_iovlen = 1;
                s.out_msgs[replies].msg_hdr.msg_name = &s.peers[i];
                s.out_msgs[replies].msg_hdr.msg_namelen = s.in_msgs[i].msg_hdr.msg_namelen;
                ++replies;
            }
            stats_.udp_queries.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
            int sent = 0;
            while (sent < replies) {
                int k = sendmmsg(s.fd, s.out_msgs + sent, static_cast<unsigned>(replies - sent), 0);
                if (k <= 0) {
                    if (errno == EINTR) continue;
                    break;  // the socket buffer is full: UDP may drop, as the network may
                }
                sent += k;
            }
        }
        s.snap.reset();
    }

    void log_query(const sockaddr_storage& sa, std::span<const std::uint8_t> q, const Answered& a,
                   std::string_view transport) {
        log(LogLevel::Info, "query", "client={} transport={} qname={} qtype={} rcode={} size={}", peer_text(sa),
            transport, query_name_text(q), a.qtype, a.rcode, a.size);
    }

    // --- TCP ---------------------------------------------------------------

    std::uint32_t max_connections() const {
        std::uint32_t total = snap_ ? snap_->settings().tcp_max_connections : 1000;
        return std::max<std::uint32_t>(1, total / threads_);
    }
    std::uint64_t idle_timeout() const { return snap_ ? snap_->settings().tcp_idle_timeout_ms : 10000; }

    void accept(uv_stream_t* server) {
        refresh();
        if (connections_ >= max_connections() && lru_head_) {
            log(LogLevel::Debug, "tcp_evict", "client={} reason=connection_cap", peer_text(lru_head_->peer_sa));
            close(lru_head_);
        }
        auto owned = std::make_unique<Connection>();
        Connection* c = owned.get();
        c->owner = this;
        uv_tcp_init(&loop_, &c->tcp);
        c->tcp.data = c;
        c->handles_open = 1;
        owned.release();  // freed in on_closed once libuv is done with its handles
        if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
            c->closing = true;
            uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), on_closed);
            return;
        }
        uv_tcp_nodelay(&c->tcp, 1);
        int len = sizeof(sockaddr_storage);
        uv_tcp_getpeername(&c->tcp, reinterpret_cast<sockaddr*>(&c->peer_sa), &len);
        c->peer = mapped(c->peer_sa);
        uv_timer_init(&loop_, &c->timer);
        c->timer.data = c;
        c->handles_open = 2;
        c->in.resize(4096);
        link_back(c);
        ++connections_;
        stats_.tcp_connections.fetch_add(1, std::memory_order_relaxed);
        touch(c);
        start_reading(c);
    }

    void start_reading(Connection* c) {
        c->reading = true;
        uv_read_start(
            reinterpret_cast<uv_stream_t*>(&c->tcp),
            [](uv_handle_t* h, size_t, uv_buf_t* buf) {
                auto* c = static_cast<Connection*>(h->data);
                if (c->in.size() - c->in_used < 1024) c->in.resize(std::min(c->in.size() * 2, kTcpMaxFrame + 2 + 4096));
                *buf = uv_buf_init(reinterpret_cast<char*>(c->in.data() + c->in_used),
                                   static_cast<unsigned>(c->in.size() - c->in_used));
            },
            [](uv_stream_t* s, ssize_t n, const uv_buf_t*) {
                auto* c = static_cast<Connection*>(s->data);
                c->owner->on_read(c, n);
            });
    }

    void on_read(Connection* c, ssize_t n) {
        if (n < 0) {
            close(c);
            return;
        }
        c->in_used += static_cast<std::size_t>(n);
        touch(c);
        process(c);
    }

    // Answers every complete frame in order; stops at an AXFR until it is sent.
    void process(Connection* c) {
        std::size_t off = 0;
        while (!c->closing && !c->transfer && c->in_used - off >= 2) {
            std::size_t len = (std::size_t{c->in[off]} << 8) | c->in[off + 1];
            if (len < 12) {  // not even a header: the stream is garbage
                close(c);
                return;
            }
            if (c->in_used - off < 2 + len) break;
            handle_query(c, std::span<const std::uint8_t>(c->in.data() + off + 2, len));
            off += 2 + len;
        }
        if (c->closing) return;
        if (off) {
            std::memmove(c->in.data(), c->in.data() + off, c->in_used - off);
            c->in_used -= off;
        }
        if (c->pending.size() > kTcpHighWater && c->reading) {
            uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
            c->reading = false;
        }
        flush(c);
    }

    void handle_query(Connection* c, std::span<const std::uint8_t> q) {
        refresh();
        if (!snap_) return;
        stats_.tcp_queries.fetch_add(1, std::memory_order_relaxed);
        Answered a = answer(q, *snap_, QueryContext{Transport::Tcp, &c->peer, ++rotation_}, scratch_);
        if (snap_->settings().query_log) log_query(c->peer_sa, q, a, "tcp");
        if (a.outcome == Outcome::Reply) {
            append_frame(c, a.size);
        } else if (a.outcome == Outcome::Transfer) {
            c->transfer_snap = snap_;
            c->transfer = std::make_unique<TransferCursor>(*c->transfer_snap, a.zone, q);
            c->transfer_zone = a.zone;
            stats_.transfers.fetch_add(1, std::memory_order_relaxed);
            const Zone& z = c->transfer_snap->zone(a.zone);
            log(LogLevel::Info, "axfr_start", "client={} zone={} serial={} records={}", peer_text(c->peer_sa),
                z.origin, z.serial, z.records);
            // Queries pipelined behind a transfer wait in the socket, not in our
            // buffer: stop reading until the transfer is sent.
            if (c->reading) {
                uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
                c->reading = false;
            }
            pump_transfer(c);
        }
    }

    void append_frame(Connection* c, std::size_t size) {
        c->pending.push_back(static_cast<std::uint8_t>(size >> 8));
        c->pending.push_back(static_cast<std::uint8_t>(size));
        c->pending.insert(c->pending.end(), scratch_, scratch_ + size);
    }

    void pump_transfer(Connection* c) {
        while (c->transfer && c->pending.size() < kTcpHighWater) {
            std::size_t n = c->transfer->next(scratch_);
            if (n == 0) {
                const Zone& z = c->transfer_snap->zone(c->transfer_zone);
                log(LogLevel::Info, "axfr_done", "client={} zone={} serial={}", peer_text(c->peer_sa), z.origin,
                    z.serial);
                c->transfer.reset();
                c->transfer_snap.reset();
                break;
            }
            append_frame(c, n);
        }
    }

    void flush(Connection* c) {
        if (c->closing || c->write_active || c->pending.empty()) return;
        std::swap(c->pending, c->writing);
        c->pending.clear();
        uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(c->writing.data()), static_cast<unsigned>(c->writing.size()));
        c->write_req.data = c;
        c->write_active = true;
        uv_write(&c->write_req, reinterpret_cast<uv_stream_t*>(&c->tcp), &buf, 1, [](uv_write_t* req, int status) {
            auto* c = static_cast<Connection*>(req->data);
            c->owner->on_written(c, status);
        });
    }

    void on_written(Connection* c, int status) {
        c->write_active = false;
        c->writing.clear();
        if (c->closing) {
            maybe_free(c);
            return;
        }
        if (status < 0) {
            close(c);
            return;
        }
        touch(c);
        if (c->transfer) pump_transfer(c);
        if (!c->transfer && c->in_used >= 2) process(c);  // queries pipelined behind a transfer
        if (!c->reading && !c->transfer && c->pending.size() <= kTcpHighWater / 2) start_reading(c);
        flush(c);
    }

    // Marks activity: restarts the idle timer and moves to the back of the LRU list.
    void touch(Connection* c) {
        uv_timer_start(&c->timer, [](uv_timer_t* t) {
            auto* c = static_cast<Connection*>(t->data);
            log(LogLevel::Debug, "tcp_idle_close", "client={}", peer_text(c->peer_sa));
            c->owner->close(c);
        }, idle_timeout(), 0);
        unlink(c);
        link_back(c);
    }

    void link_back(Connection* c) {
        c->prev = lru_tail_;
        c->next = nullptr;
        if (lru_tail_) lru_tail_->next = c;
        lru_tail_ = c;
        if (!lru_head_) lru_head_ = c;
    }

    void unlink(Connection* c) {
        if (c->prev) c->prev->next = c->next;
        if (c->next) c->next->prev = c->prev;
        if (lru_head_ == c) lru_head_ = c->next;
        if (lru_tail_ == c) lru_tail_ = c->prev;
        c->prev = c->next = nullptr;
    }

    void close(Connection* c) {
        if (c->closing) return;
        c->closing = true;
        unlink(c);
        --connections_;
        c->transfer.reset();
        c->transfer_snap.reset();
        uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), on_closed);
        uv_close(reinterpret_cast<uv_handle_t*>(&c->timer), on_closed);
    }

    static void on_closed(uv_handle_t* h) {
        auto* c = static_cast<Connection*>(h->data);
        --c->handles_open;
        maybe_free(c);
    }

    static void maybe_free(Connection* c) {
        // A cancelled write reports before the close callbacks; free after both.
        if (c->handles_open == 0 && !c->write_active) {
            std::unique_ptr<Connection> owned(c);
        }
    }

    SnapshotBox& box_;
    ServerStats& stats_;
    unsigned threads_;
    std::thread thread_;
    uv_loop_t loop_{};
    uv_async_t stop_{};
    std::vector<std::unique_ptr<UdpSocket>> udp_;
    std::vector<int> tcp_fds_;
    std::vector<std::unique_ptr<Listener>> listeners_;
    std::shared_ptr<const Snapshot> snap_;
    std::uint64_t version_ = 0;
    std::uint64_t rotation_ = std::random_device{}();  // per-query key for pool answers over TCP
    Connection* lru_head_ = nullptr;
    Connection* lru_tail_ = nullptr;
    std::uint32_t connections_ = 0;

    std::atomic<bool> stopping_{false};
    // The TCP answer buffer, reused for every query.
    std::uint8_t scratch_[kTcpMaxFrame];
};

DnsServer::DnsServer(SnapshotBox& box, std::vector<ListenAddress> addresses, unsigned threads)
    : box_(box), addresses_(std::move(addresses)), threads_(std::max(1u, threads)) {}

DnsServer::~DnsServer() { stop(); }

Status DnsServer::open() {
    for (unsigned i = 0; i < threads_; ++i) {
        auto w = std::make_unique<Worker>(box_, stats_, threads_);
        if (auto st = w->open(addresses_); !st) return st;
        workers_.push_back(std::move(w));
    }
    return {};
}

void DnsServer::start() {
    for (auto& w : workers_) w->start();
}

void DnsServer::stop() {
    for (auto& w : workers_) w->stop();
    for (auto& w : workers_) w->join();
    workers_.clear();
}

}  // namespace pooldns::dns
