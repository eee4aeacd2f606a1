// NOTIFY (RFC 1996): tells the configured secondaries that a zone changed, so
// they transfer it now instead of at their next SOA refresh. Runs on the main
// loop; each (zone, target) is retried until the target answers or gives up.
#pragma once

#include "dns/server.hpp"
#include "pooldns/snapshot.hpp"

#include <uv.h>

#include <list>
#include <map>
#include <memory>
#include <string>

namespace pooldns {

class Notifier {
public:
    explicit Notifier(uv_loop_t* loop);
    // Compares the new snapshot's serials with the previous one's and notifies
    // the snapshot's `notify` targets of every zone that is new or changed.
    void changed(const dns::Snapshot* previous, const dns::Snapshot& current);
    void stop();

private:
    struct Pending {
        Notifier* owner = nullptr;
        std::string zone;
        std::string target;
        dns::ListenAddress address;
        std::uint16_t id = 0;
        int attempts = 0;
        std::vector<std::uint8_t> packet;
        uv_timer_t timer{};
        std::list<std::unique_ptr<Pending>>::iterator self;
    };

    void send(Pending& p);
    void finish(Pending& p, const char* outcome);
    void on_datagram(const std::uint8_t* data, std::size_t size, const sockaddr* from);
    bool open_sockets();

    uv_loop_t* loop_;
    uv_udp_t udp4_{};
    uv_udp_t udp6_{};
    bool open_ = false;
    bool have6_ = false;
    std::uint16_t next_id_;
    std::list<std::unique_ptr<Pending>> pending_;
    std::uint8_t recv_buf_[4096];
};

}  // namespace pooldns
