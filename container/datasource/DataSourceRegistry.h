#pragma once

#include "datasource/DataSource.h"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace serval::datasource {

/// Every data source the server has open, by (host, app, name), and the apps' data directories
/// under <base>/data/<host>/<app>/ (Tomcat keeps JNDI resources per Context; Serval keeps them
/// per app, across its versions: while version 2 migrates and starts, version 1 keeps serving
/// from the same pool, and the counters on the admin page survive a redeploy).
///
/// A DataSource lives as long as someone holds it: the Contexts of the app's versions (through
/// their resources), a migration run, a backup. The registry holds it weakly, so an undeployed
/// app's connections close with its last Context.
///
/// Used in the server (deployer on its control thread, manager on worker threads) and in an
/// isolated app's worker process (each process has its own registry and pools). THREADS: any;
/// one mutex, never held while a connection opens.
class DataSourceRegistry
{
public:
    /// `dataRoot`: <base>/data (created by whoever starts the server).
    explicit DataSourceRegistry(std::string dataRoot);

    const std::string& dataRoot() const noexcept { return _dataRoot; }

    /// data/<host>/<app> (no trailing slash), created with mode 0700 if missing: the app's own
    /// files and its embedded databases, kept across versions. Throws DataSourceError naming the
    /// directory if it cannot be created. `app` is the context name ("ROOT", "shop", "a#b").
    std::string dataDirectory(const std::string& host, const std::string& app) const;
    /// Where an unbound data source lives: data/<host>/<app>/<name>.db.
    std::string embeddedFile(const std::string& host, const std::string& app, const std::string& name) const;

    /// The open data source of that app with `config.name`, or a new one from `config` (the first
    /// caller's configuration wins while it stays open: server.xml is read once).
    std::shared_ptr<DataSource> open(const std::string& host, const std::string& app,
                                     const DataSourceConfig& config);
    /// The open one, or nullptr.
    std::shared_ptr<DataSource> find(const std::string& host, const std::string& app,
                                     const std::string& name) const;

    struct Entry
    {
        std::string host;
        std::string app;
        std::shared_ptr<DataSource> source;
    };
    /// Every open data source, by host, app and name (the admin page, /metrics).
    std::vector<Entry> list() const;

private:
    using Key = std::tuple<std::string, std::string, std::string>;

    std::string _dataRoot;
    mutable std::mutex _mutex;
    mutable std::map<Key, std::weak_ptr<DataSource>> _sources;
};

} // namespace serval::datasource
