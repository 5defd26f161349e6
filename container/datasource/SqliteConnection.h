#pragma once

#include "datasource/Connection.h"

#include <chrono>
#include <memory>

struct sqlite3;

namespace serval::datasource {

/// A connection to an embedded SQLite database file: WAL journal (readers never block the
/// writer, and other processes share the file: isolated workers), synchronous=FULL (a commit is
/// on disk before it returns), foreign_keys=ON, busy_timeout from the config. Opened in SQLite's
/// multi-thread mode (no per-call mutex): the pool guarantees one thread at a time.
class SqliteConnection final : public Connection
{
public:
    /// Opens (creating) config.url. Returns nullptr with `error` filled (ConnectionLost) when
    /// the file cannot be opened or set up.
    static std::unique_ptr<SqliteConnection> open(const DataSourceConfig& config, DataSourceStats* stats,
                                                  DbError& error);
    ~SqliteConnection() override;

    DbStatus begin() override;
    DbStatus commit() override;
    DbStatus rollback() override;
    bool inTransaction() const noexcept override;
    bool broken() const noexcept override { return false; }
    bool checkAlive() noexcept override { return true; }
    DbStatus setTimeouts(std::chrono::milliseconds statement, std::chrono::milliseconds lock) override;

    /// For SqliteStatement: records SQLite's current error for result code `rc`.
    DbStatus failFromSqlite(int rc, long offset = -1);
    /// For SqliteStatement, before each sqlite3_step: starts the statement timeout's clock.
    void armDeadline() noexcept;
    sqlite3* handle() noexcept { return _db; }

private:
    SqliteConnection(const DataSourceConfig& config, DataSourceStats* stats, sqlite3* db);

    std::unique_ptr<Statement> prepareNew(std::string_view sql) override;
    DbStatus execScript(std::string_view sql) override;
    std::chrono::milliseconds defaultLockTimeout() const noexcept override { return config().busyTimeout; }
    /// SQLite's progress handler: non-zero interrupts the running statement (statementTimeout).
    static int onProgress(void* self) noexcept;

    sqlite3* _db;
    std::chrono::milliseconds _statementTimeout{0};
    std::chrono::steady_clock::time_point _deadline;
};

} // namespace serval::datasource
