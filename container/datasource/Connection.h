#pragma once

#include "datasource/DataSourceConfig.h"
#include "datasource/DataSourceStats.h"
#include "datasource/DbError.h"
#include "datasource/Statement.h"

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace serval::datasource {

/// One open database connection, engine-specific below this interface (SqliteConnection,
/// PostgresConnection). Owned by its DataSource's pool and lent out through a PooledConnection;
/// used by one thread at a time (whoever holds the lease), never concurrently.
///
/// Calls report a DbStatus and keep the details in lastError() until the next failing call.
/// Prepared statements are cached per connection by their SQL text: preparing the same text
/// again reuses the server's (or SQLite's) plan.
class Connection
{
public:
    /// Statements kept prepared per connection; beyond this a finished statement is closed.
    static constexpr size_t kMaxCachedStatements = 256;

    virtual ~Connection() = default;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    DataSourceType type() const noexcept { return _type; }

    /// A statement for `sql` (one statement, `?` placeholders), from the cache or newly
    /// prepared; nullptr on failure (lastError()). The caller hands it back with finish(); until
    /// then it is the caller's alone (preparing the same text again meanwhile gives a second one).
    Statement* prepare(std::string_view sql);
    /// Ends the statement's execution, clears its bindings and returns it to the cache.
    void finish(Statement* statement) noexcept;
    /// Finishes every statement still handed out (the pool does this when a lease ends).
    void finishAll() noexcept;

    /// Runs one or more statements without parameters, one after another, discarding rows. On
    /// failure lastError().offset is the byte offset in `sql` the error points at (the start of
    /// the failing statement, or the database's own position within it).
    DbStatus exec(std::string_view sql);

    /// SQLite: BEGIN IMMEDIATE (the write lock is taken at begin, so a transaction never fails
    /// half-way with a busy snapshot). PostgreSQL: BEGIN (read committed).
    virtual DbStatus begin() = 0;
    /// Fails (and the transaction is gone) if the database rolled it back instead.
    virtual DbStatus commit() = 0;
    virtual DbStatus rollback() = 0;
    virtual bool inTransaction() const noexcept = 0;

    /// True once the connection cannot be used again (the server went away): the pool closes it
    /// instead of keeping it.
    virtual bool broken() const noexcept = 0;
    /// Called by the pool before lending an idle connection out: a cheap check, without a round
    /// trip, that the server has not closed it meanwhile (a restart). False: close it.
    virtual bool checkAlive() noexcept = 0;

    /// Overrides the configured statement timeout and lock wait (SQLite busy_timeout,
    /// PostgreSQL lock_timeout) on this connection; 0 = none. The migration runner does this
    /// (a migration may run long); resetTimeouts() restores the configured ones.
    virtual DbStatus setTimeouts(std::chrono::milliseconds statement, std::chrono::milliseconds lock) = 0;
    DbStatus resetTimeouts() { return setTimeouts(_config.statementTimeout, defaultLockTimeout()); }

    const DbError& lastError() const noexcept { return _lastError; }
    size_t cachedStatements() const noexcept { return _statementCount; }
    const DataSourceConfig& config() const noexcept { return _config; }

protected:
    Connection(DataSourceType type, const DataSourceConfig& config, DataSourceStats* stats);

    virtual std::unique_ptr<Statement> prepareNew(std::string_view sql) = 0;
    virtual DbStatus execScript(std::string_view sql) = 0;
    virtual std::chrono::milliseconds defaultLockTimeout() const noexcept = 0;

    /// Records a failure (counted in the stats) and returns `status`.
    DbStatus fail(DbStatus status, std::string message, std::string_view sqlState, long offset = -1);
    /// Closes every cached statement; engine destructors call it while their handle is open.
    void dropStatements() noexcept;
    DataSourceStats* stats() noexcept { return _stats; }

private:
    friend class Statement;

    DataSourceType _type;
    DataSourceConfig _config;
    DataSourceStats* _stats; ///< the owning DataSource's; null for a connection outside a pool
    DbError _lastError;
    std::unordered_map<std::string, std::vector<std::unique_ptr<Statement>>> _statements;
    size_t _statementCount = 0;
};

} // namespace serval::datasource
