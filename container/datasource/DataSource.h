#pragma once

#include "datasource/DataSourceConfig.h"
#include "datasource/DataSourceStats.h"
#include "datasource/DbError.h"
#include "datasource/PooledConnection.h"

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace serval::datasource {

/// One named data source of a Context ("main"): its configuration and a bounded pool of
/// connections to it, opened lazily and kept for reuse (Tomcat's pooled JNDI DataSource,
/// HikariCP's rules: LIFO reuse, a connection that broke is closed, never handed out again).
///
/// Built by whoever owns the Context's resources (in the server, or in an isolated app's worker
/// process: each process has its own pool; SQLite files are shared between them through WAL).
/// acquire() is called from any thread, concurrently; stats() too. Every PooledConnection must
/// have ended before the DataSource is destroyed.
class DataSource
{
public:
    explicit DataSource(DataSourceConfig config);
    ~DataSource();
    DataSource(const DataSource&) = delete;
    DataSource& operator=(const DataSource&) = delete;

    const DataSourceConfig& config() const noexcept { return _config; }
    const std::string& name() const noexcept { return _config.name; }

    /// Lends a connection: an idle one (checked alive), else a new one while fewer than
    /// maxConnections are open, else waits up to acquireTimeout for one to come back.
    /// PoolTimeout when none did (the app answers 503); ConnectionLost when a new connection
    /// could not be opened (the server is down: fails at once, no waiting for a timeout).
    DbStatus acquire(PooledConnection& lease, DbError& error);

    /// Takes a consistent copy of an embedded (SQLite) database while the app keeps writing
    /// (SqliteBackup). Control plane: throws DataSourceError; PostgreSQL is refused (pg_dump).
    void backup(const std::string& destination) const;

    /// Closes the idle connections (the next acquire opens fresh ones). Any thread.
    void closeIdle() noexcept;

    /// This pool's stats plus those of every contributor: the same data source's pools in other
    /// processes (an isolated app's workers, process::WorkerGroup). May wait for them briefly.
    DataSourceStatsSnapshot stats() const;

    /// Adds someone else's pools of this data source to stats(): `contributor` adds theirs to the
    /// snapshot it is given and returns false once they are gone for good (it is then dropped).
    /// Called by the process manager when an isolated Context starts; any thread.
    using StatsContributor = std::function<bool(DataSourceStatsSnapshot&)>;
    void addStatsContributor(StatsContributor contributor);

private:
    friend class PooledConnection;
    /// Called by PooledConnection when a lease ends.
    void release(std::unique_ptr<Connection> connection) noexcept;
    std::unique_ptr<Connection> open(DbError& error);

    DataSourceConfig _config;
    DataSourceStats _stats;
    mutable std::mutex _mutex;
    std::condition_variable _returned;
    std::vector<std::unique_ptr<Connection>> _idle; ///< most recently returned last
    unsigned _open = 0;                             ///< idle + lent + being opened
    unsigned _waiting = 0;
    /// Separate from _mutex: a contributor may take a while, and acquire() must not wait for it.
    mutable std::mutex _contributorsMutex;
    mutable std::vector<StatsContributor> _contributors;
};

} // namespace serval::datasource
