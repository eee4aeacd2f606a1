// A small DNS client for the system test: queries built and responses parsed
// with ldns, sent over UDP and TCP sockets this file manages (every receive has
// a deadline, so a wedged server fails a check instead of hanging the test).
#pragma once

#include "pooldns/ldns_ptr.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace systest {

using Bytes = std::vector<std::uint8_t>;
using pooldns::CStrPtr;
using pooldns::PktPtr;
using pooldns::RrPtr;

// ---- messages ---------------------------------------------------------------

struct QueryOptions {
    std::uint16_t id = 0x1234;
    bool edns = false;
    std::uint16_t payload = 1232;
    bool rd = false;
};

inline Bytes make_query(const std::string& name, ldns_rr_type type, QueryOptions o = {}) {
    ldns_rdf* dname = ldns_dname_new_frm_str(name.c_str());
    if (!dname) throw std::runtime_error("bad query name " + name);
    PktPtr pkt(ldns_pkt_query_new(dname, type, LDNS_RR_CLASS_IN, o.rd ? LDNS_RD : 0));
    ldns_pkt_set_id(pkt.get(), o.id);
    if (o.edns) {
        ldns_pkt_set_edns_udp_size(pkt.get(), o.payload);
        ldns_pkt_set_edns_version(pkt.get(), 0);
    }
    std::uint8_t* wire = nullptr;
    size_t size = 0;
    if (ldns_pkt2wire(&wire, pkt.get(), &size) != LDNS_STATUS_OK) throw std::runtime_error("ldns_pkt2wire failed");
    Bytes out(wire, wire + size);
    free(wire);
    return out;
}

inline std::uint16_t wire_id(const Bytes& b) {
    return b.size() >= 2 ? static_cast<std::uint16_t>((b[0] << 8) | b[1]) : 0;
}

inline std::string rr_text(const ldns_rr* rr) {
    CStrPtr s(ldns_rr2str(rr));
    std::string t = s ? s.get() : "?";
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
    return t;
}

// "www.example.com. 300 IN A 192.0.2.80" in ldns's presentation form (as rr_text prints it).
inline std::string norm(const std::string& text) {
    ldns_rr* rr = nullptr;
    if (ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK) {
        throw std::runtime_error("ldns cannot parse RR '" + text + "'");
    }
    RrPtr owned(rr);
    return rr_text(rr);
}

inline std::vector<std::string> norm_sorted(const std::vector<std::string>& texts) {
    std::vector<std::string> out;
    for (const auto& t : texts) out.push_back(norm(t));
    std::sort(out.begin(), out.end());
    return out;
}

struct Response {
    Bytes wire;
    PktPtr pkt;

    std::uint16_t id() const { return ldns_pkt_id(pkt.get()); }
    int rcode() const { return static_cast<int>(ldns_pkt_get_rcode(pkt.get())); }
    bool aa() const { return ldns_pkt_aa(pkt.get()); }
    bool tc() const { return ldns_pkt_tc(pkt.get()); }
    bool qr() const { return ldns_pkt_qr(pkt.get()); }

    static std::vector<std::string> texts(const ldns_rr_list* list) {
        std::vector<std::string> out;
        for (size_t i = 0; list && i < ldns_rr_list_rr_count(list); ++i) out.push_back(rr_text(ldns_rr_list_rr(list, i)));
        return out;
    }
    static std::vector<std::string> sorted(std::vector<std::string> v) {
        std::sort(v.begin(), v.end());
        return v;
    }
    std::vector<std::string> answer_in_order() const { return texts(ldns_pkt_answer(pkt.get())); }
    std::vector<std::string> answer() const { return sorted(answer_in_order()); }
    std::vector<std::string> authority() const { return sorted(texts(ldns_pkt_authority(pkt.get()))); }
    std::string question() const {
        const ldns_rr_list* q = ldns_pkt_question(pkt.get());
        return q && ldns_rr_list_rr_count(q) ? rr_text(ldns_rr_list_rr(q, 0)) : "";
    }

