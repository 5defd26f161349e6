#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace serval::registry {

/// A failed SQLite call: the message names the statement's purpose and SQLite's reason.
class DatabaseError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

class Database;

/// One prepared statement; finalized on destruction. Move-only. Used by one thread at a time
/// (the Registry serialises access).
class Statement
{
public:
    Statement(Database& db, std::string_view sql);
    ~Statement();
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&&) = delete;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    /// Parameters are 1-based, as in SQLite.
    Statement& bind(int index, int64_t value);
    Statement& bind(int index, std::string_view value);
    /// Binds bytes as a BLOB (values that need not be UTF-8 text).
    Statement& bindBlob(int index, std::string_view value);
    Statement& bindNull(int index);

    /// Steps once: true if a row is available, false when done. Throws DatabaseError.
    bool step();
    /// Steps to completion (for statements that return no rows).
    void run();
    void reset();

    int64_t int64At(int column) const;
    std::string textAt(int column) const;
    /// The column's bytes (BLOB or TEXT) without any conversion.
    std::string blobAt(int column) const;
    bool isNullAt(int column) const;

private:
    Database& _db;
    sqlite3_stmt* _stmt = nullptr;
};

/// Owns one sqlite3 connection (RAII: closed on destruction). Move-only, not thread-safe.
class Database
{
public:
    /// Opens (creating) the database file. Throws DatabaseError with the path and reason.
    /// `what` names the database in every message ("registry", "session store").
    explicit Database(const std::string& path, std::string_view what = "registry");
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    /// Runs one or more statements that return no rows.
    void exec(std::string_view sql);
    /// The first column of the first row of `sql` as an integer (PRAGMA user_version etc.).
    int64_t queryInt(std::string_view sql);

    /// Rows changed by the last INSERT/UPDATE/DELETE.
    int changes() const noexcept;
    sqlite3* handle() noexcept { return _db; }
    const std::string& path() const noexcept { return _path; }
    [[noreturn]] void fail(std::string_view what);

private:
    sqlite3* _db = nullptr;
    std::string _path;
    std::string _what;
};

/// BEGIN IMMEDIATE ... COMMIT; rolls back on destruction unless commit() ran.
class Transaction
{
public:
    explicit Transaction(Database& db);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();

private:
    Database& _db;
    bool _done = false;
};

} // namespace serval::registry
