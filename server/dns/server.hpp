// The DNS I/O layer: one worker per core, each a libuv loop with its own
// SO_REUSEPORT UDP and TCP sockets on every listen address. Workers answer
// from the snapshot published in a SnapshotBox; they take its lock only when
// its version moved (once per batch at most), never per query.
#pragma once

#include "pooldns/answer.hpp"
#include "pooldns/result.hpp"
#include "pooldns/snapshot.hpp"

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pooldns::dns {

struct ListenAddress {
    sockaddr_storage addr{};
    socklen_t len = 0;
    std::string text;
};

// "127.0.0.1:53", "[::1]:5353". Errors name the argument.
Result<ListenAddress> parse_listen_address(std::string_view text);

struct ServerStats {
    std::atomic<std::uint64_t> udp_queries{0};
    std::atomic<std::uint64_t> tcp_queries{0};
    std::atomic<std::uint64_t> transfers{0};
    std::atomic<std::uint64_t> tcp_connections{0};
};

class Worker;

class DnsServer {
public:
    DnsServer(SnapshotBox& box, std::vector<ListenAddress> addresses, unsigned threads);
    ~DnsServer();
    // Binds every socket (UDP and TCP, per thread); errors name the address.
    Status open();
    void start();
    // Stops every loop and joins the threads.
    void stop();
    const ServerStats& stats() const { return stats_; }

private:
    SnapshotBox& box_;
    std::vector<ListenAddress> addresses_;
    unsigned threads_;
    ServerStats stats_;
    std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace pooldns::dns
