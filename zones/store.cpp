// SQLite connection, statements and transactions (see include/pooldns/store.hpp).
#include "pooldns/store.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>

namespace pooldns {

namespace {

constexpr int kBusyTimeoutMs = 5000;

[[noreturn]] void fail(sqlite3* db, int rc, std::string_view what) {
    throw StoreError(fmt::format("{}: {}", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)), rc);
}

}  // namespace

bool StoreError::busy() const {
    int primary = code_ & 0xff;
    return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db), stmt_(nullptr) {
    int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
    if (rc != SQLITE_OK) fail(db, rc, fmt::format("preparing '{}'", sql));
}

Statement::~Statement() {
    if (stmt_) sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
    other.stmt_ = nullptr;
}

Statement& Statement::bind(int index, std::int64_t value) {
    int rc = sqlite3_bind_int64(stmt_, index, value);
    if (rc != SQLITE_OK) fail(db_, rc, "binding an integer");
    return *this;
}

Statement& Statement::bind(int index, double value) {
    int rc = sqlite3_bind_double(stmt_, index, value);
    if (rc != SQLITE_OK) fail(db_, rc, "binding a real");
    return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
    int rc = sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    if (rc != SQLITE_OK) fail(db_, rc, "binding text");
    return *this;
}

Statement& Statement::bind(int index, std::span<const std::uint8_t> blob) {
    // A zero-length blob must still be a blob, not NULL: pass a non-null pointer.
    static const std::uint8_t empty = 0;
    const void* data = blob.empty() ? &empty : blob.data();
    int rc = sqlite3_bind_blob(stmt_, index, data, static_cast<int>(blob.size()), SQLITE_TRANSIENT);
    if (rc != SQLITE_OK) fail(db_, rc, "binding a blob");
    return *this;
}

Statement& Statement::bind(int index, std::nullopt_t) {
    int rc = sqlite3_bind_null(stmt_, index);
    if (rc != SQLITE_OK) fail(db_, rc, "binding NULL");
    return *this;
}

bool Statement::step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(db_, rc, "executing a statement");
}

void Statement::run() {
    while (step()) {
    }
    sqlite3_reset(stmt_);
}

void Statement::reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

std::int64_t Statement::column_int(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Statement::column_text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string();
}

std::vector<std::uint8_t> Statement::column_blob(int col) const {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, col));
    int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::vector<std::uint8_t>(p, p + n) : std::vector<std::uint8_t>();
}

std::string_view Statement::column_text_view(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::string_view(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string_view();
}

std::span<const std::uint8_t> Statement::column_blob_view(int col) const {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, col));
    int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::span<const std::uint8_t>(p, static_cast<std::size_t>(n)) : std::span<const std::uint8_t>();
}

bool Statement::column_is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

