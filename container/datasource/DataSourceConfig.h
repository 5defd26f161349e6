#pragma once

#include "util/Expected.h"

#include <chrono>
#include <string>

namespace serval::datasource {

enum class DataSourceType
{
    Sqlite,
    Postgresql
};

/// "sqlite" / "postgresql" (server.xml's <DataSource type>).
const char* dataSourceTypeName(DataSourceType type) noexcept;

struct DataSourceConfig;

/// The password `config` connects with: the first line of its passwordFile (read now, so a
/// rotated password needs no restart), else its `password`. A failure names the file and says
/// what it must hold. Any thread.
util::Expected<std::string> connectPassword(const DataSourceConfig& config);

/// One data source as the operator bound it (server.xml <DataSource>) or as the container
/// defaults it (an unbound resource-ref: SQLite at data/<host>/<app>/<name>.db). Plain data,
/// validated by config/ before it gets here; copied into the DataSource that uses it.
struct DataSourceConfig
{
    std::string name = "main"; ///< the res-ref-name apps ask for; names the source in messages
    DataSourceType type = DataSourceType::Sqlite;
    /// SQLite: the database file (its directory must exist). PostgreSQL: a libpq URI,
    /// postgresql://user@host:port/database (a password belongs in passwordFile, not here).
    std::string url;
    /// PostgreSQL: a file whose first line is the password; read at every connect, so a rotated
    /// password needs no restart. Empty: none (trust, peer, or ~/.pgpass).
    std::string passwordFile;
    /// PostgreSQL: the password itself, used when passwordFile is empty. Set only in an isolated
    /// app's worker process, from the WorkerSpec: the server read passwordFile (the worker may run
    /// as a user who cannot) and sent it over the worker's private control socket. Never logged,
    /// never shown.
    std::string password;
    /// The pool's bound: at most this many connections are open at once.
    unsigned maxConnections = 8;
    /// How long acquire() waits for a free connection before PoolTimeout (apps answer 503).
    std::chrono::milliseconds acquireTimeout{2000};
    /// A statement running longer is cancelled with Timeout (SQLSTATE 57014). 0: no limit.
    /// PostgreSQL: the server's statement_timeout. SQLite: checked per step() by a progress
    /// handler.
    std::chrono::milliseconds statementTimeout{0};
    /// SQLite: how long a writer waits for another's lock (busy_timeout) before 55P03.
    std::chrono::milliseconds busyTimeout{5000};
};

} // namespace serval::datasource
