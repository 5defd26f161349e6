#pragma once

#include "manager/ManagerBackend.h"

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace serval::core {
class Context;
class Engine;
} // namespace serval::core
namespace serval::datasource {
class DataSourceRegistry;
} // namespace serval::datasource
namespace serval::deployer {
class Deployer;
struct DeployOutcome;
} // namespace serval::deployer

namespace serval::manager {

/// ManagerBackend over the running Engine: applications, their statistics and web.xml come
/// from the Hosts' Contexts; start, stop and reload drive the Context lifecycle. Connector and
/// worker-pool figures come from a callback that startup wires to the Connectors.
///
/// Deploy, undeploy, start, stop, reload, history and the audit table belong to the Deployer
/// and its registry (setDeployer): the registry is the source of truth for what is deployed
/// (including failed deploys that never reached routing), the Engine for live statistics.
///
/// THREADS: any worker thread. Lifecycle calls serialise per Context (Lifecycle's mutex).
/// OWNERSHIP: the Engine is owned by the Server and outlives this object.
class EngineBackend : public ManagerBackend
{
public:
    using StatusFn = std::function<void(ServerStatus&)>;

    EngineBackend(core::Engine& engine, std::string version);

    /// Fills connectors and workers in status() (startup: from the Connectors).
    void setStatusSource(StatusFn fn) { _statusFn = std::move(fn); }
    /// Contexts that belong to the container (the manager, /metrics): not listed, not actionable,
    /// and nothing is deployed at them or below them.
    void addReservedPath(std::string path) { _reserved.insert(std::move(path)); }

    /// The Deployer and its registry (startup wires it; without it deploy/undeploy answer 503,
    /// start/stop act on the Context only, and audit rows stay in memory). Must outlive this.
    void setDeployer(deployer::Deployer* deployer) noexcept { _deployer = deployer; }
    /// The server's open data sources (startup wires it; without it there are none to show or
    /// back up). Must outlive this.
    void setDataSources(datasource::DataSourceRegistry* dataSources) noexcept { _dataSources = dataSources; }
    /// The applications' sessions (startup wires it over the session stores). Must outlive this.
    void setSessions(SessionDirectory* sessions) noexcept { _sessions = sessions; }
    SessionDirectory* sessions() noexcept override { return _sessions; }

    std::vector<AppInfo> apps() override;
    std::optional<AppDetail> app(const std::string& host, const std::string& path) override;
    ActionResult deployUpload(const std::string& host, const std::string& path, const std::string& fileName,
                              const std::string& bundle, bool update) override;
    ActionResult deployStaged(const std::string& host, const std::string& path, const std::string& fileName,
                              util::FileDescriptor bundle, uint64_t maxBytes, bool update) override;
    ActionResult deployPath(const std::string& host, const std::string& path, const std::string& serverPath,
                            util::FileDescriptor source, uint64_t maxBytes, bool update) override;
    ActionResult undeploy(const std::string& host, const std::string& path) override;
    ActionResult start(const std::string& host, const std::string& path) override;
    ActionResult restartProcesses(const std::string& host, const std::string& path) override;
    std::vector<CrashInfo> crashes(const std::string& host, const std::string& path, size_t limit) override;
    std::optional<CrashInfo> crash(const std::string& crashId) override;
    ActionResult stop(const std::string& host, const std::string& path) override;
    ActionResult reload(const std::string& host, const std::string& path) override;
    std::vector<HistoryEntry> history(const std::string& host, const std::string& path,
                                      size_t limit) override;
    void audit(const AuditEntry& entry) override;
    std::vector<AuditEntry> auditLog(size_t limit) override;
    ServerStatus status() override;
    std::string defaultHost() override;
    std::string metrics() override;
    std::vector<DataSourceInfo> dataSources(const std::string& host) override;
    ActionResult backup(const std::string& host, const std::string& path, const std::string& name,
                        util::FileDescriptor& copy) override;

    /// "running", "stopped", "failed", "deploying" for a Context's lifecycle state.
    static std::string stateName(const core::Context& context);

private:
    AppInfo info(const std::string& host, const core::Context& context);
    /// The data source part of /metrics.
    std::string dataSourceMetrics();
    /// Stats and display name from the routed Context, if it runs this version.
    void addContextFacts(AppInfo& app);
    /// The API's answer for a Deployer outcome (404/409/400/422 from its one-line message).
    ActionResult fromOutcome(const deployer::DeployOutcome& outcome, const std::string& host,
                             const std::string& path);
    std::optional<AppInfo> find(const std::string& host, const std::string& path);
    /// /metrics lines for the applications' sessions ("" without a SessionDirectory).
    std::string sessionMetrics();
    /// 409 for the container's own paths on the default host (the manager, /metrics) and every
    /// path below them, which no action may touch.
    std::optional<ActionResult> refuseReserved(const std::string& host, const std::string& path) const;
    /// Finds the Context; sets `result` to 404/409 and returns nullptr if it cannot be acted on.
    std::shared_ptr<core::Context> actionable(const std::string& host, const std::string& path,
                                              ActionResult& result);

    core::Engine& _engine;
    std::string _version;
    std::chrono::steady_clock::time_point _started;
    StatusFn _statusFn;
    deployer::Deployer* _deployer = nullptr;
    datasource::DataSourceRegistry* _dataSources = nullptr;
    SessionDirectory* _sessions = nullptr;
    std::set<std::string> _reserved;
    std::mutex _auditMutex;
    std::deque<AuditEntry> _audit; ///< without a registry: the last 1000 rows
};

/// "2026-11-25T20:55:01Z" for now.
std::string isoNow();

} // namespace serval::manager
