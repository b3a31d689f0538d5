// A thin RAII layer over the sqlite3 C API that reports failures as pagoda::Status.
// One SqliteDb is used by one thread at a time (the store's worker thread).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pagoda/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace pagoda::store {

// Maps an SQLite result code to the nearest pagoda::ErrorCode and builds a message
// "<what>: <sqlite message>".
Status sqlite_status(int rc, std::string_view what, std::string_view detail);

class Statement {
public:
    Statement() = default;
    Statement(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&& other) noexcept;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    ~Statement();

    // Parameters are 1-based, as in SQL (?1, ?2, ...).
    Statement& bind(int index, int64_t value);
    Statement& bind(int index, double value);
    Statement& bind(int index, std::string_view text);
    Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
    Statement& bind(int index, std::optional<int64_t> value);
    Statement& bind_null(int index);

    // Runs one step: true when a row is available, false when done.
    Result<bool> step();
    // Runs to completion, ignoring any rows.
    Status run();
    void reset();

    int64_t column_int64(int col) const;
    double column_double(int col) const;
    std::string column_text(int col) const;
    std::optional<int64_t> column_optional_int64(int col) const;
    bool column_is_null(int col) const;

private:
    sqlite3_stmt* stmt_ = nullptr;
    sqlite3* db_ = nullptr;
    int bind_rc_ = 0;  // first bind failure, reported by step()
};

class SqliteDb {
public:
    // flags: SQLITE_OPEN_* (READONLY, or READWRITE | CREATE). Never creates a file for READONLY.
    static Result<SqliteDb> open(const std::filesystem::path& path, int flags);

    SqliteDb() = default;
    SqliteDb(SqliteDb&& other) noexcept;
    SqliteDb& operator=(SqliteDb&& other) noexcept;
    SqliteDb(const SqliteDb&) = delete;
    SqliteDb& operator=(const SqliteDb&) = delete;
    ~SqliteDb();

    bool is_open() const { return db_ != nullptr; }
    sqlite3* handle() const { return db_; }
    const std::filesystem::path& path() const { return path_; }

    // Runs one or more ';'-separated statements without parameters.
    Status exec(std::string_view sql);
    Result<Statement> prepare(std::string_view sql);
    // The first column of the first row as an integer / text (for PRAGMAs).
    Result<int64_t> query_int64(std::string_view sql);
    Result<std::string> query_text(std::string_view sql);

    int64_t last_insert_rowid() const;
    int64_t changes() const;
    Status error(int rc, std::string_view what) const;
    void close();

private:
    sqlite3* db_ = nullptr;
    std::filesystem::path path_;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back on destruction unless committed. IMMEDIATE takes the
// write lock up front, so a second process gets SQLITE_BUSY (and waits the busy timeout) at BEGIN
// rather than failing half-way through. Inside an open transaction (a job that groups several
// operations) it nests as a SAVEPOINT instead.
class Transaction {
public:
    explicit Transaction(SqliteDb& db) : db_(db) {}
    ~Transaction();
    Status begin();
    Status commit();

private:
    SqliteDb& db_;
    bool active_ = false;
    bool nested_ = false;
};

// Runs a prepared query and turns every row into a T with read(row).
template <typename T, typename Reader>
Result<std::vector<T>> collect_rows(Result<Statement> stmt, Reader read) {
    if (!stmt) return stmt.status();
    std::vector<T> out;
    while (true) {
        Result<bool> row = stmt->step();
        if (!row) return row.status();
        if (!*row) return out;
        out.push_back(read(*stmt));
    }
}

}  // namespace pagoda::store
