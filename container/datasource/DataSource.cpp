#include "datasource/DataSource.h"

#include "datasource/PostgresConnection.h"
#include "datasource/SqliteBackup.h"
#include "datasource/SqliteConnection.h"
#include "util/Log.h"

#include <cerrno>
#include <cstring>
#include <fstream>

namespace serval::datasource {

const char* dataSourceTypeName(DataSourceType type) noexcept
{
    return type == DataSourceType::Postgresql ? "postgresql" : "sqlite";
}

util::Expected<std::string> connectPassword(const DataSourceConfig& config)
{
    if (config.passwordFile.empty()) return config.password;
    std::ifstream in(config.passwordFile);
    std::string password;
    if (!in || !std::getline(in, password)) {
        return util::failure("data source \"" + config.name + "\": cannot read passwordFile " +
                             config.passwordFile + ": " + std::strerror(errno) +
                             "; it must hold the password on its first line");
    }
    if (!password.empty() && password.back() == '\r') password.pop_back();
    return password;
}

DataSource::DataSource(DataSourceConfig config) : _config(std::move(config))
{
    if (_config.maxConnections == 0) _config.maxConnections = 1;
}

DataSource::~DataSource()
{
    std::vector<std::unique_ptr<Connection>> idle;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        idle.swap(_idle);
    }
}

std::unique_ptr<Connection> DataSource::open(DbError& error)
{
    if (_config.type == DataSourceType::Postgresql) return PostgresConnection::open(_config, &_stats, error);
    return SqliteConnection::open(_config, &_stats, error);
}

DbStatus DataSource::acquire(PooledConnection& lease, DbError& error)
{
    lease.release();
    auto deadline = std::chrono::steady_clock::now() + _config.acquireTimeout;
    std::unique_lock<std::mutex> lock(_mutex);
    bool waited = false;
    while (true) {
        if (!_idle.empty()) {
            std::unique_ptr<Connection> connection = std::move(_idle.back());
            _idle.pop_back();
            lock.unlock();
            if (connection->checkAlive()) {
                _stats.add(_stats.acquires);
                lease = PooledConnection(*this, std::move(connection));
                return DbStatus::Ok;
            }
            connection.reset(); // closed outside the lock; try the next idle one
            _stats.add(_stats.discarded);
            lock.lock();
            --_open;
            continue;
        }
        if (_open < _config.maxConnections) {
            ++_open; // the slot is ours while we connect without the lock
            lock.unlock();
            std::unique_ptr<Connection> connection = open(error);
            if (connection) {
                _stats.add(_stats.opened);
                _stats.add(_stats.acquires);
                lease = PooledConnection(*this, std::move(connection));
                return DbStatus::Ok;
            }
            _stats.add(_stats.connectFailures);
            lock.lock();
            --_open;
            lock.unlock();
            _returned.notify_one();
            return error.status;
        }
        if (!waited) {
            waited = true;
            _stats.add(_stats.waits);
        }
        ++_waiting;
        bool available = _returned.wait_until(
            lock, deadline, [this] { return !_idle.empty() || _open < _config.maxConnections; });
        --_waiting;
        if (!available) {
            _stats.add(_stats.timeouts);
            error = DbError{};
            error.status = DbStatus::PoolTimeout;
            error.message = "data source \"" + _config.name + "\": no connection became free within " +
                            std::to_string(_config.acquireTimeout.count()) + " ms (all " +
                            std::to_string(_config.maxConnections) +
                            " in use); raise maxConnections or acquireTimeout, or find the code that holds "
                            "connections too long";
            return DbStatus::PoolTimeout;
        }
    }
}

void DataSource::release(std::unique_ptr<Connection> connection) noexcept
{
    connection->finishAll();
    if (connection->inTransaction() && !connection->broken()) {
        LOG_DEBUG("datasource", "data source \"" + _config.name +
                                    "\": a connection came back inside a transaction; rolled back");
        connection->rollback();
    }
    bool keep = !connection->broken() && !connection->inTransaction();
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (keep) {
            _idle.push_back(std::move(connection));
        } else {
            --_open;
        }
    }
    _returned.notify_one();
    if (!keep) _stats.add(_stats.discarded);
    connection.reset(); // a broken one is closed here, outside the lock
}

void DataSource::closeIdle() noexcept
{
    std::vector<std::unique_ptr<Connection>> idle;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        idle.swap(_idle);
        _open -= static_cast<unsigned>(idle.size());
    }
    _returned.notify_all();
}

void DataSource::backup(const std::string& destination) const
{
    if (_config.type != DataSourceType::Sqlite) {
        throw DataSourceError(
            "data source \"" + _config.name +
            "\" is PostgreSQL: back it up with pg_dump (Serval backs up embedded databases only)");
    }
    backupSqlite(_config.url, destination);
}

DataSourceStatsSnapshot DataSource::stats() const
{
    DataSourceStatsSnapshot out;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        out.maxConnections = _config.maxConnections;
        out.open = _open;
        out.inUse = _open - static_cast<unsigned>(_idle.size());
        out.waiting = _waiting;
    }
    auto read = [](const std::atomic<uint64_t>& counter) { return counter.load(std::memory_order_relaxed); };
    out.acquires = read(_stats.acquires);
    out.waits = read(_stats.waits);
    out.timeouts = read(_stats.timeouts);
    out.connectFailures = read(_stats.connectFailures);
    out.opened = read(_stats.opened);
    out.discarded = read(_stats.discarded);
    out.errors = read(_stats.errors);
    out.queries = read(_stats.queries);
    out.queryNanos = read(_stats.queryNanos);
    out.latencyBuckets = _stats.latency.snapshot();
    out.p50Micros = _stats.latency.percentileMicros(0.50);
    out.p99Micros = _stats.latency.percentileMicros(0.99);
    std::lock_guard<std::mutex> lock(_contributorsMutex);
    for (auto it = _contributors.begin(); it != _contributors.end();) {
        if ((*it)(out)) {
            ++it;
        } else {
            it = _contributors.erase(it);
        }
    }
    return out;
}

void DataSource::addStatsContributor(StatsContributor contributor)
{
    std::lock_guard<std::mutex> lock(_contributorsMutex);
    _contributors.push_back(std::move(contributor));
}

} // namespace serval::datasource
