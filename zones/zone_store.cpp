// Zone edits: each public operation is one SQLite transaction that validates
// the result, bumps the SOA serial and writes an audit row, or rolls back.
#include "pooldns/zone_store.hpp"

#include "edit.hpp"
#include "pooldns/pool_store.hpp"
#include "pooldns/topology.hpp"
#include "pooldns/serial.hpp"

#include <fmt/format.h>
#include "pooldns/ldns_ptr.hpp"

#include <set>

namespace pooldns {

namespace {

constexpr std::size_t kProgressEvery = 5000;

std::vector<Record> load_records(const Database& db, std::int64_t zone_id, std::optional<std::string_view> owner) {
    auto st = owner ? db.prepare("SELECT owner, type, ttl, rdata FROM records WHERE zone_id = ? AND owner = ? "
                                 "ORDER BY type, rdata")
                    : db.prepare("SELECT owner, type, ttl, rdata FROM records WHERE zone_id = ?");
    st.bind(1, zone_id);
    if (owner) st.bind(2, *owner);
    std::vector<Record> out;
    while (st.step()) {
        out.push_back(Record{st.column_text(0), static_cast<std::uint16_t>(st.column_int(1)),
                             static_cast<std::uint32_t>(st.column_int(2)), st.column_blob(3)});
    }
    return out;
}

std::vector<ZoneEntry> as_entries(std::vector<Record> records) {
    std::vector<ZoneEntry> out;
    out.reserve(records.size());
    for (auto& r : records) {
        std::string where = fmt::format("{} {}", r.owner, type_to_text(r.type));
        out.push_back(ZoneEntry{std::move(r), std::move(where)});
    }
    return out;
}

// Checks the rules at `owner` as the transaction now has it. All rules are per
// owner except the apex SOA/NS, so the owner's records plus the apex's suffice.
Status check_owner(const Database& db, std::int64_t zone_id, std::string_view origin, std::string_view owner) {
    auto records = load_records(db, zone_id, owner);
    if (owner != origin) {
        auto apex = load_records(db, zone_id, origin);
        records.insert(records.end(), apex.begin(), apex.end());
    }
    std::vector<std::uint16_t> types;
    for (const auto& r : records) {
        if (r.owner == owner) types.push_back(r.type);
    }
    auto problems = check_zone(origin, as_entries(std::move(records)));
    if (!problems.empty()) return Error{format_problems(problems)};
    return check_owned_name(db, owner, types);
}

// Records of a zone file that would stand at a pool FQDN or a server's host
// name, where the pool model owns the addresses.
Status check_owned_names(const Database& db, std::string_view origin, const std::vector<ZoneEntry>& entries) {
    std::set<std::string> owned;
    auto pools = db.prepare("SELECT fqdn FROM pools UNION SELECT host FROM servers");
    while (pools.step()) {
        auto name = pools.column_text(0);
        if (name_in_zone(name, origin)) owned.insert(std::move(name));
    }
    if (owned.empty()) return {};
    for (const auto& e : entries) {
        if (e.rec.type != LDNS_RR_TYPE_NS || e.rec.owner == origin) continue;
        for (const auto& name : owned) {
            if (name != e.rec.owner && name_in_zone(name, e.rec.owner)) {
                return Error{fmt::format("{}: an NS record at '{}' would delegate '{}' (a pool or server host name) "
                                         "away from us",
                                         e.where, e.rec.owner, name)};
            }
        }
    }
    for (const auto& name : owned) {
        std::vector<std::uint16_t> types;
        const ZoneEntry* first = nullptr;
        for (const auto& e : entries) {
            if (e.rec.owner == name) {
                types.push_back(e.rec.type);
                if (!first) first = &e;
            }
        }
        if (auto s = check_owned_name(db, name, types); !s) {
            return Error{fmt::format("{}: {}", first ? first->where : name, s.error().message)};
        }
    }
    return {};
}

void insert_record(Statement& ins, std::int64_t zone_id, const Record& r) {
    ins.bind(1, zone_id).bind(2, r.owner).bind(3, static_cast<std::int64_t>(r.type));
    ins.bind(4, static_cast<std::int64_t>(r.ttl)).bind(5, std::span<const std::uint8_t>(r.rdata));
    ins.run();
    ins.reset();
}

// Everything `record add` and `record replace` share: parse and place the RR.
Result<Record> parse_for_zone(std::string_view origin, std::string_view name, std::string_view ttl_text,
                              std::string_view type, std::string_view rdata) {
    auto ttl = parse_ttl(ttl_text, "TTL");
    if (!ttl) return ttl.error();
    auto rec = parse_record(name, *ttl, type, rdata, origin);
    if (!rec) return rec.error();
    if (!name_in_zone(rec->owner, origin)) {
        return Error{fmt::format("NAME: '{}' is outside zone '{}'", rec->owner, origin)};
    }
    if (rec->type == LDNS_RR_TYPE_SOA && rec->owner != origin) {
        return Error{fmt::format("NAME: an SOA may only be at the zone apex '{}', not at '{}'", origin, rec->owner)};
    }
    return rec;
}

}  // namespace

Result<std::string> zone_origin(std::string_view origin) {
    if (origin.empty()) return Error{"ORIGIN: empty zone name"};
    return absolute_name(origin, "ORIGIN");
}

Result<ZoneSummary> ZoneStore::create(std::string_view origin_arg, const ZoneCreateOptions& options) {
    auto origin = zone_origin(origin_arg);
    if (!origin) return origin.error();
    if (options.nameservers.empty()) {
        return Error{"--ns: at least one name server is needed (a zone without NS at its apex cannot be served)"};
    }
    if (options.ttl > kMaxTtl) return Error{fmt::format("--ttl: {} is out of range 0..{}", options.ttl, kMaxTtl)};
    std::string mbox = options.mbox.empty() ? "hostmaster." + *origin : options.mbox;
    if (auto at = mbox.find('@'); at != std::string::npos) {
        // RFC 1035 section 8: the local part's dots are escaped in the mailbox name.
        std::string local;
        for (char c : mbox.substr(0, at)) local += c == '.' ? std::string("\\.") : std::string(1, c);
        mbox = local + "." + mbox.substr(at + 1);
        if (!mbox.ends_with('.')) mbox += '.';
    }
    if (!mbox.ends_with('.')) mbox += '.';  // host names on a command line are absolute
    auto rname = canonical_name(mbox, *origin, "--mbox");
    if (!rname) return rname.error();
    std::vector<Record> records;
    std::vector<std::string> ns_names;
    for (const auto& ns : options.nameservers) {
        auto name = canonical_name(ns.ends_with('.') ? ns : ns + ".", *origin, "--ns");
        if (!name) return name.error();
        ns_names.push_back(*name);
    }
    std::uint32_t serial = today_utc_yyyymmdd() * 100 + 1;
    auto soa = parse_record("@", options.ttl, "SOA",
                            fmt::format("{} {} {} 3600 600 1209600 60", ns_names[0], *rname, serial), *origin);
    if (!soa) return soa.error();
    records.push_back(*soa);
    for (const auto& ns : ns_names) {
        auto rec = parse_record("@", options.ttl, "NS", ns, *origin);
        if (!rec) return rec.error();
        records.push_back(*rec);
    }
    return guarded<ZoneSummary>("zone create", [&]() -> Result<ZoneSummary> {
        EditTransaction tx(db_);
        if (find_zone(db_, *origin)) return Error{fmt::format("ORIGIN: zone '{}' already exists", *origin)};
        auto st = db_.prepare("INSERT INTO zones (origin) VALUES (?)");
        st.bind(1, *origin);
        st.run();
        std::int64_t zone_id = db_.last_insert_rowid();
        auto ins = db_.prepare("INSERT INTO records (zone_id, owner, type, ttl, rdata) VALUES (?, ?, ?, ?, ?)");
        for (const auto& r : records) insert_record(ins, zone_id, r);
        audit(db_, command_, "zone create", *origin, fmt::format("serial {}", serial));
        if (auto broken = tx.commit(); !broken) return broken.error();
        return ZoneSummary{*origin, serial, static_cast<std::int64_t>(records.size()), {}};
    });
}

Result<ImportReport> ZoneStore::import(std::string_view origin_arg, const std::string& path,
                                       const ProgressFn& progress) {
    auto origin = zone_origin(origin_arg);
    if (!origin) return origin.error();
    auto entries = read_zone_file(path, *origin, progress);
    if (!entries) return entries.error();
    ImportReport report;
    report.origin = *origin;
    report.warnings = normalize_rrsets(*entries);
    auto problems = check_zone(*origin, *entries);
    for (auto& p : problems) {
        // Zone-wide problems (no SOA, no NS at the apex) belong to the file as a whole.
        if (p.where == *origin) p = Problem{path, fmt::format("zone '{}': {}", *origin, p.message)};
    }
    if (!problems.empty()) return Error{format_problems(problems)};

    return guarded<ImportReport>("zone import", [&]() -> Result<ImportReport> {
        EditTransaction tx(db_);
        if (auto s = check_owned_names(db_, *origin, *entries); !s) return s.error();
        auto zone_id = find_zone(db_, *origin);
        std::optional<std::uint32_t> previous;
        if (zone_id) {
            previous = current_serial(db_, *zone_id);
            auto del = db_.prepare("DELETE FROM records WHERE zone_id = ?");
            del.bind(1, *zone_id);
            del.run();
            report.replaced = true;
        } else {
            auto st = db_.prepare("INSERT INTO zones (origin) VALUES (?)");
            st.bind(1, *origin);
            st.run();
            zone_id = db_.last_insert_rowid();
        }
        auto ins = db_.prepare("INSERT INTO records (zone_id, owner, type, ttl, rdata) VALUES (?, ?, ?, ?, ?)");
        std::size_t n = 0;
        for (const auto& e : *entries) {
            insert_record(ins, *zone_id, e.rec);
            if (progress && ++n % kProgressEvery == 0) progress("write", n);
        }
        if (progress) progress("write", entries->size());
        std::uint32_t file_serial = 0;
        for (const auto& e : *entries) {
            if (e.rec.type == LDNS_RR_TYPE_SOA) file_serial = soa_serial(e.rec.rdata).value();
        }
        if (previous) {
            // A re-import is an edit: the serial must move past the one secondaries have.
            auto serial = bump_serial(db_, *zone_id, previous, file_serial);
            if (!serial) return Error{fmt::format("zone import: {}", serial.error().message)};
            report.serial = *serial;
        } else {
            report.serial = file_serial;
        }
        report.records = entries->size();
        audit(db_, command_, "zone import", *origin,
              fmt::format("{} records from {}, serial {}", report.records, path, report.serial));
        if (auto broken = tx.commit(); !broken) return broken.error();
        return report;
    });
}

Result<std::string> ZoneStore::export_text(std::string_view origin_arg) const {
    auto origin = zone_origin(origin_arg);
    if (!origin) return origin.error();
    return guarded<std::string>("zone export", [&]() -> Result<std::string> {
        auto zone_id = find_zone(db_, *origin);
        if (!zone_id) return unknown_zone(*origin);
        std::string text = write_zone_text(*origin, load_records(db_, *zone_id, std::nullopt));
        // Pools and server host records are data of their own (pooldnsctl
        // server/pool/member): shown as comments, so a re-import leaves them be.
        std::string notes;
        auto pools = db_.prepare("SELECT id, fqdn, type, ttl FROM pools WHERE zone_id = ? ORDER BY fqdn");
        pools.bind(1, *zone_id);
        while (pools.step()) {
            notes += fmt::format("; pool {} ({}, ttl {}): answered with its healthy members; 'pooldnsctl status'\n",
                                 pools.column_text(1), pools.column_int(2) == 1 ? "A" : "AAAA", pools.column_int(3));
            auto members = db_.prepare("SELECT s.name, m.address, s.admin_state FROM members m JOIN servers s "
                                       "ON s.id = m.server_id WHERE m.pool_id = ? ORDER BY s.name");
            members.bind(1, pools.column_int(0));
            while (members.step()) {
                notes += fmt::format(";   member {} {} ({})\n", members.column_text(0), members.column_text(1),
                                     members.column_text(2));
            }
        }
        auto hosts = db_.prepare("SELECT s.name, s.host, s.ttl, s.admin_state, a.address FROM servers s "
                                 "JOIN server_addresses a ON a.server_id = s.id WHERE a.host_record = 1 "
                                 "ORDER BY s.name, a.rowid");
        while (hosts.step()) {
            std::string host = hosts.column_text(1);
            if (!name_in_zone(host, *origin)) continue;
            std::string address = hosts.column_text(4);
            notes += fmt::format("; server {} ({}): {} {} IN {} {}\n", hosts.column_text(0), hosts.column_text(3), host,
                                 hosts.column_int(2), address.find(':') == std::string::npos ? "A" : "AAAA", address);
        }
        if (!notes.empty()) text += "\n" + notes;
        return text;
    });
}

Result<std::vector<ZoneSummary>> ZoneStore::list() const {
    return guarded<std::vector<ZoneSummary>>("zone list", [&]() -> Result<std::vector<ZoneSummary>> {
        auto st = db_.prepare(
            "SELECT z.origin, z.updated_at, (SELECT count(*) FROM records r WHERE r.zone_id = z.id), "
            "(SELECT rdata FROM records r WHERE r.zone_id = z.id AND r.type = 6 LIMIT 1) "
            "FROM zones z ORDER BY z.origin");
        std::vector<ZoneSummary> out;
        while (st.step()) {
            ZoneSummary z;
            z.origin = st.column_text(0);
            z.updated_at = st.column_text(1);
            z.records = st.column_int(2);
            auto serial = soa_serial(st.column_blob(3));
            z.serial = serial ? *serial : 0;
            out.push_back(std::move(z));
        }
        return out;
    });
}

Result<ZoneSummary> ZoneStore::remove(std::string_view origin_arg) {
    auto origin = zone_origin(origin_arg);
    if (!origin) return origin.error();
    return guarded<ZoneSummary>("zone delete", [&]() -> Result<ZoneSummary> {
        EditTransaction tx(db_);
        auto zone_id = find_zone(db_, *origin);
        if (!zone_id) return unknown_zone(*origin);
        auto pools = db_.prepare("SELECT fqdn FROM pools WHERE zone_id = ? ORDER BY fqdn");
        pools.bind(1, *zone_id);
        std::string names;
        while (pools.step()) names += (names.empty() ? "" : ", ") + pools.column_text(0);
        if (!names.empty()) {
            return Error{fmt::format("ORIGIN: zone '{}' still holds pools ({}); delete them first", *origin, names)};
        }
        ZoneSummary summary{*origin, current_serial(db_, *zone_id).value_or(0), 0, {}};
        auto count = db_.prepare("SELECT count(*) FROM records WHERE zone_id = ?");
        count.bind(1, *zone_id);
        count.step();
        summary.records = count.column_int(0);
        auto del = db_.prepare("DELETE FROM zones WHERE id = ?");
        del.bind(1, *zone_id);
        del.run();
        audit(db_, command_, "zone delete", *origin, fmt::format("{} records", summary.records));
        if (auto broken = tx.commit(); !broken) return broken.error();
        return summary;
    });
}

Result<std::vector<Problem>> ZoneStore::check(std::string_view origin_arg) const {
    std::optional<std::string> origin;
    if (!origin_arg.empty()) {
        auto o = zone_origin(origin_arg);
        if (!o) return o.error();
        origin = *o;
    }
    return guarded<std::vector<Problem>>("zone check", [&]() -> Result<std::vector<Problem>> {
        std::vector<std::pair<std::int64_t, std::string>> zones;
        auto st = db_.prepare("SELECT id, origin FROM zones ORDER BY origin");
        while (st.step()) {
            if (!origin || st.column_text(1) == *origin) zones.emplace_back(st.column_int(0), st.column_text(1));
        }
        if (origin && zones.empty()) return unknown_zone(*origin);
        std::vector<Problem> problems;
        for (const auto& [id, name] : zones) {
            auto entries = as_entries(load_records(db_, id, std::nullopt));
            for (auto& p : check_zone(name, entries)) {
                p.where = fmt::format("zone {}: {}", name, p.where);
                problems.push_back(std::move(p));
            }
        }
        // The DNS load-balancing rules (pools, SfB/Lync topologies) of the names in these zones.
        for (auto& p : deployment_problems(db_)) {
            auto space = p.where.find(' ');
            std::string name = space == std::string::npos ? p.where : p.where.substr(space + 1);
            if (!origin || name_in_zone(name, *origin)) problems.push_back(std::move(p));
        }
        return problems;
    });
}

Result<RecordChange> ZoneStore::add_record(std::string_view origin_arg, std::string_view name, std::string_view ttl,
                                           std::string_view type, std::string_view rdata) {
    auto origin = zone_origin(origin_arg);
    if (!origin) return origin.error();
    auto rec = parse_for_zone(*origin, name, ttl, type, rdata);
    if (!rec) return rec.error();
    return guarded<RecordChange>("record add", [&]() -> Result<RecordChange> {
        EditTransaction tx(db_);
        auto zone_id = find_zone(db_, *origin);
        if (!zone_id) return unknown_zone(*origin);
        RecordChange change{*origin, 0, 0, {}};
        std::optional<std::uint32_t> previous = current_serial(db_, *zone_id);
        auto rrset = db_.prepare("SELECT ttl, rdata FROM records WHERE zone_id = ? AND owner = ? AND type = ?");
        rrset.bind_all(*zone_id, rec->owner, static_cast<std::int64_t>(rec->type));
        bool exists = false;
        std::optional<std::uint32_t> rrset_ttl;
        while (rrset.step()) {
            rrset_ttl = static_cast<std::uint32_t>(rrset.column_int(0));
            if (rrset.column_blob(1) == rec->rdata) exists = true;
        }
        if (rec->type == LDNS_RR_TYPE_SOA && rrset_ttl) {
            return Error{fmt::format("TYPE: zone '{}' already has an SOA record (a second SOA is not allowed); "
                                     "change it with 'record replace'",
                                     *origin)};
        }
        if (exists && rrset_ttl == rec->ttl) {
            change.serial = previous.value_or(0);
            change.note = "the record already exists; nothing changed";
            return change;  // the transaction rolls back: nothing was written
        }
        if (!exists) {
            auto ins = db_.prepare("INSERT INTO records (zone_id, owner, type, ttl, rdata) VALUES (?, ?, ?, ?, ?)");
            insert_record(ins, *zone_id, *rec);
            change.changed = 1;
        }
        if (rrset_ttl && *rrset_ttl != rec->ttl) {
            // RFC 2181 section 5.2: all RRs of an RRset share one TTL; the newest wins, as with UPDATE.
            auto up = db_.prepare("UPDATE records SET ttl = ? WHERE zone_id = ? AND owner = ? AND type = ?");
            up.bind_all(static_cast<std::int64_t>(rec->ttl), *zone_id, rec->owner, static_cast<std::int64_t>(rec->type));
            up.run();
            change.note = fmt::format("the TTL of the {} {} RRset changed from {} to {}", rec->owner,
                                      type_to_text(rec->type), *rrset_ttl, rec->ttl);
        }
        if (auto s = check_owner(db_, *zone_id, *origin, rec->owner); !s) return s.error();
        auto serial = bump_serial(db_, *zone_id, previous);
        if (!serial) return serial.error();
        change.serial = *serial;
        audit(db_, command_, "record add", *origin, record_to_text(*rec));
        if (auto broken = tx.commit(); !broken) return broken.error();
        return change;
    });
}

Result<RecordChange> ZoneStore::replace_record(std::string_view origin_arg, std::string_view name,
                                               std::string_view ttl, std::string_view type, std::string_view rdata) {
    auto origin = zone_origin(origin_arg);
    if (!origin) return origin.error();
    auto rec = parse_for_zone(*origin, name, ttl, type, rdata);
    if (!rec) return rec.error();
    return guarded<RecordChange>("record replace", [&]() -> Result<RecordChange> {
        EditTransaction tx(db_);
        auto zone_id = find_zone(db_, *origin);
        if (!zone_id) return unknown_zone(*origin);
        RecordChange change{*origin, 0, 1, {}};
        std::optional<std::uint32_t> previous = current_serial(db_, *zone_id);
        auto del = db_.prepare("DELETE FROM records WHERE zone_id = ? AND owner = ? AND type = ?");
        del.bind_all(*zone_id, rec->owner, static_cast<std::int64_t>(rec->type));
        del.run();
        auto ins = db_.prepare("INSERT INTO records (zone_id, owner, type, ttl, rdata) VALUES (?, ?, ?, ?, ?)");
        insert_record(ins, *zone_id, *rec);
        if (auto s = check_owner(db_, *zone_id, *origin, rec->owner); !s) return s.error();
        std::optional<std::uint32_t> proposed;
        if (rec->type == LDNS_RR_TYPE_SOA) proposed = soa_serial(rec->rdata).value();
        auto serial = bump_serial(db_, *zone_id, previous, proposed);
        if (!serial) return serial.error();
        change.serial = *serial;
        audit(db_, command_, "record replace", *origin, record_to_text(*rec));
        if (auto broken = tx.commit(); !broken) return broken.error();
        return change;
    });
}

Result<RecordChange> ZoneStore::delete_records(std::string_view origin_arg, std::string_view name,
                                               std::string_view type_text, std::string_view rdata) {
    auto origin = zone_origin(origin_arg);
    if (!origin) return origin.error();
    auto owner = argument_name(name, *origin, "NAME");
    if (!owner) return owner.error();
    std::uint16_t type = type_from_text(type_text);
    if (type == 0) return Error{fmt::format("TYPE: unknown RR type '{}'", type_text)};
    if (type == LDNS_RR_TYPE_SOA) {
        return Error{"TYPE: the SOA cannot be deleted (a zone needs one); change it with 'record replace'"};
    }
    std::optional<Record> exact;
    if (!rdata.empty()) {
        auto rec = parse_record(*owner, 0, type_text, rdata, *origin);
        if (!rec) return rec.error();
        exact = *rec;
    }
    return guarded<RecordChange>("record delete", [&]() -> Result<RecordChange> {
        EditTransaction tx(db_);
        auto zone_id = find_zone(db_, *origin);
        if (!zone_id) return unknown_zone(*origin);
        std::optional<std::uint32_t> previous = current_serial(db_, *zone_id);
        auto del = exact ? db_.prepare("DELETE FROM records WHERE zone_id = ? AND owner = ? AND type = ? AND rdata = ?")
                         : db_.prepare("DELETE FROM records WHERE zone_id = ? AND owner = ? AND type = ?");
        del.bind_all(*zone_id, *owner, static_cast<std::int64_t>(type));
        if (exact) del.bind(4, std::span<const std::uint8_t>(exact->rdata));
        del.run();
        auto changes = db_.prepare("SELECT changes()");
        changes.step();
        std::size_t n = static_cast<std::size_t>(changes.column_int(0));
        if (n == 0) {
            return Error{exact ? fmt::format("no {} record '{}' at '{}' in zone '{}'", type_to_text(type), rdata,
                                             *owner, *origin)
                               : fmt::format("no {} records at '{}' in zone '{}'", type_to_text(type), *owner,
                                             *origin)};
        }
        if (auto s = check_owner(db_, *zone_id, *origin, *owner); !s) return s.error();
        auto serial = bump_serial(db_, *zone_id, previous);
        if (!serial) return serial.error();
        audit(db_, command_, "record delete", *origin,
              fmt::format("{} {}{}{} ({} records)", *owner, type_to_text(type), exact ? " " : "", rdata, n));
        if (auto broken = tx.commit(); !broken) return broken.error();
        return RecordChange{*origin, *serial, n, {}};
    });
}

Result<std::vector<Record>> ZoneStore::records(std::string_view origin_arg, std::string_view name) const {
    auto origin = zone_origin(origin_arg);
    if (!origin) return origin.error();
    std::optional<std::string> owner;
    if (!name.empty()) {
        auto o = argument_name(name, *origin, "NAME");
        if (!o) return o.error();
        owner = *o;
    }
    return guarded<std::vector<Record>>("record list", [&]() -> Result<std::vector<Record>> {
        auto zone_id = find_zone(db_, *origin);
        if (!zone_id) return unknown_zone(*origin);
        auto recs = load_records(db_, *zone_id, owner ? std::optional<std::string_view>(*owner) : std::nullopt);
        if (!owner) sort_canonical(recs);
        return recs;
    });
}

}  // namespace pooldns
