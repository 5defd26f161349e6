#include "datasource/MigrationRunner.h"

#include "datasource/Connection.h"
#include "datasource/DataSource.h"
#include "datasource/SqlText.h"

#include <algorithm>

namespace serval::datasource {

namespace {

constexpr const char* kCreateHistory = "CREATE TABLE IF NOT EXISTS serval_schema_history ("
                                       " version TEXT PRIMARY KEY,"
                                       " description TEXT NOT NULL,"
                                       " script TEXT NOT NULL,"
                                       " checksum TEXT NOT NULL,"
                                       " installed_at BIGINT NOT NULL,"
                                       " execution_ms BIGINT NOT NULL)";

/// Rolls back the step's transaction, then throws `message`.
[[noreturn]] void refuse(Connection& connection, const std::string& message)
{
    connection.rollback();
    throw DataSourceError(message);
}

std::string shortChecksum(const std::string& checksum)
{
    return checksum.substr(0, 12);
}

/// Puts the connection's configured timeouts back when the run ends, however it ends.
struct TimeoutsRestored
{
    Connection& connection;
    ~TimeoutsRestored() { connection.resetTimeouts(); }
};

} // namespace

MigrationRunner::MigrationRunner(DataSource& source, std::vector<Migration> migrations)
    : MigrationRunner(source, std::move(migrations), Options())
{}

MigrationRunner::MigrationRunner(DataSource& source, std::vector<Migration> migrations, Options options)
    : _source(source), _migrations(std::move(migrations)), _options(std::move(options))
{}

std::string MigrationRunner::label() const
{
    return "data source \"" + _source.name() + "\"";
}

MigrationOutcome MigrationRunner::run()
{
    MigrationOutcome outcome;
    PooledConnection lease;
    DbError error;
    if (_source.acquire(lease, error) != DbStatus::Ok) {
        throw DataSourceError(label() + ": cannot run migrations: " + error.describe());
    }
    Connection& connection = *lease;
    if (connection.setTimeouts(std::chrono::milliseconds(0), _options.lockTimeout) != DbStatus::Ok) {
        throw DataSourceError(label() +
                              ": cannot set the migration timeouts: " + connection.lastError().describe());
    }
    TimeoutsRestored restore{connection};
    auto check = [&](DbStatus status, const char* what) {
        if (status != DbStatus::Ok)
            refuse(connection, label() + ": " + what + ": " + connection.lastError().describe());
    };

    while (true) {
        check(connection.begin(), "cannot begin the migration transaction");
        if (connection.type() == DataSourceType::Postgresql) {
            check(connection.exec("SELECT pg_advisory_xact_lock(" + std::to_string(kAdvisoryLockKey) + ")"),
                  "cannot take the migration lock");
        }
        check(connection.exec(kCreateHistory), "cannot create serval_schema_history");
        std::vector<Applied> applied = readHistory(connection);
        try {
            validate(applied, outcome);
        } catch (...) {
            connection.rollback();
            throw;
        }
        const Applied* newest = nullptr;
        for (const Applied& a : applied) {
            if (newest == nullptr || compareVersions(a.versionParts, newest->versionParts) > 0) newest = &a;
        }
        std::string current = newest != nullptr ? newest->version : std::string();
        const Migration* next = nullptr;
        for (const Migration& m : _migrations) {
            bool done = std::any_of(applied.begin(), applied.end(), [&](const Applied& a) {
                return compareVersions(a.versionParts, m.versionParts) == 0;
            });
            if (!done) {
                next = &m;
                break;
            }
        }
        if (next == nullptr) {
            check(connection.commit(), "cannot commit");
            outcome.schemaVersion = current;
            return outcome;
        }
        apply(connection, *next, current);
        outcome.applied.push_back(next->script);
    }
}

std::vector<MigrationRunner::Applied> MigrationRunner::readHistory(Connection& connection)
{
    Statement* select = connection.prepare("SELECT version, checksum, script FROM serval_schema_history");
    if (select == nullptr) {
        refuse(connection,
               label() + ": cannot read serval_schema_history: " + connection.lastError().describe());
    }
    std::vector<Applied> out;
    StepResult step;
    while ((step = select->step()) == StepResult::Row) {
        Applied row;
        row.version = std::string(select->columnText(0));
        row.checksum = std::string(select->columnText(1));
        row.script = std::string(select->columnText(2));
        auto parts = parseVersion(row.version);
        if (!parts) {
            connection.finish(select);
            refuse(connection, label() + ": serval_schema_history holds \"" + row.version +
                                   "\", which is no version; it was not written by Serval");
        }
        row.versionParts = std::move(*parts);
        out.push_back(std::move(row));
    }
    connection.finish(select);
    if (step == StepResult::Error) {
        refuse(connection,
               label() + ": cannot read serval_schema_history: " + connection.lastError().describe());
    }
    return out;
}

void MigrationRunner::validate(const std::vector<Applied>& applied, MigrationOutcome& outcome) const
{
    const std::vector<uint64_t>* lastLocal = _migrations.empty() ? nullptr : &_migrations.back().versionParts;
    const Applied* newest = nullptr;
    for (const Applied& a : applied) {
        if (newest == nullptr || compareVersions(a.versionParts, newest->versionParts) > 0) newest = &a;
        auto local = std::find_if(_migrations.begin(), _migrations.end(), [&](const Migration& m) {
            return compareVersions(m.versionParts, a.versionParts) == 0;
        });
        if (local != _migrations.end()) {
            if (local->checksum == a.checksum) continue;
            throw DataSourceError(
                "migration " + _options.displayPrefix + local->script +
                " was changed after it was applied to " + label() + " (checksum " +
                shortChecksum(a.checksum) + "... then, " + shortChecksum(local->checksum) +
                "... now): an applied migration must never change; undo the edit and put the "
                "change in a new migration");
        }
        if (lastLocal == nullptr || compareVersions(a.versionParts, *lastLocal) > 0) continue; // newer: below
        throw DataSourceError("migration " + a.script + " (version " + a.version + ") was applied to " +
                              label() + " but is missing from " + _options.displayPrefix +
                              ": applied migrations must stay in the bundle; restore the file");
    }
    if (newest == nullptr) return;
    if (lastLocal == nullptr || compareVersions(newest->versionParts, *lastLocal) > 0) {
        outcome.note = label() + " is at version " + newest->version +
                       ", newer than this bundle's migrations; the app must work with that schema";
    }
    for (const Migration& m : _migrations) {
        bool done = std::any_of(applied.begin(), applied.end(), [&](const Applied& a) {
            return compareVersions(a.versionParts, m.versionParts) == 0;
        });
        if (done || compareVersions(m.versionParts, newest->versionParts) > 0) continue;
        throw DataSourceError(
            "migration " + _options.displayPrefix + m.script + " has version " + m.version +
            ", below the version " + newest->version + " of " + label() +
            ", and was never applied: out-of-order migrations are refused; give it a version "
            "above " +
            newest->version);
    }
}

void MigrationRunner::apply(Connection& connection, const Migration& migration,
                            const std::string& currentVersion)
{
    std::string where = _options.displayPrefix + migration.script;
    std::string stays = label() + (currentVersion.empty() ? " has no migration applied"
                                                          : " stays at version " + currentVersion);
    auto started = std::chrono::steady_clock::now();
    if (connection.exec(migration.sql) != DbStatus::Ok) {
        DbError error = connection.lastError();
        if (error.offset >= 0)
            where += ":" + std::to_string(lineOf(migration.sql, static_cast<size_t>(error.offset)));
        refuse(connection, "migration " + where + " failed: " + error.describe() + "; rolled back, " + stays);
    }
    if (!connection.inTransaction()) {
        throw DataSourceError(
            "migration " + where +
            " ended the transaction itself (COMMIT or ROLLBACK in the file), so what it did so "
            "far is committed but not recorded: remove those statements (each migration runs in "
            "its own transaction) and repair the schema by hand");
    }
    auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
            .count();
    auto installedAt = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    Statement* insert = connection.prepare(
        "INSERT INTO serval_schema_history (version, description, script, checksum, installed_at,"
        " execution_ms) VALUES (?, ?, ?, ?, ?, ?)");
    bool recorded = insert != nullptr && insert->bindText(1, migration.version) == DbStatus::Ok &&
                    insert->bindText(2, migration.description) == DbStatus::Ok &&
                    insert->bindText(3, migration.script) == DbStatus::Ok &&
                    insert->bindText(4, migration.checksum) == DbStatus::Ok &&
                    insert->bindInt64(5, installedAt) == DbStatus::Ok &&
                    insert->bindInt64(6, elapsed) == DbStatus::Ok && insert->step() == StepResult::Done;
    connection.finish(insert);
    if (!recorded) {
        refuse(connection, "migration " + where + ": cannot record it in serval_schema_history: " +
                               connection.lastError().describe() + "; rolled back, " + stays);
    }
    if (connection.commit() != DbStatus::Ok) {
        refuse(connection,
               "migration " + where + ": commit failed: " + connection.lastError().describe() + "; " + stays);
    }
}

} // namespace serval::datasource
