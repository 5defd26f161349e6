#pragma once

#include "datasource/Connection.h"

#include <memory>
#include <string>

struct pg_conn;
struct pg_result;

namespace serval::datasource {

/// A connection to a PostgreSQL server through libpq (Debian's libpq5). Statements are
/// server-side prepared (PQprepare) under per-connection names, parameters travel as text (blobs
/// as binary), results come back in text format and whole (as pgjdbc without a fetch size).
/// statementTimeout is the server's statement_timeout, set in the startup packet.
class PostgresConnection final : public Connection
{
public:
    /// Connects to config.url with the password from config.passwordFile. Returns nullptr with
    /// `error` filled (ConnectionLost, or Error for an unreadable password file) on failure.
    static std::unique_ptr<PostgresConnection> open(const DataSourceConfig& config, DataSourceStats* stats,
                                                    DbError& error);
    ~PostgresConnection() override;

    DbStatus begin() override;
    DbStatus commit() override;
    DbStatus rollback() override;
    bool inTransaction() const noexcept override;
    bool broken() const noexcept override;
    bool checkAlive() noexcept override;
    DbStatus setTimeouts(std::chrono::milliseconds statement, std::chrono::milliseconds lock) override;

    /// For PostgresStatement: records the error of `result` (may be null: libpq's own error).
    /// With `offsetBase` >= 0, the server's error position within `statementText` becomes a
    /// byte offset from offsetBase.
    DbStatus failFromResult(const pg_result* result, long offsetBase = -1,
                            std::string_view statementText = {});
    pg_conn* handle() noexcept { return _conn; }
    /// True while the destructor closes statements (no DEALLOCATE round trips then).
    bool closing() const noexcept { return _closing; }

private:
    PostgresConnection(const DataSourceConfig& config, DataSourceStats* stats, pg_conn* conn);

    std::unique_ptr<Statement> prepareNew(std::string_view sql) override;
    DbStatus execScript(std::string_view sql) override;
    std::chrono::milliseconds defaultLockTimeout() const noexcept override { return {}; }
    /// Runs one statement (NUL-terminated) and records its failure; `offset` is where it starts.
    DbStatus execOne(const std::string& text, long offset);
    /// libpq's notice receiver (on the thread that holds the connection, inside a libpq call):
    /// logs the notice and notes a FATAL, which the server sends before it closes the session.
    static void onNotice(void* self, const pg_result* result);

    pg_conn* _conn;
    unsigned _nextStatement = 0;
    bool _closing = false;
    bool _fatalReceived = false; ///< the server said goodbye: never lend this connection again
};

} // namespace serval::datasource
