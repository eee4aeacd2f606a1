// Zone edits over the SQLite store. Each edit is one transaction: it validates,
// writes, bumps the zone's SOA serial and appends an audit row, or changes
// nothing and returns an Error that names the bad argument or line.
#pragma once

#include "pooldns/record.hpp"
#include "pooldns/result.hpp"
#include "pooldns/store.hpp"
#include "pooldns/zone_rules.hpp"
#include "pooldns/zonefile.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pooldns {

struct ZoneSummary {
    std::string origin;
    std::uint32_t serial = 0;
    std::int64_t records = 0;
    std::string updated_at;
};

struct ZoneCreateOptions {
    std::vector<std::string> nameservers;  // at least one
    std::string mbox;                      // "hostmaster@example.com" or "hostmaster.example.com."
    std::uint32_t ttl = 3600;
};

struct ImportReport {
    std::string origin;
    std::size_t records = 0;
    std::uint32_t serial = 0;
    bool replaced = false;              // the zone existed and its contents were replaced
    std::vector<std::string> warnings;  // duplicates dropped, RRset TTLs unified
};

struct RecordChange {
    std::string origin;
    std::uint32_t serial = 0;       // the zone's serial after the edit
    std::size_t changed = 0;        // records added or deleted
    std::string note;               // e.g. the RRset TTL was changed to match
};

class ZoneStore {
public:
    // `command` is the command line recorded in the audit log with every edit.
    ZoneStore(const Database& db, std::string command) : db_(db), command_(std::move(command)) {}

    Result<ZoneSummary> create(std::string_view origin, const ZoneCreateOptions& options);
    Result<ImportReport> import(std::string_view origin, const std::string& path, const ProgressFn& progress = {});
    Result<std::string> export_text(std::string_view origin) const;
    Result<std::vector<ZoneSummary>> list() const;
    Result<ZoneSummary> remove(std::string_view origin);
    // Problems with a stored zone (or every zone when origin is empty).
    Result<std::vector<Problem>> check(std::string_view origin) const;

    // record add: adds one RR. Adding an RR that exists changes nothing.
    Result<RecordChange> add_record(std::string_view origin, std::string_view name, std::string_view ttl,
                                    std::string_view type, std::string_view rdata);
    // record replace: the RRset (name, type) becomes exactly this one RR.
    Result<RecordChange> replace_record(std::string_view origin, std::string_view name, std::string_view ttl,
                                        std::string_view type, std::string_view rdata);
    // record delete: the RR with this rdata, or the whole RRset when rdata is empty.
    Result<RecordChange> delete_records(std::string_view origin, std::string_view name, std::string_view type,
                                        std::string_view rdata);
    Result<std::vector<Record>> records(std::string_view origin, std::string_view name = {}) const;

private:
    const Database& db_;
    std::string command_;
};

// The zone origin as stored: absolute, lower case. Errors name the argument.
Result<std::string> zone_origin(std::string_view origin);

}  // namespace pooldns
