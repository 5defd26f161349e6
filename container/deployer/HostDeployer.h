#pragma once

#include "bundle/BundleExtractor.h"
#include "bundle/ContextName.h"
#include "deployer/ContextRunner.h"
#include "registry/Registry.h"
#include "util/FileDescriptor.h"

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace serval::deployer {

/// Settings of one Host's deployer (from <Host> in server.xml plus server-wide choices).
struct HostDeployerSettings
{
    std::string hostName = "localhost";
    std::string appBase;         ///< absolute: where bundles and exploded directories are dropped
    std::string workDir;         ///< absolute: work/<host>; versions live in <workDir>/<name>/<versionId>/
    bool deployOnStartup = true; ///< deploy what appBase holds at start-up
    bool autoDeploy = true;      ///< tick() acts on changes (otherwise only the admin API deploys)
    bundle::ExtractionLimits limits; ///< caps while unpacking
    std::string preflightBinary; ///< `BINARY preflight ...` (bundle/Preflight.h); "" skips it (unit tests)
    /// <Host preflightTimeout>: the preflight child is killed and the bundle refused after this.
    std::chrono::milliseconds preflightDeadline{10'000};
    /// <Host deployStabilityDelay>: size+mtime unchanged this long before a change is picked up.
    std::chrono::milliseconds stableFor{100};
    std::chrono::milliseconds drainTimeout{30'000}; ///< longest wait for in-flight requests of an old version
    /// Context paths the container serves itself on this host (the manager, /metrics): no app
    /// is deployed at one of them or below it, whichever way it arrives.
    std::vector<std::string> reservedPaths;
};

/// The result of an admin action: ok, or one actionable line (the same as the log's).
struct DeployOutcome
{
    /// Why an action did not happen (the admin API maps these to 404 / 409 / 400 / 422 / 500).
    enum class Problem
    {
        None,
        NotFound,
        AlreadyDeployed,
        BadRequest,
        Refused,
        IoError,
        TooLarge, ///< a copied file passed its size cap
        Reserved  ///< the context path belongs to the container (reservedPaths)
    };

    bool ok = false;
    std::string message;
    Problem problem = ok ? Problem::None : Problem::Refused;
};

/// Tomcat's HostConfig for one Host: turns what appBase holds into running Contexts and back.
///
/// Commit order of one deploy (each step can fail; a failure leaves the previous version
/// serving, and records time and reason in the registry and the log):
///   stage (unpack into <workDir>/.staging/, checksum on the way) -> validate (reads web.xml,
///   once) -> preflight (child process) ->
///   syncfs -> rename into <workDir>/<name>/<versionId>/ -> build and start the Context ->
///   swap into routing -> registry row -> drain the old version (in-flight == 0) -> stop it ->
///   remove its directory.
/// A crash at any point leaves either the old or the new version complete: start-up
/// reconciliation (startup()) removes staging leftovers and version directories without a
/// registry row, and brings back what was running.
///
/// THREADS: not thread-safe; the Deployer calls everything under its mutex (the watcher
/// thread's tick and admin requests).
class HostDeployer
{
public:
    HostDeployer(HostDeployerSettings settings, ContextRunner& runner, registry::Registry& registry);
    ~HostDeployer();
    HostDeployer(const HostDeployer&) = delete;
    HostDeployer& operator=(const HostDeployer&) = delete;

    const HostDeployerSettings& settings() const noexcept { return _settings; }

    /// Start-up: reconcile work/ with the registry, bring back what ran, keep stopped apps
    /// stopped, and (deployOnStartup) deploy everything else appBase holds.
    void startup();

    /// One scan of appBase at time `now` (the watcher calls it on inotify events and every
    /// second; tests call it directly). Deploys, redeploys and undeploys what changed.
    /// Returns true if something is waiting to become stable (call again after stableFor).
    bool tick(std::chrono::steady_clock::time_point now);

    /// Deploys what `source` is open on (a deploy by server path, opened without following
    /// links): a regular file is copied as bundle `fileName` ("shop.sar"), at most `maxBytes` of
    /// it (TooLarge beyond); a directory is copied by the bundle rules as exploded app
    /// `fileName` ("shop"); anything else (a FIFO, device, socket) is refused before one byte is
    /// read. Refused if the context path is taken and `update` is false. `label` names the
    /// source in messages. The copy waits under a hidden name in appBase and moves to `fileName`
    /// only once it serves: a refused deploy leaves nothing in appBase.
    DeployOutcome deployFrom(util::FileDescriptor source, const std::string& label,
                             const std::string& fileName, bool update, uint64_t maxBytes);
    /// deployFrom() for a file of this server (`fileName` default: its own name), capped by the
    /// Host's maxBundleBytes.
    DeployOutcome deployFile(const std::string& bundlePath, const std::string& fileName, bool update);
    /// The same for uploaded bytes.
    DeployOutcome deployBytes(const std::string& fileName, const std::string& bytes, bool update);
    /// Takes the context out of routing, stops it and deletes its bundle (or directory) from appBase.
    DeployOutcome undeploy(const std::string& path);
    DeployOutcome stop(const std::string& path);
    DeployOutcome start(const std::string& path);
    /// Deploys the current bundle again as a new version (new Context, same commit order).
    DeployOutcome reload(const std::string& path);

private:
    /// One deployable entry of appBase.
    struct Source
    {
        bundle::ContextName name;
        std::string fileName; ///< "shop##2.sar" or "docs"
        std::string fullPath;
        bool bundle = false;
        bool hasLibraries = false; ///< exploded directory with WEB-INF/lib/*.so
        bool copyAlways = false;   ///< an admin deploy: runs from a copy even if static-only
        std::string fingerprint;   ///< changes when the bundle (or web.xml / a library) changes
    };
    /// What runs (or is stopped) at one context path.
    struct Deployed
    {
        Source source;
        std::string versionId;
        std::string versionDir; ///< "" when served straight from appBase (static-only directory)
        std::string checksum;
        std::shared_ptr<ContextHandle> context; ///< nullptr while stopped since start-up
        bool stopped = false;
    };
    struct Observation
    {
        std::string fingerprint;
        std::chrono::steady_clock::time_point since;
    };

    std::vector<Source> scan() const;
    bool fingerprintOf(Source& source) const;
    std::string contextDir(const bundle::ContextName& name) const;
    DeployOutcome deploySource(const Source& source, const char* event);
    DeployOutcome fail(const Source& source, const std::string& reason);
    /// The NotFound outcomes of the admin actions, worded once.
    DeployOutcome notDeployed(const std::string& path) const;
    static DeployOutcome bundleGone(const std::string& path);
    /// Drains, stops and releases `old` (the last reference), reports a library that stayed
    /// mapped on the row (path, version), and removes `versionDir`.
    void retire(std::shared_ptr<ContextHandle> old, const std::string& versionDir, const std::string& path,
                const std::string& version);
    void undeployPath(const std::string& path, const std::string& why);
    const Source* newestSource(const std::vector<Source>& sources, const std::string& path) const;
    /// The result points into `sources`: a temporary would leave it dangling.
    const Source* newestSource(std::vector<Source>&& sources, const std::string& path) const = delete;
    /// Deploys what `tempPath` (a hidden name in appBase) holds as `fileName`, then moves it there.
    DeployOutcome install(const std::string& fileName, const std::string& tempPath, bool update);
    /// Renames `tempPath` to `target` in appBase, a directory replacing the one there.
    bool moveIntoAppBase(const std::string& tempPath, const std::string& target);
    /// The reserved path `path` equals or lies below, or nullptr.
    const std::string* reservedFor(const std::string& path) const;
    DeployOutcome refuseReserved(const std::string& label, const bundle::ContextName& name,
                                 const std::string& reserved) const;
    std::string makeVersionId(const bundle::ContextName& name, const std::string& checksum);

    HostDeployerSettings _settings;
    ContextRunner& _runner;
    registry::Registry& _registry;
    bundle::BundleExtractor _extractor;
    std::map<std::string, Deployed> _deployed;    ///< by context path
    std::map<std::string, Observation> _observed; ///< by file name in appBase
    std::map<std::string, std::string> _failed;   ///< file name -> fingerprint that failed
    uint64_t _sequence = 0;
};

} // namespace serval::deployer
