#pragma once

#include "datasource/Migration.h"

#include <chrono>
#include <string>
#include <vector>

namespace serval::datasource {

class Connection;
class DataSource;

/// What a run did, for the deploy's log line and the admin page.
struct MigrationOutcome
{
    std::vector<std::string> applied; ///< scripts applied by this run, in order
    std::string schemaVersion;        ///< the highest version recorded after it ("" if none)
    /// Set when the database holds versions above this bundle's last migration (a newer version
    /// migrated it, and this older one is deploying again: allowed, as Flyway's default).
    std::string note;
};

/// Applies an app's migrations (WEB-INF/migrations/) to one data source, as Flyway does:
/// pending migrations in version order, each in its own transaction together with its row in
/// `serval_schema_history` (version, description, script, checksum, installed_at, execution_ms),
/// so a migration is applied whole or not at all.
///
/// Refused (DataSourceError, one line naming the file, and nothing applied by that step):
/// - a migration that fails: rolled back, "WEB-INF/migrations/V2__x.sql:LINE: <database message>";
/// - an applied migration whose file changed (checksum) or disappeared (Flyway's validate);
/// - a migration never applied whose version is below the database's (out of order);
/// - a migration that ends the transaction itself (COMMIT in the file).
///
/// Several runners at once (nodes deploying together, or worker processes) apply each migration
/// exactly once: every step takes the database's lock first (PostgreSQL: a transaction-scoped
/// advisory lock; SQLite: BEGIN IMMEDIATE, the one write lock), then re-reads the history.
///
/// Called by the deployer on its control thread, after preflight and before the routing swap;
/// statementTimeout does not apply to migrations (lockTimeout bounds the wait for the lock).
class MigrationRunner
{
public:
    static constexpr const char* kHistoryTable = "serval_schema_history";
    /// pg_advisory_xact_lock key: "SERVAL" in ASCII. Advisory locks are per database.
    static constexpr int64_t kAdvisoryLockKey = 0x53455256414c;

    struct Options
    {
        std::string displayPrefix = "WEB-INF/migrations/";
        std::chrono::milliseconds lockTimeout{std::chrono::minutes(2)};
    };

    MigrationRunner(DataSource& source, std::vector<Migration> migrations);
    MigrationRunner(DataSource& source, std::vector<Migration> migrations, Options options);

    /// Throws DataSourceError (see above); the database is then as the last good step left it.
    MigrationOutcome run();

private:
    struct Applied
    {
        std::string version;
        std::vector<uint64_t> versionParts;
        std::string checksum;
        std::string script;
    };

    std::vector<Applied> readHistory(Connection& connection);
    /// Flyway's validate: throws for a changed, missing or out-of-order migration.
    void validate(const std::vector<Applied>& applied, MigrationOutcome& outcome) const;
    void apply(Connection& connection, const Migration& migration, const std::string& currentVersion);
    std::string label() const;

    DataSource& _source;
    std::vector<Migration> _migrations;
    Options _options;
};

} // namespace serval::datasource
