#pragma once

#include <sqlite3.h>
#include <string>

namespace serval::test {

/// The first column of the first row of `sql` on its own connection to `path`, as text ("" when
/// there is none): lets a test look at a database file the way an operator's sqlite3 would
/// (PRAGMA journal_mode, integrity_check, user_version). Header-only: the test links SQLite.
inline std::string sqliteQuery(const std::string& path, const std::string& sql)
{
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr);
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != nullptr)
        out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

/// Another process's writer on `path`, as an operator's `sqlite3` in `BEGIN IMMEDIATE` would be:
/// holds the file's write lock (in WAL mode readers go on) from construction until release() or
/// destruction. held() is false when the lock could not be taken within 10 s.
class SqliteWriteLock
{
public:
    explicit SqliteWriteLock(const std::string& path)
    {
        sqlite3_open(path.c_str(), &_db);
        sqlite3_busy_timeout(_db, 10000);
        _held = sqlite3_exec(_db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
    }
    ~SqliteWriteLock()
    {
        release();
        sqlite3_close(_db);
    }
    SqliteWriteLock(const SqliteWriteLock&) = delete;
    SqliteWriteLock& operator=(const SqliteWriteLock&) = delete;

    bool held() const { return _held; }
    void release()
    {
        if (_held) sqlite3_exec(_db, "ROLLBACK", nullptr, nullptr, nullptr);
        _held = false;
    }

private:
    sqlite3* _db = nullptr;
    bool _held = false;
};

} // namespace serval::test
