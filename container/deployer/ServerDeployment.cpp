#include "deployer/ServerDeployment.h"

#include "bundle/Preflight.h"
#include "util/Log.h"
#include "util/Path.h"
#include "util/Strings.h"

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <sys/stat.h>

namespace serval::deployer {

namespace {

void makeDirectories(const std::string& path)
{
    if (!util::makeDirectories(path)) {
        throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno) +
                                 "; check that the base directory is writable");
    }
}

} // namespace

ServerDeployment::ServerDeployment(const config::ServerConfig& config, core::Engine& engine,
                                   config::WebAppConfig defaults, uint64_t maxBodySize)
    : _config(config), _engine(engine), _defaults(std::move(defaults)), _maxBodySize(maxBodySize)
{}

ServerDeployment::~ServerDeployment()
{
    stop();
}

void ServerDeployment::start()
{
    std::string base = _config.base.empty() ? std::string(".") : _config.base;
    makeDirectories(base + "/data");
    _registry = std::make_unique<registry::Registry>(base + "/data/serval.db");
    // Apps get data/<host>/<app> as an absolute path: they may hand it to code that changes
    // directory or to a child process. Their embedded databases live there too.
    char resolved[PATH_MAX];
    std::string data = ::realpath((base + "/data").c_str(), resolved) != nullptr ? resolved : base + "/data";
    _dataSources = std::make_unique<datasource::DataSourceRegistry>(data);
    _deployer = std::make_unique<Deployer>(*_registry);
    std::string self = bundle::selfExecutable();
    for (const config::HostConfig& hostConfig : _config.engine.hosts) {
        auto host = _engine.findHost(hostConfig.name);
        if (!host) continue;
        HostDeployerSettings settings;
        settings.hostName = hostConfig.name;
        settings.appBase = hostConfig.appBase;
        settings.workDir = base + "/work/" + hostConfig.name;
        settings.deployOnStartup = hostConfig.deployOnStartup;
        settings.autoDeploy = hostConfig.autoDeploy;
        settings.limits.maxEntries = hostConfig.maxBundleEntries;
        settings.limits.maxTotalBytes = hostConfig.maxBundleBytes;
        settings.limits.maxFileBytes = hostConfig.maxBundleFileSize;
        settings.preflightBinary = self;
        settings.preflightDeadline = std::chrono::milliseconds(hostConfig.preflightTimeoutMs);
        settings.stableFor = std::chrono::milliseconds(hostConfig.deployStabilityDelayMs);
        // The manager and /metrics live on the default host (manager::Manager::install mounts
        // them after the deployer started): their paths and everything below are never an app's.
        if (_config.manager.enabled && util::equalsIgnoreCase(hostConfig.name, _config.engine.defaultHost))
            settings.reservedPaths = {_config.manager.path, "/metrics"};
        makeDirectories(settings.workDir);
        _binders.push_back(
            std::make_unique<DataSourceBinder>(hostConfig.name, hostConfig.contexts, *_dataSources));
        _runners.push_back(std::make_unique<HostContextRunner>(host, _engine.services(), _defaults,
                                                               _maxBodySize, data + "/" + hostConfig.name,
                                                               _binders.back().get()));
        _deployer->addHost(std::move(settings), *_runners.back());
    }
    _deployer->startup();
    _deployer->startWatching();
}

DataSourceBinder* ServerDeployment::binder(const std::string& host)
{
    for (const auto& binder : _binders) {
        if (binder->hostName() == host) return binder.get();
    }
    return nullptr;
}

void ServerDeployment::stop()
{
    if (_deployer) _deployer->stopWatching();
}

} // namespace serval::deployer
