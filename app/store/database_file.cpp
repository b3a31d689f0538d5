#include "store/database_file.h"

#include <pwd.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "store/schema.h"

namespace pagoda::store {

namespace fs = std::filesystem;

namespace {

constexpr char kSqliteMagic[16] = {'S', 'Q', 'L', 'i', 't', 'e', ' ', 'f', 'o', 'r', 'm', 'a', 't', ' ', '3', '\0'};

std::string untouched_note() { return "; Pagoda did not modify it. Move it aside or choose another database path"; }

fs::path home_directory() {
    const char* home = std::getenv("HOME");
    if (home && home[0] == '/') return home;
    // No usable $HOME (a service account, a stripped environment): ask the password database.
    std::vector<char> buffer(16384);
    passwd pw{};
    passwd* found = nullptr;
    if (getpwuid_r(getuid(), &pw, buffer.data(), buffer.size(), &found) == 0 && found && found->pw_dir &&
        found->pw_dir[0] == '/') {
        return found->pw_dir;
    }
    return {};
}

// Wraps a read failure of an existing file so the message says the file was left alone.
Status refuse(const fs::path& path, const Status& cause) {
    return Status::error(cause.code(), path.string() + " cannot be read as a Pagoda database (" + cause.message() +
                                           ")" + untouched_note());
}

}  // namespace

Result<fs::path> default_database_path() {
    const char* xdg = std::getenv("XDG_DATA_HOME");
    fs::path base;
    if (xdg && xdg[0] == '/') {
        base = xdg;
    } else {
        fs::path home = home_directory();
        if (home.empty()) return not_found("no home directory: set XDG_DATA_HOME or HOME, or give a database path");
        base = home / ".local" / "share";
    }
    return base / "pagoda" / "pagoda.db";
}

namespace {

enum class FileState { absent_or_empty, sqlite };

// File-level checks that need no SQLite connection.
Result<FileState> check_file(const fs::path& path) {
    std::error_code ec;
    fs::file_status st = fs::status(path, ec);
    if (ec && ec != std::errc::no_such_file_or_directory) {
        return io_error("cannot inspect " + path.string() + ": " + ec.message());
    }
    if (!fs::exists(st)) return FileState::absent_or_empty;
    if (!fs::is_regular_file(st)) return invalid_argument(path.string() + " is not a regular file");
    uintmax_t size = fs::file_size(path, ec);
    if (ec) return io_error("cannot inspect " + path.string() + ": " + ec.message());
    if (size == 0) return FileState::absent_or_empty;

    char header[100] = {};
    std::ifstream in(path, std::ios::binary);
    if (!in) return io_error("cannot read " + path.string());
    in.read(header, sizeof(header));
    if (in.gcount() < static_cast<std::streamsize>(sizeof(header)) ||
        std::memcmp(header, kSqliteMagic, sizeof(kSqliteMagic)) != 0) {
        return invalid_format(path.string() + " is not a SQLite database (no SQLite header)" + untouched_note());
    }
    return FileState::sqlite;
}

bool side_file_exists(const fs::path& path, const char* suffix) {
    std::error_code ec;
    return fs::exists(fs::path(path.string() + suffix), ec);
}

// "file:" URI for sqlite3_open_v2(SQLITE_OPEN_URI): every byte outside [A-Za-z0-9/._~-] escaped.
std::string file_uri(const fs::path& path, const char* query) {
    static const char* hex = "0123456789ABCDEF";
    std::string uri = "file:";
    std::error_code ec;
    fs::path absolute = fs::absolute(path, ec);
    for (unsigned char c : (ec ? path : absolute).string()) {
        if (std::isalnum(c) || c == '/' || c == '.' || c == '_' || c == '~' || c == '-') {
            uri += static_cast<char>(c);
        } else {
            uri += '%';
            uri += hex[c >> 4];
            uri += hex[c & 15];
        }
    }
    return uri + query;
}

// Schema version, owner and integrity of an open database, before anything is written to it.
Status check_contents(SqliteDb& db, const fs::path& path, bool verify_integrity) {
    Result<int> version = schema_version(db);
    if (!version) return refuse(path, version.status());
    const int latest = latest_schema_version();
    if (*version > latest) {
        return unsupported(path.string() + " was written by a newer version of Pagoda (schema version " +
                           std::to_string(*version) + "; this version understands up to " + std::to_string(latest) +
                           "). Update Pagoda to open it" + untouched_note());
    }

    Result<int64_t> app_id = db.query_int64("PRAGMA application_id");
    if (!app_id) return refuse(path, app_id.status());
    if (*app_id != kApplicationId) {
        Result<int64_t> tables =
            db.query_int64("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
        if (!tables) return refuse(path, tables.status());
        if (*app_id != 0 || *version != 0 || *tables != 0) {
            return invalid_format(path.string() + " is a SQLite database of another program, not a Pagoda store" +
                                  untouched_note());
        }
    }

    if (verify_integrity) {
        Result<Statement> check = db.prepare("PRAGMA quick_check(5)");
        if (!check) return refuse(path, check.status());
        std::string problems;
        while (true) {
            Result<bool> row = check->step();
            if (!row) return refuse(path, row.status());
            if (!*row) break;
            // One row may hold several lines, under a "*** in database main ***" banner.
            std::string text = check->column_text(0);
            size_t start = 0;
            while (start <= text.size()) {
                size_t end = text.find('\n', start);
                if (end == std::string::npos) end = text.size();
                std::string line = text.substr(start, end - start);
                start = end + 1;
                if (line.empty() || line == "ok" || line.rfind("***", 0) == 0) continue;
                if (!problems.empty()) problems += "; ";
                problems += line;
            }
        }
        if (!problems.empty()) {
            return invalid_format(path.string() + " is damaged (integrity check: " + problems + ")" + untouched_note() +
                                  ", and keep a copy: the sqlite3 tool's .recover command may save its contents");
        }
    }
    return Status::ok();
}

}  // namespace

Status check_existing_database(const fs::path& path, bool verify_integrity) {
    Result<FileState> state = check_file(path);
    if (!state) return state.status();
    if (*state == FileState::absent_or_empty) return Status::ok();

    // Read-only, so nothing here can write to the file, checkpoint a WAL into it or roll a
    // journal back. Without a -wal file the main file holds everything, and immutable=1 also
    // keeps SQLite from creating -wal/-shm files beside it (they would outlive a refusal).
    const bool has_wal = side_file_exists(path, "-wal");
    Result<SqliteDb> opened =
        has_wal ? SqliteDb::open(path, SQLITE_OPEN_READONLY)
                : SqliteDb::open(file_uri(path, "?immutable=1"), SQLITE_OPEN_READONLY | SQLITE_OPEN_URI);
    if (!opened) return refuse(path, opened.status());
    return check_contents(*opened, path, verify_integrity);
}

Result<SqliteDb> open_store_database(const DatabaseOptions& options) {
    fs::path path = options.path;
    if (path.empty()) {
        Result<fs::path> fallback = default_database_path();
        if (!fallback) return fallback.status();
        path = *fallback;
    }
    if (path.has_parent_path()) {
        std::error_code ec;
        fs::create_directories(path.parent_path(), ec);
        if (ec) return io_error("cannot create " + path.parent_path().string() + ": " + ec.message());
    }

    Result<FileState> state = check_file(path);
    if (!state) return state.status();
    // A rollback journal left by a crash (a store that could not use WAL) can only be rolled
    // back by a read-write connection; that is SQLite's own recovery, so the checks run there,
    // still before this code writes anything.
    const bool hot_journal = *state == FileState::sqlite && side_file_exists(path, "-journal");
    if (*state == FileState::sqlite && !hot_journal) {
        PAGODA_RETURN_IF_ERROR(check_existing_database(path, options.verify_integrity));
    }

    Result<SqliteDb> opened = SqliteDb::open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (!opened) return opened.status();
    SqliteDb db = std::move(*opened);
    sqlite3_busy_timeout(db.handle(), static_cast<int>(options.busy_timeout.count()));
    if (hot_journal) PAGODA_RETURN_IF_ERROR(check_contents(db, path, options.verify_integrity));

    // The checks above ran on another connection: look again before the first write, in case a
    // newer Pagoda upgraded the file in between.
    Result<int> version = schema_version(db);
    if (!version) return refuse(path, version.status());
    if (*version > latest_schema_version()) {
        return unsupported(path.string() + " was written by a newer version of Pagoda (schema version " +
                           std::to_string(*version) + ")" + untouched_note());
    }

    PAGODA_RETURN_IF_ERROR(db.exec("PRAGMA foreign_keys = ON"));
    // WAL: readers never block the writer, and a commit is one append to the -wal file, cheap
    // enough to flush streaming text every 250 ms. With synchronous=NORMAL a commit survives a
    // crash of the process (it is in the OS page cache); only power loss can drop the last ones.
    Result<std::string> mode = db.query_text("PRAGMA journal_mode = WAL");
    if (!mode) return mode.status();
    PAGODA_RETURN_IF_ERROR(db.exec("PRAGMA synchronous = NORMAL"));
    PAGODA_RETURN_IF_ERROR(migrate(db));
    return db;
}

}  // namespace pagoda::store