    // The serial of the first SOA in the answer, else in the authority section.
    std::optional<std::uint32_t> soa_serial() const {
        for (const ldns_rr_list* list : {ldns_pkt_answer(pkt.get()), ldns_pkt_authority(pkt.get())}) {
            for (size_t i = 0; list && i < ldns_rr_list_rr_count(list); ++i) {
                const ldns_rr* rr = ldns_rr_list_rr(list, i);
                if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(rr) >= 3) {
                    return ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
                }
            }
        }
        return std::nullopt;
    }

    // One line for failure messages.
    std::string summary() const {
        std::string s = "id=" + std::to_string(id()) + " rcode=" + std::to_string(rcode()) +
                        " aa=" + std::to_string(aa()) + " tc=" + std::to_string(tc()) + " answer=[";
        for (const auto& a : answer_in_order()) s += a + "; ";
        return s + "]";
    }
};

inline std::optional<Response> parse_response(Bytes wire) {
    ldns_pkt* p = nullptr;
    if (ldns_wire2pkt(&p, wire.data(), wire.size()) != LDNS_STATUS_OK) return std::nullopt;
    Response r;
    r.wire = std::move(wire);
    r.pkt.reset(p);
    return r;
}

// ---- sockets ----------------------------------------------------------------

struct Endpoint {
    sockaddr_storage addr{};
    socklen_t len = 0;
    std::string text;
    int family() const { return addr.ss_family; }
};

