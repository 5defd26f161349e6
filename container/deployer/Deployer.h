#pragma once

#include "deployer/HostDeployer.h"
#include "registry/Registry.h"
#include "util/FileDescriptor.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace serval::deployer {

struct DeployerSettings
{
    std::chrono::milliseconds scanInterval{1000}; ///< periodic scan (safety net for inotify)
};

/// The Deployer: one HostDeployer per Host, a watcher thread (inotify on every appBase plus a
/// periodic scan as a safety net), and the API the admin page and servalctl use.
///
/// OWNERSHIP: owned by the server (startup); holds references to the Registry and to each
/// Host's ContextRunner, which must outlive it (stopWatching() before destroying them).
/// THREADS: every public method may be called from any control thread (admin requests, the
/// watcher); one mutex serialises all deploy work, so two deploys never interleave.
class Deployer
{
public:
    explicit Deployer(registry::Registry& registry, DeployerSettings settings = DeployerSettings());
    ~Deployer();
    Deployer(const Deployer&) = delete;
    Deployer& operator=(const Deployer&) = delete;

    /// Before startup(): one Host. `runner` must outlive the Deployer.
    void addHost(HostDeployerSettings settings, ContextRunner& runner);

    /// Start-up reconciliation and deployOnStartup for every Host (control thread, before the
    /// connectors accept traffic).
    void startup();
    /// Starts / stops the watcher thread (autoDeploy). stopWatching() joins it.
    void startWatching();
    void stopWatching();
    /// One scan of every Host now (tests, and the watcher). Returns true if something waits
    /// to become stable.
    bool tick();

    // ---- the admin API ------------------------------------------------------------------------

    /// Copies the bundle or app directory `source` is open on into the Host's appBase and deploys
    /// it now (update: replace a running one); see HostDeployer::deployFrom.
    DeployOutcome deployFrom(const std::string& host, util::FileDescriptor source, const std::string& label,
                             const std::string& fileName, bool update, uint64_t maxBytes);
    /// The same for uploaded bytes named `fileName` ("shop.sar").
    DeployOutcome deployBytes(const std::string& host, const std::string& fileName, const std::string& bytes,
                              bool update);
    DeployOutcome undeploy(const std::string& host, const std::string& path);
    DeployOutcome start(const std::string& host, const std::string& path);
    DeployOutcome stop(const std::string& host, const std::string& path);
    DeployOutcome reload(const std::string& host, const std::string& path);
    /// Every deployment (all hosts, or one) with state, times and failure reason.
    std::vector<registry::Deployment> list(const std::string& host = {}) const;
    /// Deploy events, newest first.
    std::vector<registry::DeployEvent> history(const std::string& host = {}, const std::string& path = {},
                                               size_t limit = 100) const;

    registry::Registry& registry() noexcept { return _registry; }

private:
    HostDeployer* findHost(const std::string& host);
    void watch();

    registry::Registry& _registry;
    DeployerSettings _settings;
    mutable std::mutex _mutex; ///< serialises all deploy work
    std::vector<std::unique_ptr<HostDeployer>> _hosts;
    std::thread _watcher;
    int _wakeFd = -1;              ///< eventfd: stopWatching() wakes the watcher
    util::FileDescriptor _inotify; ///< watches every autoDeploy appBase
    std::atomic<bool> _stopping{false};
};

} // namespace serval::deployer
