// The SQLite store: one RAII connection, one RAII prepared statement, one
// transaction helper. Every module that touches the file goes through these.
//
// SQLite failures surface as StoreError exceptions from this layer; the edit
// operations in zones/ catch them at the transaction boundary and turn them into
// Error values with a message that names the operation (see zone_store.cpp).
#pragma once

#include "pooldns/result.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace pooldns {

class StoreError : public std::runtime_error {
public:
    StoreError(const std::string& what, int code) : std::runtime_error(what), code_(code) {}
    int code() const { return code_; }
    // SQLITE_BUSY / SQLITE_LOCKED after the busy timeout: another writer held the file.
    bool busy() const;

private:
    int code_;
};

class Statement {
public:
    Statement(sqlite3* db, std::string_view sql);
    ~Statement();
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&&) = delete;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    // Parameters are 1-based, as in SQLite.
    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, double value);
    Statement& bind(int index, std::string_view text);
    Statement& bind(int index, std::span<const std::uint8_t> blob);
    Statement& bind(int index, std::nullopt_t);
    Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
    Statement& bind(int index, const std::string& text) { return bind(index, std::string_view(text)); }
    Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
    Statement& bind(int index, unsigned value) { return bind(index, static_cast<std::int64_t>(value)); }

    template <typename... Args>
    Statement& bind_all(const Args&... args) {
        int i = 1;
        (bind(i++, args), ...);
        return *this;
    }

    // Advances one row; false when done. Throws StoreError on failure.
    bool step();
    // Runs a statement that returns no rows.
    void run();
    // Clears bindings and rewinds for reuse.
    void reset();

    std::int64_t column_int(int col) const;
    std::string column_text(int col) const;
    std::vector<std::uint8_t> column_blob(int col) const;
    // Views into SQLite's row buffer, valid until the next step()/reset(): for
    // bulk readers that must not allocate per row.
    std::string_view column_text_view(int col) const;
    std::span<const std::uint8_t> column_blob_view(int col) const;
    bool column_is_null(int col) const;

private:
    sqlite3* db_;
    sqlite3_stmt* stmt_;
};

enum class OpenMode {
    ReadWrite,        // create the file if missing, migrate to the current schema
    ReadWriteExisting,  // the file must exist; migrate
    ReadOnly,         // the file must exist and be at the current schema
    NoMigrate,        // create if missing, apply no migration (tests build older versions with migrate())
};

class Database {
public:
    // Opens `path`, sets WAL, foreign keys and the busy timeout, and (for the
    // writable modes) applies forward migrations. Errors name the path.
    static Result<Database> open(const std::string& path, OpenMode mode);

    ~Database();
    Database(Database&& other) noexcept;
    Database& operator=(Database&& other) noexcept;
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    sqlite3* handle() const { return db_; }
    const std::string& path() const { return path_; }
    Statement prepare(std::string_view sql) const { return Statement(db_, sql); }
    void exec(std::string_view sql) const;
    std::int64_t last_insert_rowid() const;
    int schema_version() const;
    // Changes whenever another connection commits to the file.
    std::int64_t data_version() const;

    // Within a transaction: notes that the zone's serial was moved; true the
    // first time for that zone. Nested edits (a topology laid out by many store
    // operations) so move each serial once, however many edits touch the zone.
    bool first_bump_in_transaction(std::int64_t zone_id) const;

private:
    friend class Transaction;
    friend class RulesGuard;
    Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
    sqlite3* db_ = nullptr;
    std::string path_;
    mutable int tx_depth_ = 0;
    mutable std::vector<std::int64_t> bumped_zones_;
    mutable int rules_guards_ = 0;  // RulesGuards alive on this connection (see topology.hpp)
};

// BEGIN IMMEDIATE in the constructor (takes the write lock up front, so two
// writers queue on the busy timeout instead of deadlocking on an upgrade);
// ROLLBACK in the destructor unless commit() ran. Inside another Transaction on
// the same connection it is a SAVEPOINT: commit() releases it, the destructor
// rolls back to it, and only the outermost COMMIT makes anything durable.
class Transaction {
public:
    explicit Transaction(const Database& db);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();
    // True for the transaction that will COMMIT (not a savepoint inside one).
    bool outermost() const { return depth_ == 0; }

private:
    const Database& db_;
    int depth_ = 0;
    std::size_t bumped_mark_ = 0;  // a savepoint rolled back forgets the bumps made inside it
    bool done_ = false;
};

// The schema: version N means migrations 1..N have run.
int current_schema_version();
// Applies migrations (from, to] inside one transaction. Exposed so tests can
// build a file at every older version and migrate it forward.
void migrate(const Database& db, int to_version);

}  // namespace pooldns
