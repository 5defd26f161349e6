#pragma once

#include "config/ServerConfig.h"
#include "config/WebAppConfig.h"
#include "core/Engine.h"
#include "datasource/DataSourceRegistry.h"
#include "deployer/DataSourceBinder.h"
#include "deployer/Deployer.h"
#include "deployer/HostContextRunner.h"
#include "registry/Registry.h"

#include <memory>
#include <string>
#include <vector>

namespace serval::deployer {

/// Wires the Deployer into the server (called by the `serval` main): opens the registry
/// (<base>/data/serval.db), creates one HostContextRunner and HostDeployer per <Host> (work
/// directory <base>/work/<host>), runs start-up reconciliation and deployment, and starts the
/// watcher.
///
/// OWNERSHIP: owned by the main next to the Engine; stop() (or the destructor) must run before
/// the Engine is destroyed. THREADS: start()/stop() on the main thread.
class ServerDeployment
{
public:
    /// `defaults`: conf/web.xml; `maxBodySize`: request body limit for the Contexts built.
    ServerDeployment(const config::ServerConfig& config, core::Engine& engine, config::WebAppConfig defaults,
                     uint64_t maxBodySize);
    ~ServerDeployment();

    /// Throws registry::DatabaseError (the registry cannot be opened) or std::runtime_error
    /// (directories cannot be created); the message says what to do.
    void start();
    void stop();

    Deployer& deployer() { return *_deployer; }
    registry::Registry& registry() { return *_registry; }
    /// Every open data source (<base>/data/<host>/<app>/...): the admin page, /metrics, backups.
    datasource::DataSourceRegistry& dataSources() { return *_dataSources; }
    /// The binder of `host`, or nullptr (backups of apps that are not running).
    DataSourceBinder* binder(const std::string& host);

private:
    const config::ServerConfig& _config;
    core::Engine& _engine;
    config::WebAppConfig _defaults;
    uint64_t _maxBodySize;
    std::unique_ptr<registry::Registry> _registry;
    std::unique_ptr<datasource::DataSourceRegistry> _dataSources;
    std::vector<std::unique_ptr<DataSourceBinder>> _binders; ///< one per <Host>, used by its runner
    std::vector<std::unique_ptr<HostContextRunner>> _runners;
    std::unique_ptr<Deployer> _deployer;
};

} // namespace serval::deployer
