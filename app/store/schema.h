// The store's schema as an ordered list of migrations, tracked by PRAGMA user_version.
//
// Every version's DDL stays here forever: a database at version k is brought to the latest by
// applying steps k+1..latest, each in its own transaction, and tests build a database at any
// earlier version by applying only the first k steps.
#pragma once

#include <cstdint>
#include <span>

#include "pagoda/status.h"

namespace pagoda::store {

class SqliteDb;

// PRAGMA application_id of a Pagoda store ("PGDA"), so a different program's SQLite file is
// recognised and refused instead of being "migrated".
inline constexpr int32_t kApplicationId = 0x50474441;

struct Migration {
    int version;              // user_version after this step
    const char* description;  // for logs and error messages
    const char* sql;          // DDL and data changes, run inside the step's transaction
};

std::span<const Migration> migrations();
int latest_schema_version();

// Reads PRAGMA user_version.
Result<int> schema_version(SqliteDb& db);

// Applies every step above the current version up to `target` (default: the latest). Each step
// is one transaction that also sets user_version, so a crash leaves the database at a whole
// version. Refuses (unsupported) a database newer than this build knows.
Status migrate(SqliteDb& db, int target = -1);

}  // namespace pagoda::store
