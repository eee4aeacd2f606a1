// NOTIFY sender (see notify.hpp).
#include "notify.hpp"

#include "pooldns/log.hpp"

#include <arpa/inet.h>
#include <sys/random.h>

#include <cstring>

namespace pooldns {

namespace {
constexpr int kMaxAttempts = 5;          // RFC 1996 section 3.6: retransmit a few times
constexpr std::uint64_t kRetryMs = 2000;
}  // namespace

Notifier::Notifier(uv_loop_t* loop) : loop_(loop) {
    std::uint16_t seed = 0;
    if (getrandom(&seed, sizeof seed, 0) != sizeof seed) seed = static_cast<std::uint16_t>(uv_hrtime());
    next_id_ = seed;
}

bool Notifier::open_sockets() {
    if (open_) return true;
    uv_udp_init(loop_, &udp4_);
    udp4_.data = this;
    sockaddr_in any4{};
    any4.sin_family = AF_INET;
    if (uv_udp_bind(&udp4_, reinterpret_cast<const sockaddr*>(&any4), 0) != 0) {
        uv_close(reinterpret_cast<uv_handle_t*>(&udp4_), nullptr);
        return false;
    }
    auto alloc = [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* self = static_cast<Notifier*>(h->data);
        *buf = uv_buf_init(reinterpret_cast<char*>(self->recv_buf_), sizeof self->recv_buf_);
    };
    auto recv = [](uv_udp_t* h, ssize_t n, const uv_buf_t* buf, const sockaddr* from, unsigned) {
        if (n > 0 && from) {
            static_cast<Notifier*>(h->data)->on_datagram(reinterpret_cast<const std::uint8_t*>(buf->base),
                                                         static_cast<std::size_t>(n), from);
        }
    };
    uv_udp_recv_start(&udp4_, alloc, recv);
    uv_udp_init(loop_, &udp6_);
    udp6_.data = this;
    sockaddr_in6 any6{};
    any6.sin6_family = AF_INET6;
    if (uv_udp_bind(&udp6_, reinterpret_cast<const sockaddr*>(&any6), UV_UDP_IPV6ONLY) == 0) {
        uv_udp_recv_start(&udp6_, alloc, recv);
        have6_ = true;
    } else {
        uv_close(reinterpret_cast<uv_handle_t*>(&udp6_), nullptr);
    }
    open_ = true;
    return true;
}

void Notifier::changed(const dns::Snapshot* previous, const dns::Snapshot& current) {
    const auto& targets = current.settings().notify;
    if (targets.empty()) return;
    for (const auto& zone : current.zones()) {
        bool changed = true;
        if (previous) {
            for (const auto& old : previous->zones()) {
                if (old.origin == zone.origin) changed = old.serial != zone.serial;
            }
        }
        if (!changed) continue;
        if (!open_sockets()) {
            log(LogLevel::Error, "notify_failed", "reason=\"cannot open a UDP socket\"");
            return;
        }
        for (const auto& target : targets) {
            std::string text = target;
            if (text.find(':') == std::string::npos || (text.starts_with('[') && text.ends_with(']'))) text += ":53";
            auto address = dns::parse_listen_address(text);
            if (!address) {
                log(LogLevel::Error, "notify_failed", "zone={} target={} reason=\"{}\"", zone.origin, target,
                    address.error().message);
                continue;
            }
            if (address->addr.ss_family == AF_INET6 && !have6_) {
                log(LogLevel::Error, "notify_failed", "zone={} target={} reason=\"no IPv6 socket\"", zone.origin,
                    target);
                continue;
            }
            // A newer change supersedes a NOTIFY still being retried for the same zone and target.
            for (auto& p : pending_) {
                if (p->zone == zone.origin && p->target == target &&
                    !uv_is_closing(reinterpret_cast<uv_handle_t*>(&p->timer))) {
                    finish(*p, "notify_superseded");
                }
            }
            auto p = std::make_unique<Pending>();
            p->owner = this;
            p->zone = zone.origin;
            p->target = target;
            p->address = *address;
            p->id = next_id_++;
            // Header: ID, opcode NOTIFY with AA, one question (zone, SOA, IN).
            std::uint8_t wire[kMaxNameLength];
            std::size_t n = name_to_wire(zone.origin, wire);
            p->packet = {static_cast<std::uint8_t>(p->id >> 8), static_cast<std::uint8_t>(p->id), 0x24, 0x00, 0, 1,
                         0, 0, 0, 0, 0, 0};
            p->packet.insert(p->packet.end(), wire, wire + n);
            p->packet.insert(p->packet.end(), {0, 6, 0, 1});
            uv_timer_init(loop_, &p->timer);
            p->timer.data = p.get();
            pending_.push_back(std::move(p));
            pending_.back()->self = std::prev(pending_.end());
            send(*pending_.back());
        }
    }
}

void Notifier::send(Pending& p) {
    if (p.attempts >= kMaxAttempts) {
        finish(p, "notify_failed");
        return;
    }
    ++p.attempts;
    uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(p.packet.data()), static_cast<unsigned>(p.packet.size()));
    uv_udp_t* sock = p.address.addr.ss_family == AF_INET6 ? &udp6_ : &udp4_;
    uv_udp_try_send(sock, &buf, 1, reinterpret_cast<const sockaddr*>(&p.address.addr));
    uv_timer_start(&p.timer, [](uv_timer_t* t) {
        auto* p = static_cast<Pending*>(t->data);
        p->owner->send(*p);
    }, kRetryMs, 0);
}

void Notifier::finish(Pending& p, const char* outcome) {
    if (std::strcmp(outcome, "notify_acked") == 0) {
        log(LogLevel::Info, outcome, "zone={} target={} attempts={}", p.zone, p.target, p.attempts);
    } else if (std::strcmp(outcome, "notify_superseded") == 0) {
        log(LogLevel::Debug, outcome, "zone={} target={}", p.zone, p.target);
    } else {
        log(LogLevel::Warn, outcome, "zone={} target={} attempts={} reason=\"no answer\"", p.zone, p.target,
            p.attempts);
    }
    uv_timer_stop(&p.timer);
    // The Pending is freed when libuv is done with its timer.
    uv_close(reinterpret_cast<uv_handle_t*>(&p.timer), [](uv_handle_t* h) {
        auto* p = static_cast<Pending*>(h->data);
        p->owner->pending_.erase(p->self);
    });
}

void Notifier::on_datagram(const std::uint8_t* data, std::size_t size, const sockaddr*) {
    if (size < 12 || !(data[2] & 0x80) || ((data[2] >> 3) & 0x0f) != 4) return;  // a NOTIFY response only
    std::uint16_t id = static_cast<std::uint16_t>((data[0] << 8) | data[1]);
    for (auto& p : pending_) {
        if (p->id == id && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&p->timer))) {
            finish(*p, "notify_acked");
            return;
        }
    }
}

void Notifier::stop() {
    for (auto& p : pending_) {
        if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&p->timer))) {
            uv_timer_stop(&p->timer);
            uv_close(reinterpret_cast<uv_handle_t*>(&p->timer), [](uv_handle_t* h) {
                auto* p = static_cast<Pending*>(h->data);
                p->owner->pending_.erase(p->self);
            });
        }
    }
    if (open_) {
        uv_close(reinterpret_cast<uv_handle_t*>(&udp4_), nullptr);
        if (have6_) uv_close(reinterpret_cast<uv_handle_t*>(&udp6_), nullptr);
        open_ = false;
    }
}

}  // namespace pooldns
