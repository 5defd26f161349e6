#include "datasource/SqliteConnection.h"

#include "datasource/SqlState.h"
#include "datasource/SqlText.h"
#include "datasource/SqliteStatement.h"

#include <climits>
#include <sqlite3.h>

namespace serval::datasource {

namespace {

int clampedMillis(std::chrono::milliseconds timeout) noexcept
{
    if (timeout.count() <= 0) return INT_MAX; // 0 means no limit
    return timeout.count() > INT_MAX ? INT_MAX : static_cast<int>(timeout.count());
}

/// sqlite3_error_offset (SQLite 3.38): where in the text the last error points, or -1.
long errorOffset(sqlite3* db) noexcept
{
#if SQLITE_VERSION_NUMBER >= 3038000
    return sqlite3_error_offset(db);
#else
    (void)db;
    return -1;
#endif
}

int journalModeRow(void* out, int columns, char** values, char**)
{
    if (columns > 0 && values[0] != nullptr) *static_cast<std::string*>(out) = values[0];
    return 0;
}

} // namespace

std::unique_ptr<SqliteConnection> SqliteConnection::open(const DataSourceConfig& config,
                                                         DataSourceStats* stats, DbError& error)
{
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(config.url.c_str(), &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    auto refuse = [&](const std::string& what) {
        std::string why = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
        error.status = DbStatus::ConnectionLost;
        error.message = "data source \"" + config.name + "\": cannot " + what + " " + config.url + ": " + why;
        error.sqlState = std::string(sqliteSqlState(rc, why));
        error.offset = -1;
        sqlite3_close_v2(db);
        return nullptr;
    };
    if (rc != SQLITE_OK) return refuse("open the SQLite database");
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, clampedMillis(config.busyTimeout));
    // Switching a new file to WAL needs the exclusive lock, and SQLite does not call the busy
    // handler for it: when several connections (or processes) open a fresh database at once,
    // the losers get SQLITE_BUSY at once. Retry them within busyTimeout.
    std::string mode;
    auto giveUp = std::chrono::steady_clock::now() + config.busyTimeout;
    while ((rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", journalModeRow, &mode, nullptr)) ==
               SQLITE_BUSY &&
           std::chrono::steady_clock::now() < giveUp) {
        sqlite3_sleep(2);
    }
    if (rc != SQLITE_OK) return refuse("switch to WAL");
    if (mode != "wal" && mode != "memory") {
        rc = SQLITE_CANTOPEN;
        return refuse("switch to WAL (the file system refused; journal mode is " + mode + ")");
    }
    rc = sqlite3_exec(db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return refuse("configure");
    std::unique_ptr<SqliteConnection> connection(new SqliteConnection(config, stats, db));
    connection->setTimeouts(config.statementTimeout, config.busyTimeout);
    return connection;
}

SqliteConnection::SqliteConnection(const DataSourceConfig& config, DataSourceStats* stats, sqlite3* db)
    : Connection(DataSourceType::Sqlite, config, stats), _db(db)
{}

SqliteConnection::~SqliteConnection()
{
    dropStatements();
    sqlite3_close_v2(_db);
}

DbStatus SqliteConnection::failFromSqlite(int rc, long offset)
{
    std::string message = sqlite3_errmsg(_db);
    std::string_view sqlState = sqliteSqlState(rc, message);
    if ((rc & 0xff) == SQLITE_INTERRUPT) {
        return fail(DbStatus::Timeout,
                    "statement cancelled: it ran past statementTimeout (" +
                        std::to_string(_statementTimeout.count()) + " ms)",
                    sqlState, offset);
    }
    return fail(DbStatus::Error, std::move(message), sqlState, offset);
}

void SqliteConnection::armDeadline() noexcept
{
    if (_statementTimeout.count() > 0) _deadline = std::chrono::steady_clock::now() + _statementTimeout;
}

int SqliteConnection::onProgress(void* self) noexcept
{
    auto* connection = static_cast<SqliteConnection*>(self);
    return std::chrono::steady_clock::now() > connection->_deadline ? 1 : 0;
}

DbStatus SqliteConnection::setTimeouts(std::chrono::milliseconds statement, std::chrono::milliseconds lock)
{
    _statementTimeout = statement;
    // Every 1000 virtual machine instructions: a clock read per few microseconds of work.
    if (statement.count() > 0) {
        sqlite3_progress_handler(_db, 1000, &SqliteConnection::onProgress, this);
    } else {
        sqlite3_progress_handler(_db, 0, nullptr, nullptr);
    }
    sqlite3_busy_timeout(_db, clampedMillis(lock));
    return DbStatus::Ok;
}

std::unique_ptr<Statement> SqliteConnection::prepareNew(std::string_view sql)
{
    sqlite3_stmt* statement = nullptr;
    const char* tail = nullptr;
    armDeadline();
    int rc = sqlite3_prepare_v3(_db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                &statement, &tail);
    if (rc != SQLITE_OK) {
        failFromSqlite(rc, errorOffset(_db));
        return nullptr;
    }
    size_t rest = static_cast<size_t>(tail - sql.data());
    if (statement == nullptr || skipSpaceAndComments(sql, rest) < sql.size()) {
        sqlite3_finalize(statement);
        fail(DbStatus::Misuse,
             statement == nullptr ? "the SQL text holds no statement"
                                  : "prepare takes exactly one statement; run scripts with exec",
             "42601", statement == nullptr ? -1 : static_cast<long>(rest));
        return nullptr;
    }
    return std::make_unique<SqliteStatement>(*this, std::string(sql), statement);
}

DbStatus SqliteConnection::execScript(std::string_view sql)
{
    size_t pos = 0;
    while (true) {
        pos = skipSpaceAndComments(sql, pos);
        if (pos >= sql.size()) return DbStatus::Ok;
        sqlite3_stmt* statement = nullptr;
        const char* tail = nullptr;
        armDeadline();
        int rc =
            sqlite3_prepare_v2(_db, sql.data() + pos, static_cast<int>(sql.size() - pos), &statement, &tail);
        if (rc != SQLITE_OK) {
            long within = errorOffset(_db);
            return failFromSqlite(rc, static_cast<long>(pos) + (within >= 0 ? within : 0));
        }
        size_t next = static_cast<size_t>(tail - sql.data());
        if (statement == nullptr) { // a lone ";"
            pos = next;
            continue;
        }
        do {
            armDeadline();
            rc = sqlite3_step(statement);
        } while (rc == SQLITE_ROW);
        if (rc != SQLITE_DONE) {
            DbStatus status = failFromSqlite(rc, static_cast<long>(pos));
            sqlite3_finalize(statement);
            return status;
        }
        sqlite3_finalize(statement);
        pos = next;
    }
}

DbStatus SqliteConnection::begin()
{
    return execScript("BEGIN IMMEDIATE");
}

DbStatus SqliteConnection::commit()
{
    return execScript("COMMIT");
}

DbStatus SqliteConnection::rollback()
{
    if (!inTransaction()) return DbStatus::Ok; // SQLite already rolled back (e.g. after SQLITE_FULL)
    return execScript("ROLLBACK");
}

bool SqliteConnection::inTransaction() const noexcept
{
    return sqlite3_get_autocommit(_db) == 0;
}

} // namespace serval::datasource
