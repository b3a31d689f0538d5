// Shared helpers for the store tests: a scratch directory, raw file bytes, raw SQL on a file.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "store/store.h"

namespace pagoda::store::test {

// A fresh directory under $TMPDIR, removed with everything in it at scope exit.
class TempDir {
public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "pagoda-store-XXXXXX").string();
        std::vector<char> buffer(pattern.begin(), pattern.end());
        buffer.push_back('\0');
        if (mkdtemp(buffer.data())) path_ = buffer.data();
    }
    ~TempDir() {
        std::error_code ec;
        if (!path_.empty()) std::filesystem::remove_all(path_, ec);
    }
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

inline std::string read_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Names of the files in a directory, sorted: a refused open must not leave -wal/-shm files.
inline std::vector<std::string> list_dir(const std::filesystem::path& dir) {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename());
    std::sort(names.begin(), names.end());
    return names;
}

// A raw sqlite3 connection for building fixtures and peeking behind the store's back.
class RawDb {
public:
    explicit RawDb(const std::filesystem::path& path) {
        if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) ADD_FAILURE() << "sqlite3_open " << path;
        sqlite3_busy_timeout(db_, 5000);
    }
    ~RawDb() { sqlite3_close(db_); }
    RawDb(const RawDb&) = delete;
    RawDb& operator=(const RawDb&) = delete;

    void exec(const std::string& sql) {
        char* err = nullptr;
        if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
            ADD_FAILURE() << "SQL failed: " << (err ? err : "?") << "\n" << sql;
        }
        sqlite3_free(err);
    }
    // First column of each row, as text ("" for NULL).
    std::vector<std::string> column(const std::string& sql) {
        std::vector<std::string> out;
        sqlite3_stmt* stmt = nullptr;
        if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
            ADD_FAILURE() << "prepare failed: " << sqlite3_errmsg(db_) << "\n" << sql;
            return out;
        }
        while (sqlite3_step(stmt) == SQLITE_ROW) {
            const unsigned char* text = sqlite3_column_text(stmt, 0);
            out.emplace_back(text ? reinterpret_cast<const char*>(text) : "");
        }
        sqlite3_finalize(stmt);
        return out;
    }
    std::string scalar(const std::string& sql) {
        std::vector<std::string> rows = column(sql);
        return rows.empty() ? std::string("<no row>") : rows.front();
    }

private:
    sqlite3* db_ = nullptr;
};

// Opens a store on `path`, failing the test with the Status message when it cannot.
inline std::unique_ptr<Store> open_store(const std::filesystem::path& path, StoreOptions options = {}) {
    options.path = path;
    Result<std::unique_ptr<Store>> store = Store::open(options);
    if (!store) {
        ADD_FAILURE() << "Store::open: " << store.status().to_string();
        return nullptr;
    }
    return std::move(*store);
}

// .get() of a future Result<T>, failing the test with its message when it is an error.
template <typename T>
T get_ok(std::future<Result<T>> future) {
    Result<T> result = future.get();
    if (!result) {
        ADD_FAILURE() << result.status().to_string();
        return T{};
    }
    return std::move(result).value();
}

inline void expect_ok(std::future<Status> future) {
    Status status = future.get();
    EXPECT_TRUE(status.is_ok()) << status.to_string();
}

}  // namespace pagoda::store::test
