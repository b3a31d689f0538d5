// Finding, checking and opening the store's database file.
//
// User data is never destroyed: a file that is not a SQLite database, belongs to another
// program, fails PRAGMA quick_check, or carries a newer schema than this build knows is refused
// with a message naming the problem, and is not written to (no WAL switch, no migration, no
// recreation). The checks run on a read-only connection before any read-write one exists.
#pragma once

#include <chrono>
#include <filesystem>

#include "pagoda/status.h"
#include "store/sqlite_db.h"

namespace pagoda::store {

struct DatabaseOptions {
    // Empty: default_database_path().
    std::filesystem::path path;
    // How long a statement waits for another process's lock before failing with io_error.
    std::chrono::milliseconds busy_timeout{5000};
    // PRAGMA quick_check on open. O(database size), milliseconds for a typical chat history.
    bool verify_integrity = true;
};

// $XDG_DATA_HOME/pagoda/pagoda.db, or ~/.local/share/pagoda/pagoda.db when XDG_DATA_HOME is
// unset or not absolute (as the XDG base directory spec asks).
Result<std::filesystem::path> default_database_path();

// Read-only checks of an existing, non-empty file (see the header comment). Ok for a file that
// does not exist or is empty (SQLite treats both as a new database).
Status check_existing_database(const std::filesystem::path& path, bool verify_integrity);

// Checks, then opens read-write (creating the file and its directory when absent), sets WAL,
// foreign keys, synchronous=NORMAL and the busy timeout, and migrates to the latest schema.
Result<SqliteDb> open_store_database(const DatabaseOptions& options);

}  // namespace pagoda::store
