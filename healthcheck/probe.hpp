// One health probe of one member: connect, optionally TLS, optionally a
// request (HTTP GET or SIP OPTIONS), then a verdict. Non-blocking on a libuv
// loop; the probe enforces its own timeout over the whole exchange and calls
// `done` exactly once, from the loop thread, then frees itself.
#pragma once

#include "pooldns/check_spec.hpp"

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

struct uv_loop_s;

namespace pooldns::health {

struct ProbeResult {
    bool alive = false;
    std::string reason;        // short, for logs and `status`: "connect refused", "HTTP 503", "SIP 200", "timeout after 1000 ms"
    double latency_ms = 0;     // from the start of the probe to the verdict
    // Set when a tcp probe kept its connection (ProbeOptions::on_lost): closes
    // it quietly. Safe to call at any time, also after the peer closed it.
    std::function<void()> release;
};

struct ProbeTarget {
    sockaddr_storage address{};         // probe address; port is taken from the spec
    const CheckSpec* spec = nullptr;    // outlives the probe
    std::string host;                   // server host FQDN without the trailing dot: default Host header, SIP URI host, SNI
};

struct ProbeOptions {
    std::uint32_t timeout_ms = 1000;
    const sockaddr_storage* source = nullptr;   // bind before connect when set (port 0)
    std::size_t max_response = 16 * 1024;       // bytes read before giving up on a response
    // tcp checks only: when set, a successful probe keeps its connection open,
    // and on_lost runs once (on the loop) if the peer then closes or resets it:
    // a process that dies is noticed at once instead of at the next probe.
    std::function<void()> on_lost;
};

// Client TLS contexts, shared by every probe on one loop (one per CA file, and
// one that does not verify). Owned by the scheduler; used only on its thread.
class TlsClients {
public:
    TlsClients();
    ~TlsClients();
    TlsClients(const TlsClients&) = delete;
    TlsClients& operator=(const TlsClients&) = delete;
    // The SSL_CTX* for a CA file ("" = no verification), or nullptr with `error` set.
    void* context(const std::string& ca_file, std::string& error);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

using ProbeDone = std::function<void(const ProbeResult&)>;

// Starts a probe. `done` runs later on the loop thread, never inside this call.
void start_probe(uv_loop_s* loop, TlsClients& tls, const ProbeTarget& target, const ProbeOptions& options,
                 ProbeDone done);

}  // namespace pooldns::health