inline Endpoint endpoint(const std::string& ip, std::uint16_t port) {
    Endpoint e;
    auto* in = reinterpret_cast<sockaddr_in*>(&e.addr);
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&e.addr);
    if (inet_pton(AF_INET, ip.c_str(), &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        e.len = sizeof(sockaddr_in);
        e.text = ip + ":" + std::to_string(port);
    } else if (inet_pton(AF_INET6, ip.c_str(), &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        e.len = sizeof(sockaddr_in6);
        e.text = "[" + ip + "]:" + std::to_string(port);
    } else {
        throw std::runtime_error("not an address: " + ip);
    }
    return e;
}

class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd& operator=(Fd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    void reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
};

using Deadline = std::chrono::steady_clock::time_point;

inline Deadline deadline_in(int ms) { return std::chrono::steady_clock::now() + std::chrono::milliseconds(ms); }

inline int ms_left(Deadline d) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(d - std::chrono::steady_clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

// True when fd is readable (or has an error or hang-up pending) before the deadline.
inline bool wait_readable(int fd, Deadline d) {
    while (true) {
        pollfd p{fd, POLLIN, 0};
        int r = ::poll(&p, 1, ms_left(d));
        if (r > 0) return true;
        if (r == 0) return false;
        if (errno != EINTR) return false;
    }
}

// A UDP socket connected to the server: only its datagrams come back.
class UdpClient {
public:
    explicit UdpClient(const Endpoint& server) : fd_(::socket(server.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
        if (fd_.get() < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
        if (::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&server.addr), server.len) != 0) {
            throw std::runtime_error("connect " + server.text + ": " + std::strerror(errno));
        }
    }

    bool send(const Bytes& b) { return ::send(fd_.get(), b.data(), b.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(b.size()); }

    // The next datagram, or nullopt at the deadline (or on an ICMP error).
    std::optional<Bytes> recv(Deadline d) {
        while (wait_readable(fd_.get(), d)) {
            Bytes buf(65536);
            ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), MSG_DONTWAIT);
            if (n >= 0) {
                buf.resize(static_cast<size_t>(n));
                return buf;
            }
            if (errno != EAGAIN && errno != EINTR) return std::nullopt;
        }
        return std::nullopt;
    }

    // Sends the query and returns the first parseable response with its ID;
    // stale responses to earlier queries are skipped.
    std::optional<Response> query(const Bytes& q, int timeout_ms) {
        if (!send(q)) return std::nullopt;
        auto d = deadline_in(timeout_ms);
        while (auto b = recv(d)) {
            if (wire_id(*b) != wire_id(q)) continue;
            if (auto r = parse_response(std::move(*b))) return r;
        }
        return std::nullopt;
    }

    int fd() const { return fd_.get(); }

private:
    Fd fd_;
};

class TcpClient {
public:
    enum class Closed { Yes, TimedOut, GotData };

    static std::optional<TcpClient> connect(const Endpoint& server, bool nodelay = false) {
        Fd fd(::socket(server.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (fd.get() < 0) return std::nullopt;
        if (nodelay) {
            int one = 1;
            ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        // On loopback connect() completes (or is refused) at once; no timeout needed.
        if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&server.addr), server.len) != 0) return std::nullopt;
        TcpClient c;
        c.fd_ = std::move(fd);
        return c;
    }

    bool send_all(const std::uint8_t* p, size_t n) {
        while (n > 0) {
            ssize_t k = ::send(fd_.get(), p, n, MSG_NOSIGNAL);
            if (k < 0) {
                if (errno == EINTR) continue;
                return false;
            }
            p += k;
            n -= static_cast<size_t>(k);
        }
        return true;
    }
    bool send_all(const Bytes& b) { return send_all(b.data(), b.size()); }

    static Bytes frame(const Bytes& msg) {
        Bytes out{static_cast<std::uint8_t>(msg.size() >> 8), static_cast<std::uint8_t>(msg.size())};
        out.insert(out.end(), msg.begin(), msg.end());
        return out;
    }
    bool send_frame(const Bytes& msg) { return send_all(frame(msg)); }

    // Exactly n octets, or nullopt on EOF, error or deadline.
    std::optional<Bytes> recv_exact(size_t n, Deadline d) {
        Bytes out(n);
        size_t got = 0;
        while (got < n) {
            if (!wait_readable(fd_.get(), d)) return std::nullopt;
            ssize_t k = ::recv(fd_.get(), out.data() + got, n - got, MSG_DONTWAIT);
            if (k == 0) return std::nullopt;
            if (k < 0) {
                if (errno == EAGAIN || errno == EINTR) continue;
                return std::nullopt;
            }
            got += static_cast<size_t>(k);
        }
        return out;
    }

    std::optional<Bytes> recv_frame(Deadline d) {
        auto len = recv_exact(2, d);
        if (!len) return std::nullopt;
        return recv_exact(static_cast<size_t>(((*len)[0] << 8) | (*len)[1]), d);
    }

    std::optional<Response> recv_response(Deadline d) {
        auto f = recv_frame(d);
        if (!f) return std::nullopt;
        return parse_response(std::move(*f));
    }

    std::optional<Response> query(const Bytes& q, int timeout_ms) {
        if (!send_frame(q)) return std::nullopt;
        return recv_response(deadline_in(timeout_ms));
    }

    // Waits for the server to close the connection (EOF or reset).
    Closed wait_closed(Deadline d) {
        if (!wait_readable(fd_.get(), d)) return Closed::TimedOut;
        std::uint8_t b[512];
        ssize_t k = ::recv(fd_.get(), b, sizeof b, MSG_DONTWAIT);
        if (k == 0 || (k < 0 && errno == ECONNRESET)) return Closed::Yes;
        return k > 0 ? Closed::GotData : Closed::TimedOut;
    }

    // Reads and discards whatever is readable now; false once the peer closed.
    bool drain() {
        std::uint8_t b[4096];
        while (true) {
            ssize_t k = ::recv(fd_.get(), b, sizeof b, MSG_DONTWAIT);
            if (k > 0) continue;
            if (k == 0) return false;
            return errno == EAGAIN || errno == EINTR;
        }
    }

    int fd() const { return fd_.get(); }

private:
    TcpClient() = default;
    Fd fd_;
};

}  // namespace systest
