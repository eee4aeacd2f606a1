// Skype for Business / Lync topologies over the SQLite store: a Front End,
// Director, Edge or Mediation pool laid out in one transaction from a few
// arguments (servers and host records, pools with role health checks, the web
// services FQDN and its VIPs, discovery records), and the deployment rules of
// Microsoft's DNS load-balancing guidance, checked by `topology check`,
// `zone check` and before every edit commits (RulesGuard).
#pragma once

#include "pooldns/pool_store.hpp"
#include "pooldns/record.hpp"
#include "pooldns/result.hpp"
#include "pooldns/store.hpp"
#include "pooldns/vip_store.hpp"
#include "pooldns/zone_rules.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pooldns {

enum class TopologyKind { Frontend, Director, Edge, Mediation };
std::string_view topology_kind_name(TopologyKind kind);
std::optional<TopologyKind> topology_kind_from_name(std::string_view name);

// What `pooldnsctl topology KIND POOL ...` takes, as the operator typed it.
// Errors name the option (--server, --web-internal, ...).
struct TopologySpec {
    TopologyKind kind = TopologyKind::Frontend;
    std::string fqdn;                 // the pool FQDN (Edge: the internal Edge pool FQDN)
    std::vector<std::string> servers;  // "NAME,HOST,ADDR" (Edge: "NAME,HOST,INTERNAL,ACCESS,WEBCONF,AV")
    // Health and answers of the pools made; unset: the role's default check and the pool defaults.
    std::optional<std::string> check;  // the pool's (Edge: the internal pool's)
    std::optional<std::string> access_check, webconf_check, av_check;
    std::optional<std::string> interval, timeout, rise, fall, ttl;
    // Front End and Director: the web services and their VIPs.
    std::optional<std::string> web_internal, web_external;
    std::optional<std::string> vip, vip_external;  // addresses; the external VIP defaults to --vip
    std::vector<std::string> tls_certs, tls_keys;
    std::optional<std::string> backend_ca;
    std::optional<std::string> ports;          // "443,80,4443,8080": internal HTTPS, HTTP, external HTTPS, HTTP
    std::optional<std::string> backend_ports;  // the members' ports in the same order; default: ports
    // Edge: the external service FQDNs, or hardware load balancers instead of DNS.
    std::optional<std::string> access, webconf, av;
    std::optional<std::string> internal_hlb;  // ADDR
    std::optional<std::string> external_hlb;  // ACCESS_ADDR,WEBCONF_ADDR,AV_ADDR
    // Client and federation discovery records in the SIP domain (default: the pool's zone).
    bool discovery = false;
    std::optional<std::string> sip_domain;
};

// One name a topology gives a role: "pool", "web-internal", "web-external",
// "edge-internal", "edge-access", "edge-webconf", "edge-av", "discovery".
struct TopologyName {
    std::string role;
    std::string fqdn;
    std::string lb;  // dns (a pool) | hlb (address records of a hardware LB) | vip | record
};

struct TopologyInfo {
    std::string fqdn;
    TopologyKind kind = TopologyKind::Frontend;
    std::string created_at;
    std::vector<TopologyName> names;
    std::vector<PoolInfo> pools;      // the topology's pools, with members and health
    std::vector<VipInfo> vips;        // the VIPs in front of its pools
    std::vector<Record> records;      // the records at its web services, HLB and discovery names
    std::vector<Problem> problems;    // the rules it breaks now
};

struct TopologyReport {
    TopologyInfo topology;
    std::vector<std::string> created;  // one line per object made, in order
};

class TopologyStore {
public:
    TopologyStore(const Database& db, std::string command) : db_(db), command_(std::move(command)) {}

    // One transaction: everything the topology needs, or nothing.
    Result<TopologyReport> create(const TopologySpec& spec);
    // Every topology (or the one named), with its pools, VIPs, records and problems.
    Result<std::vector<TopologyInfo>> topologies(std::string_view fqdn = {}) const;
    // Forgets the topology (its rules stop applying); pools, servers, VIPs and
    // records stay, to be removed with their own commands.
    Result<TopologyInfo> remove(std::string_view fqdn);
    // The rules every topology (and every pool) breaks now.
    Result<std::vector<Problem>> check() const;

private:
    const Database& db_;
    std::string command_;
};

// The deployment rules over the whole file, one Problem per breach, each naming
// the records and what to do:
//  - a pool answers only its members' addresses (no A/AAAA/CNAME/DNAME at a
//    pool name; every member address is one of its server's), for every pool;
//  - every member of a topology's pools has a host record served here;
//  - a web services FQDN differs from every pool FQDN and host name, belongs to
//    one topology only, and has address records;
//  - an Edge topology's internal and external sides use the same kind of load
//    balancing (DNS pools, or a hardware load balancer's address records);
//  - a web services FQDN resolves only to addresses where a VIP of its pool listens;
//  - every pool or HLB name a topology lists still exists, and its pools keep a member.
// Discovery records are the operator's to change: no rule holds them.
std::vector<Problem> deployment_problems(const Database& db);

// Refuses an edit that adds a breach of the deployment rules: built right after
// the Transaction (it notes the problems already there), verify() just before
// commit (EditTransaction below does both). Only the outermost guard checks, so a topology is judged whole; a
// breach that was there before the edit does not block it, whatever its
// message now says.
class RulesGuard {
public:
    RulesGuard(const Database& db, const Transaction& tx);
    ~RulesGuard();
    RulesGuard(const RulesGuard&) = delete;
    RulesGuard& operator=(const RulesGuard&) = delete;
    Status verify() const;

private:
    const Database& db_;
    bool active_ = false;             // false inside another guard: the outer one judges the edit whole
    std::vector<std::string> before_;  // the keys of the breaches already there, sorted
};

// The transaction of every store edit: BEGIN (or a savepoint) now, and a
// commit() that first lets the rules judge the edit, so no edit can commit
// without them. Destroyed without a successful commit(), it rolls back.
class EditTransaction {
public:
    explicit EditTransaction(const Database& db) : tx_(db), rules_(db, tx_) {}
    Status commit() {
        if (auto broken = rules_.verify(); !broken) return broken;
        tx_.commit();
        return {};
    }

private:
    Transaction tx_;   // first made, last destroyed
    RulesGuard rules_;
};

}  // namespace pooldns
