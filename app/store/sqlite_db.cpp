#include "store/sqlite_db.h"

#include <sqlite3.h>

#include <utility>

namespace pagoda::store {

namespace {

ErrorCode code_for(int rc) {
    switch (rc & 0xff) {  // primary code; extended codes keep it in the low byte
        case SQLITE_NOTADB:
        case SQLITE_CORRUPT:
        case SQLITE_FORMAT:
            return ErrorCode::invalid_format;
        case SQLITE_CONSTRAINT:
        case SQLITE_MISMATCH:
        case SQLITE_RANGE:
        case SQLITE_TOOBIG:
            return ErrorCode::invalid_argument;
        case SQLITE_NOMEM:
            return ErrorCode::out_of_memory;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
        case SQLITE_IOERR:
        case SQLITE_CANTOPEN:
        case SQLITE_READONLY:
        case SQLITE_PERM:
        case SQLITE_FULL:
        case SQLITE_PROTOCOL:
            return ErrorCode::io_error;
        case SQLITE_NOTFOUND:
            return ErrorCode::not_found;
        default:
            return ErrorCode::internal;
    }
}

}  // namespace

Status sqlite_status(int rc, std::string_view what, std::string_view detail) {
    std::string message(what);
    message += ": ";
    message += detail.empty() ? std::string_view(sqlite3_errstr(rc)) : detail;
    return Status::error(code_for(rc), std::move(message));
}

// ---- Statement ----

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)), db_(other.db_), bind_rc_(other.bind_rc_) {}

Statement& Statement::operator=(Statement&& other) noexcept {
    if (this != &other) {
        sqlite3_finalize(stmt_);
        stmt_ = std::exchange(other.stmt_, nullptr);
        db_ = other.db_;
        bind_rc_ = other.bind_rc_;
    }
    return *this;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int index, int64_t value) {
    int rc = sqlite3_bind_int64(stmt_, index, value);
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
    return *this;
}

Statement& Statement::bind(int index, double value) {
    int rc = sqlite3_bind_double(stmt_, index, value);
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
    return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
    // SQLITE_TRANSIENT: SQLite copies the text, so the caller's buffer may go away.
    int rc = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
    return *this;
}

Statement& Statement::bind(int index, std::optional<int64_t> value) {
    return value ? bind(index, *value) : bind_null(index);
}

Statement& Statement::bind_null(int index) {
    int rc = sqlite3_bind_null(stmt_, index);
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
    return *this;
}

Result<bool> Statement::step() {
    if (bind_rc_ != SQLITE_OK) return sqlite_status(bind_rc_, "binding a parameter", sqlite3_errstr(bind_rc_));
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return sqlite_status(rc, "running SQL", sqlite3_errmsg(db_));
}

Status Statement::run() {
    while (true) {
        Result<bool> row = step();
        if (!row) return row.status();
        if (!*row) return Status::ok();
    }
}

void Statement::reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    bind_rc_ = SQLITE_OK;
}

int64_t Statement::column_int64(int col) const { return sqlite3_column_int64(stmt_, col); }

double Statement::column_double(int col) const { return sqlite3_column_double(stmt_, col); }

std::string Statement::column_text(int col) const {
    const unsigned char* text = sqlite3_column_text(stmt_, col);
    int size = sqlite3_column_bytes(stmt_, col);  // after column_text, as SQLite documents
    return text ? std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size)) : std::string();
}

std::optional<int64_t> Statement::column_optional_int64(int col) const {
    if (column_is_null(col)) return std::nullopt;
    return column_int64(col);
}

bool Statement::column_is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

// ---- SqliteDb ----

Result<SqliteDb> SqliteDb::open(const std::filesystem::path& path, int flags) {
    SqliteDb db;
    db.path_ = path;
    // Each connection is confined to one thread; no need for SQLite's own mutexes on it.
    int rc = sqlite3_open_v2(path.c_str(), &db.db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        std::string detail = db.db_ ? sqlite3_errmsg(db.db_) : sqlite3_errstr(rc);
        return sqlite_status(rc, "cannot open " + path.string(), detail);
    }
    sqlite3_extended_result_codes(db.db_, 1);
    return db;
}

SqliteDb::SqliteDb(SqliteDb&& other) noexcept : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

SqliteDb& SqliteDb::operator=(SqliteDb&& other) noexcept {
    if (this != &other) {
        close();
        db_ = std::exchange(other.db_, nullptr);
        path_ = std::move(other.path_);
    }
    return *this;
}

SqliteDb::~SqliteDb() { close(); }

void SqliteDb::close() {
    if (db_) {
        // close_v2 defers the close until outstanding statements are finalized instead of failing.
        sqlite3_close_v2(db_);
        db_ = nullptr;
    }
}

Status SqliteDb::exec(std::string_view sql) {
    std::string owned(sql);  // sqlite3_exec wants a NUL-terminated string
    char* err = nullptr;
    int rc = sqlite3_exec(db_, owned.c_str(), nullptr, nullptr, &err);
    if (rc == SQLITE_OK) return Status::ok();
    std::string detail = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    return sqlite_status(rc, path_.string(), detail);
}

Result<Statement> SqliteDb::prepare(std::string_view sql) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
    if (rc != SQLITE_OK) return sqlite_status(rc, path_.string() + ": preparing SQL", sqlite3_errmsg(db_));
    return Statement(stmt, db_);
}

Result<int64_t> SqliteDb::query_int64(std::string_view sql) {
    Result<Statement> stmt = prepare(sql);
    if (!stmt) return stmt.status();
    Result<bool> row = stmt->step();
    if (!row) return row.status();
    if (!*row) return not_found(path_.string() + ": no result for " + std::string(sql));
    return stmt->column_int64(0);
}

Result<std::string> SqliteDb::query_text(std::string_view sql) {
    Result<Statement> stmt = prepare(sql);
    if (!stmt) return stmt.status();
    Result<bool> row = stmt->step();
    if (!row) return row.status();
    if (!*row) return not_found(path_.string() + ": no result for " + std::string(sql));
    return stmt->column_text(0);
}

int64_t SqliteDb::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

int64_t SqliteDb::changes() const { return sqlite3_changes64(db_); }

Status SqliteDb::error(int rc, std::string_view what) const {
    return sqlite_status(rc, what, db_ ? sqlite3_errmsg(db_) : "");
}

// ---- Transaction ----

Status Transaction::begin() {
    nested_ = sqlite3_get_autocommit(db_.handle()) == 0;
    PAGODA_RETURN_IF_ERROR(db_.exec(nested_ ? "SAVEPOINT pagoda_nested" : "BEGIN IMMEDIATE"));
    active_ = true;
    return Status::ok();
}

Status Transaction::commit() {
    Status status = db_.exec(nested_ ? "RELEASE pagoda_nested" : "COMMIT");
    if (status.is_ok()) active_ = false;
    return status;
}

Transaction::~Transaction() {
    if (!active_) return;
    (void)db_.exec(nested_ ? "ROLLBACK TO pagoda_nested; RELEASE pagoda_nested" : "ROLLBACK");
}

}  // namespace pagoda::store
