#include "process/ProcessManager.h"

#include "app/AppResources.h"
#include "core/Context.h"
#include "datasource/DataSource.h"
#include "process/IsolatedApplication.h"

#include <algorithm>
#include <sys/stat.h>

namespace serval::process {

GroupSettings groupSettings(const config::ContextConfig& context, const ProcessManagerSettings& server)
{
    GroupSettings settings;
    settings.processes = context.processes.value_or(1);
    settings.requestTimeout = std::chrono::milliseconds(context.requestTimeoutMs);
    settings.memoryLimit = context.memoryLimit;
    settings.maxRequestsPerProcess = context.maxRequestsPerProcess;
    settings.restart.crashBudget = context.maxCrashes;
    settings.restart.crashWindow = std::chrono::milliseconds(context.crashWindowMs);
    settings.drainTimeout = server.drainTimeout;
    settings.process.binary = server.binary;
    return settings;
}

std::vector<datasource::DataSourceConfig> workerDataSources(const core::ContextResources* resources,
                                                            uint32_t processes)
{
    std::vector<datasource::DataSourceConfig> out;
    const auto* bound = dynamic_cast<const app::AppResources*>(resources);
    if (bound == nullptr) return out;
    for (const auto& [name, source] : bound->dataSources()) {
        datasource::DataSourceConfig config = source->config();
        config.maxConnections = std::max(1u, config.maxConnections / std::max(1u, processes));
        if (!config.passwordFile.empty()) {
            util::Expected<std::string> password = datasource::connectPassword(config);
            if (password) {
                config.password = std::move(*password);
                config.passwordFile.clear();
            }
        }
        out.push_back(std::move(config));
        // The server's own pool only ran the migrations (and serves backups): the app's
        // connections are its workers'.
        source->closeIdle();
    }
    return out;
}

void addWorkerStats(const core::ContextResources* resources, const std::shared_ptr<WorkerGroup>& group)
{
    const auto* bound = dynamic_cast<const app::AppResources*>(resources);
    if (bound == nullptr) return;
    // Long enough for a busy worker's channel thread to answer, short enough for an admin page.
    constexpr std::chrono::milliseconds kWait{250};
    for (const auto& [name, source] : bound->dataSources()) {
        source->addStatsContributor([weak = std::weak_ptr<WorkerGroup>(group),
                                     name = name](datasource::DataSourceStatsSnapshot& into) {
            std::shared_ptr<WorkerGroup> workers = weak.lock();
            if (!workers) return false; // that version is gone
            workers->addDataSourceStats(name, into, kWait);
            return true;
        });
    }
}

ProcessManager::ProcessManager(ProcessManagerSettings settings) : _settings(std::move(settings)) {}

ProcessManager::~ProcessManager()
{
    stop();
}

void ProcessManager::start(unsigned loops)
{
    if (!_settings.registryPath.empty() && !_registry) {
        std::string dir = _settings.registryPath.substr(0, _settings.registryPath.rfind('/'));
        ::mkdir(dir.c_str(), 0755); // the deployer creates it too; whoever is first
        _registry = std::make_unique<registry::Registry>(_settings.registryPath);
    }
    if (!_fallback) _fallback = std::make_unique<ForwardingLoop>();
    while (_loops.size() < std::max(loops, 1u))
        _loops.push_back(std::make_unique<ConnectorLoop>(*_fallback));
    _supervisor.start();
}

void ProcessManager::stop()
{
    _supervisor.stop();
    for (auto& loop : _loops)
        loop->end();
    _fallback.reset(); // runs what is still posted, then joins
    _loops.clear();
    _registry.reset();
}

void ProcessManager::bindLoop(http::Loop& loop)
{
    if (loop.index() < _loops.size()) _loops[loop.index()]->bind(loop);
}

void ProcessManager::loopsEnded()
{
    for (auto& loop : _loops)
        loop->end();
}

core::RemoteApplicationFactory ProcessManager::factory()
{
    return [this](const core::Context& context) -> std::unique_ptr<core::RemoteApplication> {
        const core::ContextSpec& spec = context.spec();
        WorkerSpec worker;
        worker.host = spec.host;
        worker.name = spec.name;
        worker.path = spec.path;
        worker.version = spec.version;
        worker.docBase = spec.docBase;
        worker.dataDir = spec.dataDir;
        worker.signingSecret = _settings.signingSecret;
        worker.defaultsWebXml = _settings.defaultsWebXml;
        worker.maxBodySize = spec.maxBodySize;
        worker.threads = spec.settings.maxThreads > 0 ? spec.settings.maxThreads : _settings.workerThreads;
        worker.logFile = _settings.logFile;
        worker.logLevel = _settings.logLevel;
        worker.user = spec.settings.user;
        GroupSettings group = groupSettings(spec.settings, _settings);
        worker.appLibraries = spec.appLibraries;
        worker.dataSources = workerDataSources(spec.resources.get(), group.processes);
        if (auto store = _settings.sessionStores.find(spec.host); store != _settings.sessionStores.end())
            worker.sessions = store->second;
        worker.jvmRoute = _settings.jvmRoute;
        std::vector<LaneLoop*> loops;
        for (auto& loop : _loops)
            loops.push_back(loop.get());
        auto workers = std::make_shared<WorkerGroup>(worker, std::move(group), _supervisor, std::move(loops),
                                                     _registry.get());
        addWorkerStats(spec.resources.get(), workers);
        {
            std::lock_guard<std::mutex> lock(_groupsMutex);
            _groups.erase(std::remove_if(_groups.begin(), _groups.end(),
                                         [](const std::weak_ptr<WorkerGroup>& g) { return g.expired(); }),
                          _groups.end());
            _groups.push_back(workers);
        }
        return std::make_unique<IsolatedApplication>(std::move(workers));
    };
}

void ProcessManager::addSessionStoreStats(std::map<std::string, session::SessionStoreStats>& into)
{
    constexpr std::chrono::milliseconds kWait{250}; // as addWorkerStats: an admin page's patience
    std::vector<std::shared_ptr<WorkerGroup>> groups;
    {
        std::lock_guard<std::mutex> lock(_groupsMutex);
        for (const auto& weak : _groups)
            if (auto group = weak.lock()) groups.push_back(std::move(group));
    }
    for (const auto& group : groups)
        group->addSessionStoreStats(into, kWait);
}

} // namespace serval::process