Result<Database> Database::open(const std::string& path, OpenMode mode) {
    std::error_code ec;
    if ((mode == OpenMode::ReadWriteExisting || mode == OpenMode::ReadOnly) && !std::filesystem::exists(path, ec)) {
        return Error{fmt::format("database '{}' does not exist (create it with 'pooldnsctl zone create' "
                                 "or point --db / $POOLDNS_DB at an existing file)",
                                 path)};
    }
    int flags = mode == OpenMode::ReadOnly ? SQLITE_OPEN_READONLY
                                           : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    flags |= SQLITE_OPEN_NOMUTEX;
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    Database db(raw, path);  // owns raw even on failure
    if (rc != SQLITE_OK) {
        return Error{fmt::format("cannot open database '{}': {}", path,
                                 raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc))};
    }
    try {
        sqlite3_busy_timeout(raw, kBusyTimeoutMs);
        sqlite3_extended_result_codes(raw, 1);
        db.exec("PRAGMA foreign_keys = ON");
        if (mode != OpenMode::ReadOnly) {
            // WAL lets the server read while the CLI writes; NORMAL sync is safe in WAL.
            // Switching a new file to WAL needs the write lock, and SQLite does
            // not call the busy handler for it: wait for the lock ourselves.
            std::string journal;
            for (int waited_ms = 0;; waited_ms += 10) {
                try {
                    auto st = db.prepare("PRAGMA journal_mode = WAL");
                    st.step();
                    journal = st.column_text(0);
                    break;
                } catch (const StoreError& e) {
                    if (!e.busy() || waited_ms >= kBusyTimeoutMs) throw;
                    sqlite3_sleep(10);
                }
            }
            if (journal != "wal") {
                return Error{fmt::format("database '{}': cannot switch to WAL mode", path)};
            }
            db.exec("PRAGMA synchronous = NORMAL");
            int version = db.schema_version();
            if (version > current_schema_version()) {
                return Error{fmt::format("database '{}' has schema version {}, newer than this build's {}; "
                                         "upgrade pooldns",
                                         path, version, current_schema_version())};
            }
            if (version < current_schema_version() && mode != OpenMode::NoMigrate) {
                migrate(db, current_schema_version());
            }
        } else {
            int version = db.schema_version();
            if (version != current_schema_version()) {
                return Error{fmt::format("database '{}' has schema version {}, this build needs {}; "
                                         "open it once read-write to migrate",
                                         path, version, current_schema_version())};
            }
        }
    } catch (const StoreError& e) {
        if (e.busy()) {
            return Error{fmt::format("database '{}': the database is busy (another writer held it for 5 s); "
                                     "nothing was changed, try again",
                                     path)};
        }
        return Error{fmt::format("database '{}': {}", path, e.what())};
    }
    return db;
}

Database::~Database() {
    if (db_) sqlite3_close_v2(db_);
}

Database::Database(Database&& other) noexcept : db_(other.db_), path_(std::move(other.path_)) {
    other.db_ = nullptr;
}

Database& Database::operator=(Database&& other) noexcept {
    if (this != &other) {
        if (db_) sqlite3_close_v2(db_);
        db_ = other.db_;
        path_ = std::move(other.path_);
        other.db_ = nullptr;
    }
    return *this;
}

void Database::exec(std::string_view sql) const {
    std::string copy(sql);  // sqlite3_exec wants a terminated string
    char* err = nullptr;
    int rc = sqlite3_exec(db_, copy.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        std::string msg = err ? err : sqlite3_errstr(rc);
        sqlite3_free(err);
        throw StoreError(msg, rc);
    }
}

std::int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

int Database::schema_version() const {
    auto st = prepare("PRAGMA user_version");
    st.step();
    return static_cast<int>(st.column_int(0));
}

std::int64_t Database::data_version() const {
    auto st = prepare("PRAGMA data_version");
    st.step();
    return st.column_int(0);
}

bool Database::first_bump_in_transaction(std::int64_t zone_id) const {
    if (tx_depth_ == 0) return true;
    if (std::find(bumped_zones_.begin(), bumped_zones_.end(), zone_id) != bumped_zones_.end()) return false;
    bumped_zones_.push_back(zone_id);
    return true;
}

Transaction::Transaction(const Database& db) : db_(db), depth_(db.tx_depth_) {
    if (depth_ == 0) {
        db_.exec("BEGIN IMMEDIATE");
        db_.bumped_zones_.clear();
    } else {
        db_.exec(fmt::format("SAVEPOINT nested_{}", depth_));
    }
    bumped_mark_ = db_.bumped_zones_.size();
    ++db_.tx_depth_;
}

Transaction::~Transaction() {
    if (!done_) {
        --db_.tx_depth_;
        // The serial bumps inside are undone with the savepoint: the next edit must bump again.
        if (depth_ > 0) db_.bumped_zones_.resize(bumped_mark_);
        try {
            if (depth_ == 0) {
                db_.exec("ROLLBACK");
            } else {
                db_.exec(fmt::format("ROLLBACK TO nested_{0}; RELEASE nested_{0}", depth_));
            }
        } catch (const StoreError&) {
            // The transaction may already have been rolled back by SQLite itself.
        }
    }
}

void Transaction::commit() {
    db_.exec(depth_ == 0 ? std::string("COMMIT") : fmt::format("RELEASE nested_{}", depth_));
    done_ = true;
    --db_.tx_depth_;
}

}  // namespace pooldns
