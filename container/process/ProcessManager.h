#pragma once

#include "config/ServerConfig.h"
#include "core/ContextResources.h"
#include "core/RemoteApplication.h"
#include "datasource/DataSourceConfig.h"
#include "http/Loop.h"
#include "process/ConnectorLoop.h"
#include "process/ForwardingLoop.h"
#include "process/Supervisor.h"
#include "process/WorkerGroup.h"
#include "registry/Registry.h"
#include "util/Log.h"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace serval::process {

/// Server-wide choices the process manager needs (startup fills them from server.xml).
struct ProcessManagerSettings
{
    std::string binary = "/proc/self/exe"; ///< the worker mode's binary (tests: build/bin/serval)
    std::string registryPath;              ///< data/serval.db, where crash records go ("" = none)
    std::string defaultsWebXml;            ///< conf/web.xml (the workers merge it as the server does)
    std::string logFile;                   ///< the server log the workers append to ("" = stderr)
    util::LogLevel logLevel = util::LogLevel::Info;
    uint32_t workerThreads = 16; ///< request threads per worker without <Context maxThreads>
    std::string signingSecret;   ///< data/serval.key, handed to every worker (WorkerSpec)
    std::chrono::milliseconds drainTimeout{30000}; ///< a retired worker's drain, then SIGKILL
    /// Each Host's <Manager> by host name: the workers of its apps open the same session store
    /// (WorkerSpec::sessions). A host missing here gives its isolated apps no sessions.
    std::map<std::string, config::SessionStoreConfig> sessionStores;
    std::string jvmRoute; ///< <Engine jvmRoute>, for the session ids workers issue
};

/// The process model's root in the server (issue 11): the supervisor thread, the connector
/// loops the lanes run on (ConnectorLoop), the registry crash records go to, and the factory every isolated
/// Context is given (core::ContextServices::remoteApplication). Each Context version it builds gets its own
/// WorkerGroup; the manager's page reads them through their Contexts.
///
/// OWNERSHIP: owned by the Server, started before the first deploy and stopped after the last
/// Context stopped. THREADS: start()/stop() on the main thread; the factory on deploy threads.
class ProcessManager
{
public:
    explicit ProcessManager(ProcessManagerSettings settings);
    ~ProcessManager();

    /// Opens the registry, starts the supervisor; `loops`: how many I/O loops the Server's
    /// Connectors will run (every isolated Context gets one lane per loop). Throws
    /// registry::DatabaseError.
    void start(unsigned loops);
    void stop();

    /// On a Connector loop's own thread before it accepts (Connector::setLoopStartHook): the
    /// lanes of that loop (by http::Loop::index()) move onto it.
    void bindLoop(http::Loop& loop);
    /// The Connectors have stopped (their loop threads exited): lanes run on the manager's
    /// own thread until their Contexts stop.
    void loopsEnded();

    /// The factory for every isolated Context (core::ContextServices::remoteApplication).
    core::RemoteApplicationFactory factory();
    /// Adds the session store counters of every isolated app's workers to `into`, by store
    /// (WorkerGroup::addSessionStoreStats): /metrics shows what isolated apps commit, create
    /// and expire. Any control thread; waits a moment for busy workers.
    void addSessionStoreStats(std::map<std::string, session::SessionStoreStats>& into);

private:
    ProcessManagerSettings _settings;
    std::unique_ptr<registry::Registry> _registry;
    Supervisor _supervisor;
    /// Runs lane tasks while the connector loops are not running (ConnectorLoop's fallback).
    std::unique_ptr<ForwardingLoop> _fallback;
    std::vector<std::unique_ptr<ConnectorLoop>> _loops; ///< by http::Loop::index()
    std::mutex _groupsMutex;
    /// Every isolated Context's workers the factory made (weak: the Context owns them).
    std::vector<std::weak_ptr<WorkerGroup>> _groups;
};

/// The GroupSettings of a Context from its resolved <Context> settings.
GroupSettings groupSettings(const config::ContextConfig& context, const ProcessManagerSettings& server);

/// The data sources each of an isolated Context's `processes` workers opens (WorkerSpec::dataSources),
/// from the ones its deployer bound and migrated in the server (`resources`, app::AppResources;
/// none when null). maxConnections is the app's bound across all its workers, so each gets
/// maxConnections / processes, at least 1. A PostgreSQL passwordFile is read here, in the server, and
/// travels as the password; if the server cannot read it, the file name travels instead and the
/// worker's connect fails with that message. Called on a deploy thread when the Context starts.
/// Makes the server's DataSource objects of an isolated Context (`resources`) report its
/// workers' pools too (DataSource::addStatsContributor), so the admin page and /metrics show what
/// the app uses, not just the migrations' pool. Until `group` is destroyed.
void addWorkerStats(const core::ContextResources* resources, const std::shared_ptr<WorkerGroup>& group);

std::vector<datasource::DataSourceConfig> workerDataSources(const core::ContextResources* resources,
                                                            uint32_t processes);

} // namespace serval::process
