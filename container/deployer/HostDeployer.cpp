#include "deployer/HostDeployer.h"

#include "bundle/BundleValidator.h"
#include "bundle/Checksum.h"
#include "bundle/Preflight.h"
#include "deployer/CrashPoint.h"
#include "util/FileDescriptor.h"
#include "util/Log.h"
#include "util/Path.h"
#include "util/Strings.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <set>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace serval::deployer {

namespace {

constexpr const char* kLog = "deployer";
constexpr const char* kStaging = ".staging";

using bundle::ContextName;
using bundle::removeTree;
using Clock = std::chrono::steady_clock;

std::vector<std::string> listDirectory(const std::string& path)
{
    std::vector<std::string> names;
    if (DIR* dir = ::opendir(path.c_str())) {
        while (dirent* e = ::readdir(dir)) {
            std::string n = e->d_name;
            if (n != "." && n != "..") names.push_back(std::move(n));
        }
        ::closedir(dir);
    }
    std::sort(names.begin(), names.end());
    return names;
}

bool makeDirectory(const std::string& path)
{
    if (::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return true;
    return false;
}

using util::makeDirectories;

/// Flushes a directory's entries (after a rename into it) to disk.
void syncDirectory(const std::string& path)
{
    util::FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd) ::fsync(fd.get());
}

/// syncfs(): one call flushes every file just unpacked (fsync per file would cost one disk
/// flush per entry).
bool syncTree(const std::string& path)
{
    util::FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    return fd && ::syncfs(fd.get()) == 0;
}

std::string statPart(const std::string& path)
{
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return "-";
    return std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
           std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_ino);
}

int64_t elapsedMs(Clock::time_point start)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

} // namespace

HostDeployer::HostDeployer(HostDeployerSettings settings, ContextRunner& runner, registry::Registry& registry)
    : _settings(std::move(settings)), _runner(runner), _registry(registry), _extractor(_settings.limits)
{}

HostDeployer::~HostDeployer() = default;

std::string HostDeployer::contextDir(const ContextName& name) const
{
    return _settings.workDir + "/" + name.unversionedBaseName();
}

bool HostDeployer::fingerprintOf(Source& source) const
{
    if (source.bundle) {
        source.fingerprint = statPart(source.fullPath);
        return source.fingerprint != "-";
    }
    // Exploded directory: redeploy when the descriptor or a library changes; static files are
    // served live (static-only directories) or picked up by reload().
    std::string fp = "web.xml=" + statPart(source.fullPath + "/WEB-INF/web.xml");
    source.hasLibraries = false;
    for (const std::string& lib : listDirectory(source.fullPath + "/WEB-INF/lib")) {
        if (!util::endsWith(lib, ".so") && lib.find(".so.") == std::string::npos) continue;
        source.hasLibraries = true;
        fp += ";" + lib + "=" + statPart(source.fullPath + "/WEB-INF/lib/" + lib);
    }
    source.fingerprint = fp;
    return true;
}

std::vector<HostDeployer::Source> HostDeployer::scan() const
{
    std::vector<Source> out;
    std::set<std::string> bundleBases;
    for (const std::string& entry : listDirectory(_settings.appBase)) {
        auto name = ContextName::fromFileName(entry);
        if (!name) continue; // hidden files (uploads in progress: ".name.tmp") and non-deployable names
        Source source;
        source.fileName = entry;
        source.fullPath = _settings.appBase + "/" + entry;
        struct stat st;
        if (::lstat(source.fullPath.c_str(), &st) != 0) continue;
        if (S_ISREG(st.st_mode) && ContextName::isBundleFileName(entry)) {
            source.bundle = true;
        } else if (!S_ISDIR(st.st_mode)) {
            continue; // symlinks and other files are not deployable
        }
        source.name = *name;
        if (!fingerprintOf(source)) continue;
        if (source.bundle) bundleBases.insert(name->baseName);
        out.push_back(std::move(source));
    }
    // A bundle and a directory of the same name: the bundle wins (the directory is usually an
    // old unpacked copy); say so once per scan at debug level.
    out.erase(std::remove_if(out.begin(), out.end(),
                             [&](const Source& s) {
                                 bool shadowed = !s.bundle && bundleBases.count(s.name.baseName) > 0;
                                 if (shadowed) {
                                     LOG_DEBUG(kLog, _settings.appBase + "/" + s.fileName +
                                                         " is ignored: a bundle of the same name exists");
                                 }
                                 return shadowed;
                             }),
              out.end());
    return out;
}

const HostDeployer::Source* HostDeployer::newestSource(const std::vector<Source>& sources,
                                                       const std::string& path) const
{
    const Source* best = nullptr;
    for (const Source& s : sources) {
        if (s.name.path != path) continue;
        if (best == nullptr || ContextName::compareVersions(s.name.version, best->name.version) > 0)
            best = &s;
    }
    return best;
}

std::string HostDeployer::makeVersionId(const ContextName& name, const std::string& checksum)
{
    std::string id = name.version.empty() ? "v" : name.version + "-";
    id += std::to_string(registry::Registry::nowMillis()) + "-" + std::to_string(++_sequence);
    if (!checksum.empty()) id += "-" + checksum.substr(0, 12);
    return id;
}

void HostDeployer::startup()
{
    std::string staging = _settings.workDir + "/" + kStaging;
    if (!removeTree(staging)) LOG_WARN(kLog, "cannot empty " + staging + "; remove it by hand");
    if (!makeDirectories(staging)) {
        LOG_ERROR(kLog, "cannot create " + staging + ": " + std::strerror(errno) +
                            "; check that the base directory is writable");
    }

    // Admin deploys wait under hidden names in appBase until they serve (install()); a crash
    // in between leaves them behind. A directory set aside for its replacement goes back.
    for (const std::string& entry : listDirectory(_settings.appBase)) {
        if (entry.size() < 2 || entry[0] != '.') continue;
        std::string full = _settings.appBase + "/" + entry;
        if (util::endsWith(entry, ".upload")) {
            LOG_INFO(kLog, "removing " + full + " (an admin deploy interrupted before it served)");
            removeTree(full);
        } else if (util::endsWith(entry, ".previous")) {
            std::string original =
                _settings.appBase + "/" + entry.substr(1, entry.size() - 1 - std::string(".previous").size());
            struct stat st;
            if (::lstat(original.c_str(), &st) != 0 && ::rename(full.c_str(), original.c_str()) == 0) {
                LOG_INFO(kLog, "restored " + original + " (its replacement was interrupted)");
            } else {
                removeTree(full);
            }
        }
    }

    std::vector<Source> sources = scan();
    std::set<std::string> keep; // version directories that have a registry row
    for (const registry::Deployment& row : _registry.deployments(_settings.hostName)) {
        const Source* source = newestSource(sources, row.path);
        bool sameSource =
            source != nullptr && source->name.version == row.version && source->fileName == row.bundle;
        if (source == nullptr) {
            _registry.removeDeployment(row.host, row.path, row.version);
            _registry.addEvent(row.host, row.path, row.version, "undeployed",
                               row.bundle + " was removed while the server was down");
            continue;
        }
        if (!sameSource) {
            // A newer version (or another bundle) replaced it while the server was down.
            _registry.removeDeployment(row.host, row.path, row.version);
            continue;
        }
        ContextName name = source->name;
        std::string versionDir =
            row.versionId.empty() ? std::string() : contextDir(name) + "/" + row.versionId;
        struct stat st;
        bool dirPresent = !versionDir.empty() && ::stat(versionDir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
        if (row.desiredState == registry::DeploymentState::Stopped) {
            Deployed d;
            d.source = *source;
            d.versionId = row.versionId;
            d.versionDir = dirPresent ? versionDir : std::string();
            d.checksum = row.checksum;
            d.stopped = true;
            if (dirPresent) keep.insert(versionDir);
            _deployed[row.path] = d;
            _registry.setState(row.host, row.path, row.version, registry::DeploymentState::Stopped);
            LOG_INFO(kLog, "kept " + name.describe() + " stopped (stopped by an administrator)");
            continue;
        }
        if (!dirPresent || row.checksum.empty() || row.state == registry::DeploymentState::Failed) continue;
        // The version that ran before: bring it back from its directory if the bundle (or the
        // exploded directory) is unchanged: no copy, no preflight, no syncfs. Its web.xml is
        // read here, once, as a deploy reads it in validation.
        std::optional<std::string> checksum;
        if (source->bundle) {
            checksum = bundle::sha256File(source->fullPath);
        } else if (auto tree = _extractor.checksumDirectory(source->fullPath, source->fileName)) {
            checksum = std::move(*tree);
        }
        if (!checksum || *checksum != row.checksum) continue;
        auto descriptor =
            bundle::BundleValidator::readDescriptor(versionDir, source->fileName, source->bundle);
        util::Expected<std::shared_ptr<ContextHandle>> context =
            descriptor ? _runner.create(name, versionDir, *descriptor)
                       : util::Expected<std::shared_ptr<ContextHandle>>(descriptor.failure());
        if (!context) {
            LOG_WARN(kLog, "cannot restart " + name.describe() + " from " + versionDir + " (" +
                               context.error() + "); deploying the bundle again");
            continue;
        }
        _runner.route(name.path, *context);
        Deployed d;
        d.source = *source;
        d.versionId = row.versionId;
        d.versionDir = versionDir;
        d.checksum = row.checksum;
        d.context = std::move(*context);
        _deployed[row.path] = d;
        keep.insert(versionDir);
        _registry.setState(row.host, row.path, row.version, registry::DeploymentState::Running);
        _registry.addEvent(row.host, row.path, row.version, "started", "restored from " + row.versionId);
        LOG_INFO(kLog, "restored " + name.describe() + " from " + row.bundle + " (" + row.versionId + ")");
    }

    // Version directories without a registry row are leftovers of an interrupted deploy.
    for (const std::string& dirName : listDirectory(_settings.workDir)) {
        if (dirName == kStaging) continue;
        std::string dir = _settings.workDir + "/" + dirName;
        for (const std::string& version : listDirectory(dir)) {
            std::string versionDir = dir + "/" + version;
            if (keep.count(versionDir) > 0) continue;
            LOG_INFO(kLog, "removing " + versionDir + " (no registry row: left by an interrupted deploy)");
            removeTree(versionDir);
        }
    }

    if (_settings.deployOnStartup) {
        // Files present at start-up are taken as they are (no stability wait).
        for (const Source& source : sources) {
            _observed[source.fileName] = Observation{source.fingerprint, Clock::time_point::min()};
        }
        tick(Clock::now());
    }
}

bool HostDeployer::tick(Clock::time_point now)
{
    std::vector<Source> sources = scan();
    bool waiting = false;
    std::set<std::string> present;
    std::set<std::string> unstable;
    for (const Source& s : sources) {
        present.insert(s.fileName);
        auto it = _observed.find(s.fileName);
        if (it == _observed.end() || it->second.fingerprint != s.fingerprint) {
            _observed[s.fileName] = Observation{s.fingerprint, now};
            if (_settings.stableFor.count() > 0) unstable.insert(s.fileName);
        } else if (it->second.since != Clock::time_point::min() &&
                   now - it->second.since < _settings.stableFor) {
            unstable.insert(s.fileName);
        }
    }
    for (auto it = _observed.begin(); it != _observed.end();) {
        it = present.count(it->first) ? std::next(it) : _observed.erase(it);
    }
    for (auto it = _failed.begin(); it != _failed.end();) {
        if (present.count(it->first)) {
            ++it;
            continue;
        }
        // The broken file is gone: its "failed" row (a first deploy that never ran) goes too.
        auto name = ContextName::fromFileName(it->first);
        if (name && _deployed.count(name->path) == 0) {
            auto row = _registry.findDeployment(_settings.hostName, name->path, name->version);
            if (row && row->state == registry::DeploymentState::Failed) {
                _registry.removeDeployment(_settings.hostName, name->path, name->version);
            }
        }
        it = _failed.erase(it);
    }

    std::set<std::string> paths;
    for (const Source& s : sources)
        paths.insert(s.name.path);
    for (const auto& [path, deployed] : _deployed)
        paths.insert(path);

    for (const std::string& path : paths) {
        const Source* target = newestSource(sources, path);
        auto current = _deployed.find(path);
        if (target == nullptr) {
            if (current != _deployed.end())
                undeployPath(path, current->second.source.fileName + " was removed");
            continue;
        }
        if (unstable.count(target->fileName)) {
            waiting = true;
            continue;
        }
        if (current != _deployed.end()) {
            const Deployed& d = current->second;
            if (d.source.fileName == target->fileName && d.source.fingerprint == target->fingerprint)
                continue;
            if (d.stopped) continue; // a stopped app is deployed again when it is started
        }
        auto failed = _failed.find(target->fileName);
        if (failed != _failed.end() && failed->second == target->fingerprint) continue; // same broken file
        if (!_settings.autoDeploy && current != _deployed.end()) continue;
        deploySource(*target, current == _deployed.end() ? "deployed" : "redeployed");
    }
    return waiting;
}

DeployOutcome HostDeployer::fail(const Source& source, const std::string& reason)
{
    LOG_ERROR(kLog, reason);
    _failed[source.fileName] = source.fingerprint;
    const std::string& host = _settings.hostName;
    auto current = _deployed.find(source.name.path);
    try {
        // The event first: the row is what the admin page and scripts poll, and whoever sees it
        // failed must find the event too (they are two writes, not one transaction).
        _registry.addEvent(host, source.name.path, source.name.version, "failed", reason);
        if (current != _deployed.end()) {
            // The previous version keeps serving; its row carries the failure for the admin page.
            _registry.recordFailure(host, source.name.path, current->second.source.name.version, reason);
        } else {
            registry::Deployment row;
            row.host = host;
            row.path = source.name.path;
            row.version = source.name.version;
            row.bundle = source.fileName;
            row.state = registry::DeploymentState::Failed;
            row.failureReason = reason;
            row.failedAt = registry::Registry::nowMillis();
            _registry.putDeployment(row);
        }
    } catch (const std::exception& e) {
        LOG_ERROR(kLog, std::string("cannot record the failure in the registry: ") + e.what());
    }
    return DeployOutcome{false, reason};
}

const std::string* HostDeployer::reservedFor(const std::string& path) const
{
    for (const std::string& reserved : _settings.reservedPaths) {
        if (!path.empty() && util::isWithin(reserved, path)) return &reserved;
    }
    return nullptr;
}

DeployOutcome HostDeployer::refuseReserved(const std::string& label, const ContextName& name,
                                           const std::string& reserved) const
{
    return DeployOutcome{false,
                         label + ": " + name.displayPath() + " is reserved: the container serves " +
                             reserved + " (and everything below it) on host " + _settings.hostName +
                             "; give the app another name",
                         DeployOutcome::Problem::Reserved};
}

DeployOutcome HostDeployer::deploySource(const Source& source, const char* event)
{
    auto started = Clock::now();
    const ContextName& name = source.name;
    const std::string& label = source.fileName;
    if (const std::string* reserved = reservedFor(name.path)) {
        DeployOutcome refused = fail(source, refuseReserved(label, name, *reserved).message);
        refused.problem = DeployOutcome::Problem::Reserved;
        return refused;
    }
    std::string stagingRoot = _settings.workDir + "/" + kStaging;
    if (!makeDirectories(stagingRoot)) {
        return fail(source, label + ": cannot create " + stagingRoot + " (" + std::strerror(errno) +
                                "); check that the work directory is writable");
    }
    // Staged under a name unique to this attempt; the version id needs the checksum, which
    // the unpacking computes, so it is chosen after step 1.
    std::string staging = stagingRoot + "/" + name.baseName + "-" + std::to_string(++_sequence);

    // 1. Stage. Static-only exploded directories are served where they are (live edits);
    //    bundles and directories with libraries get their own copy, so every version loads
    //    its libraries from its own path (dlopen caches by path). The bundle is read once:
    //    the checksum comes from the same reads.
    bool copied = source.bundle || source.hasLibraries || source.copyAlways;
    std::string root = copied ? staging : source.fullPath;
    std::string checksum;
    if (copied) {
        util::Expected<bundle::ExtractionResult> unpacked =
            source.bundle ? _extractor.extractFile(source.fullPath, staging, label)
                          : _extractor.copyDirectory(source.fullPath, staging, label);
        if (!unpacked) return fail(source, unpacked.error());
        checksum = unpacked->sha256;
    }
    crashPoint("staged");

    // 2. Validate (web.xml is read here, once: the Context is built from this report),
    //    3. preflight (the library's code runs first in a child process).
    util::Expected<bundle::ValidationReport> report =
        bundle::BundleValidator::validate(root, label, source.bundle);
    if (!report) {
        if (copied) removeTree(staging);
        return fail(source, report.error());
    }
    if (!_settings.preflightBinary.empty()) {
        util::Expected<std::string> preflight = bundle::preflightBundle(
            _settings.preflightBinary, root, label, *report, _settings.preflightDeadline);
        if (!preflight) {
            if (copied) removeTree(staging);
            return fail(source, preflight.error());
        }
    }

    // 4. fsync, 5. rename into work/<host>/<name>/<versionId>/.
    std::string versionId = makeVersionId(name, checksum);
    std::string versionDir;
    if (copied) {
        if (!syncTree(staging)) {
            removeTree(staging);
            return fail(source,
                        label + ": cannot flush the unpacked files to disk (" + std::strerror(errno) + ")");
        }
        std::string parent = contextDir(name);
        versionDir = parent + "/" + versionId;
        if (!makeDirectory(parent) || ::rename(staging.c_str(), versionDir.c_str()) != 0) {
            std::string why = std::strerror(errno);
            removeTree(staging);
            return fail(source,
                        label + ": cannot move the unpacked bundle into " + parent + " (" + why + ")");
        }
        syncDirectory(parent);
        crashPoint("renamed");
    }
    std::string docBase = copied ? versionDir : source.fullPath;

    // 6. Build and start the new Context (not yet routed: the old version keeps serving).
    util::Expected<std::shared_ptr<ContextHandle>> created =
        _runner.create(name, docBase, report->descriptor);
    if (!created) {
        if (!versionDir.empty()) removeTree(versionDir);
        return fail(source, label + ": " + created.error());
    }
    std::shared_ptr<ContextHandle> context = std::move(*created);
    crashPoint("started");

    // 7. Swap into routing atomically.
    std::shared_ptr<ContextHandle> old = _runner.route(name.path, context);
    crashPoint("routed");

    // 8. Registry row (the old row of another version of this path goes).
    auto previous = _deployed.find(name.path);
    Deployed oldDeployed;
    bool hadOld = previous != _deployed.end();
    if (hadOld) oldDeployed = previous->second;
    registry::Deployment row;
    row.host = _settings.hostName;
    row.path = name.path;
    row.version = name.version;
    row.versionId = versionId;
    row.bundle = source.fileName;
    row.checksum = checksum;
    row.state = registry::DeploymentState::Running;
    row.deployedAt = registry::Registry::nowMillis();
    int64_t took = elapsedMs(started);
    std::string detail = source.fileName +
                         (checksum.empty() ? "" : " (sha256 " + checksum.substr(0, 12) + ")") + " in " +
                         std::to_string(took) + " ms";
    try {
        _registry.putDeployment(row);
        if (hadOld && oldDeployed.source.name.version != name.version) {
            _registry.removeDeployment(_settings.hostName, name.path, oldDeployed.source.name.version);
        }
        _registry.addEvent(_settings.hostName, name.path, name.version, event, detail);
    } catch (const std::exception& e) {
        LOG_ERROR(kLog, std::string("cannot record the deploy in the registry: ") + e.what());
    }
    crashPoint("registered");

    Deployed d;
    d.source = source;
    d.versionId = versionId;
    d.versionDir = versionDir;
    d.checksum = checksum;
    d.context = context;
    _deployed[name.path] = d;
    _failed.erase(source.fileName);
    LOG_INFO(kLog, std::string(event) + " " + name.describe() + " from " + detail);

    // 9. Drain and stop the old version, then remove its directory.
    if (old != nullptr || hadOld) {
        oldDeployed.context.reset(); // retire() must hold the last reference
        retire(std::move(old), hadOld ? oldDeployed.versionDir : std::string(), name.path, name.version);
    }
    return DeployOutcome{true, std::string(event) + " " + name.describe() + " from " + detail};
}

void HostDeployer::retire(std::shared_ptr<ContextHandle> old, const std::string& versionDir,
                          const std::string& path, const std::string& version)
{
    if (old != nullptr) {
        auto deadline = Clock::now() + _settings.drainTimeout;
        while (old->inFlight() > 0 && Clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        if (old->inFlight() > 0) {
            LOG_WARN(kLog, "stopping the old version of " + (path.empty() ? std::string("/") : path) +
                               " with " + std::to_string(old->inFlight()) +
                               " requests still in flight after " +
                               std::to_string(_settings.drainTimeout.count()) + " ms");
        }
        crashPoint("drained");
        old->stop();
        // Drop our reference: with the routing snapshot swapped and no request in flight this
        // is the last one, so the Context and its AppModules go and dlclose() runs now.
        bool mapped = old->libraryStayedMapped();
        old.reset();
        // Whether a library really left: the kernel's view. thread_local destructors and
        // STB_GNU_UNIQUE symbols keep a library mapped after dlclose().
        if (!versionDir.empty()) {
            std::string maps;
            util::FileDescriptor fd(::open("/proc/self/maps", O_RDONLY | O_CLOEXEC));
            char buffer[64 * 1024];
            ssize_t n;
            while (fd && (n = ::read(fd.get(), buffer, sizeof buffer)) > 0)
                maps.append(buffer, static_cast<size_t>(n));
            mapped = mapped || maps.find(versionDir + "/") != std::string::npos;
        }
        if (mapped) {
            LOG_WARN(kLog,
                     "the library of the old version of " + (path.empty() ? std::string("/") : path) +
                         " stayed mapped after unload (thread_local destructors or unique symbols); it is "
                         "released when the server restarts");
            try {
                auto row = _registry.findDeployment(_settings.hostName, path, version);
                if (row) {
                    row->libraryStayedMapped = true;
                    _registry.putDeployment(*row);
                }
            } catch (const std::exception& e) {
                LOG_ERROR(kLog, std::string("registry: ") + e.what());
            }
        }
    }
    if (!versionDir.empty()) removeTree(versionDir);
}

void HostDeployer::undeployPath(const std::string& path, const std::string& why)
{
    auto it = _deployed.find(path);
    if (it == _deployed.end()) return;
    Deployed d = it->second;
    _deployed.erase(it);
    d.context.reset(); // retire() must hold the last reference
    std::shared_ptr<ContextHandle> old = _runner.unroute(path);
    try {
        _registry.removeDeployment(_settings.hostName, path, d.source.name.version);
        _registry.addEvent(_settings.hostName, path, d.source.name.version, "undeployed", why);
    } catch (const std::exception& e) {
        LOG_ERROR(kLog, std::string("cannot record the undeploy in the registry: ") + e.what());
    }
    LOG_INFO(kLog, "undeployed " + d.source.name.describe() + ": " + why);
    retire(std::move(old), d.versionDir, path, d.source.name.version);
}

bool HostDeployer::moveIntoAppBase(const std::string& tempPath, const std::string& target)
{
    struct stat st;
    bool directory = ::lstat(tempPath.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    std::string aside;
    if (directory && ::lstat(target.c_str(), &st) == 0) {
        // rename() does not replace a non-empty directory: the old one steps aside first.
        aside = _settings.appBase + "/." + target.substr(target.rfind('/') + 1) + ".previous";
        removeTree(aside);
        if (::rename(target.c_str(), aside.c_str()) != 0) return false;
    }
    if (::rename(tempPath.c_str(), target.c_str()) != 0) {
        int error = errno;
        if (!aside.empty()) ::rename(aside.c_str(), target.c_str());
        errno = error;
        return false;
    }
    if (!aside.empty()) removeTree(aside);
    syncDirectory(_settings.appBase);
    return true;
}

DeployOutcome HostDeployer::install(const std::string& fileName, const std::string& tempPath, bool update)
{
    struct stat st;
    bool directory = ::lstat(tempPath.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    auto refuse = [&](DeployOutcome outcome) {
        removeTree(tempPath); // nothing of a refused deploy stays in appBase
        return outcome;
    };
    auto name = ContextName::fromFileName(fileName);
    if (!name || ContextName::isBundleFileName(fileName) == directory) {
        return refuse(
            DeployOutcome{false,
                          "\"" + fileName + "\" is not " +
                              (directory ? "an app directory name; use NAME (ROOT, shop, a#b, shop##2)"
                                         : "a bundle name; use NAME.sar (ROOT.sar, shop.sar, "
                                           "a#b.sar, shop##2.sar)"),
                          DeployOutcome::Problem::BadRequest});
    }
    if (const std::string* reserved = reservedFor(name->path)) {
        return refuse(refuseReserved(fileName, *name, *reserved));
    }
    auto current = _deployed.find(name->path);
    if (current != _deployed.end() && !update) {
        return refuse(DeployOutcome{false, name->displayPath() + " is already deployed (from " +
                                               current->second.source.fileName +
                                               "); deploy with update=true to replace it"});
    }
    std::string target = _settings.appBase + "/" + fileName;
    std::vector<Source> sources = scan();
    const Source* newest = newestSource(sources, name->path);
    if (newest != nullptr && newest->fileName != fileName &&
        ContextName::compareVersions(newest->name.version, name->version) > 0) {
        std::string message = fileName + " was stored, but " + newest->fileName + " is a newer version of " +
                              name->displayPath() + " and keeps serving";
        if (!moveIntoAppBase(tempPath, target)) {
            return refuse(DeployOutcome{false,
                                        fileName + ": cannot be written to " + _settings.appBase + " (" +
                                            std::strerror(errno) + ")",
                                        DeployOutcome::Problem::IoError});
        }
        return DeployOutcome{false, message};
    }

    Source source;
    source.name = *name;
    source.fileName = fileName;
    source.fullPath = tempPath;
    source.bundle = !directory;
    source.copyAlways = true; // the directory moves into appBase once it serves: it cannot be the docBase
    fingerprintOf(source);
    auto stopped = _deployed.find(name->path);
    if (stopped != _deployed.end() && stopped->second.stopped) stopped->second.stopped = false;
    _registry.setDesiredState(_settings.hostName, name->path, name->version,
                              registry::DeploymentState::Running);
    DeployOutcome outcome = deploySource(source, current == _deployed.end() ? "deployed" : "redeployed");
    if (!outcome.ok) return refuse(outcome);

    if (!moveIntoAppBase(tempPath, target)) {
        std::string why = std::strerror(errno);
        undeployPath(name->path, fileName + " could not be moved into appBase");
        return refuse(DeployOutcome{false,
                                    fileName + ": deployed, but cannot be moved into " + _settings.appBase +
                                        " (" + why + "); it was undeployed again",
                                    DeployOutcome::Problem::IoError});
    }
    // From here on the watcher sees it in appBase, unchanged: nothing to redeploy.
    Deployed& deployed = _deployed[name->path];
    deployed.source.fullPath = target;
    fingerprintOf(deployed.source);
    _observed[fileName] = Observation{deployed.source.fingerprint, Clock::time_point::min()};
    return outcome;
}

DeployOutcome HostDeployer::deployFrom(util::FileDescriptor source, const std::string& label,
                                       const std::string& fileName, bool update, uint64_t maxBytes)
{
    struct stat st;
    if (!source || ::fstat(source.get(), &st) != 0) {
        return DeployOutcome{false, label + ": cannot be read (" + std::strerror(errno) + ")",
                             DeployOutcome::Problem::IoError};
    }
    if (fileName.empty() || fileName.find('/') != std::string::npos || fileName[0] == '.') {
        return DeployOutcome{false, "\"" + fileName + "\" is not a bundle name; use NAME.sar",
                             DeployOutcome::Problem::BadRequest};
    }
    // Copied next to the target under a hidden name (the scanner ignores it).
    std::string temp = _settings.appBase + "/." + fileName + ".upload";
    removeTree(temp);
    if (S_ISDIR(st.st_mode)) {
        util::Expected<bundle::ExtractionResult> copied = _extractor.copyDirectory(source.get(), temp, label);
        if (!copied) return DeployOutcome{false, copied.error()};
        return install(fileName, temp, update);
    }
    if (!S_ISREG(st.st_mode)) {
        return DeployOutcome{false,
                             label +
                                 " is not a regular file or a directory (a device, FIFO or socket); name a "
                                 "bundle or an exploded app directory",
                             DeployOutcome::Problem::BadRequest};
    }
    util::FileDescriptor out(
        ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!out)
        return DeployOutcome{false, temp + ": cannot be written (" + std::strerror(errno) + ")",
                             DeployOutcome::Problem::IoError};
    auto abandon = [&](DeployOutcome outcome) {
        ::unlink(temp.c_str());
        return outcome;
    };
    uint64_t copied = 0;
    char buffer[64 * 1024];
    while (true) {
        ssize_t n = ::read(source.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
            return abandon(DeployOutcome{false, label + ": cannot be read (" + std::strerror(errno) + ")",
                                         DeployOutcome::Problem::IoError});
        if (n == 0) break;
        copied += static_cast<uint64_t>(n);
        if (copied > maxBytes) {
            return abandon(DeployOutcome{false,
                                         label + " is larger than " + std::to_string(maxBytes) +
                                             " bytes, the largest bundle this server accepts",
                                         DeployOutcome::Problem::TooLarge});
        }
        for (const char* p = buffer; n > 0;) {
            ssize_t w = ::write(out.get(), p, static_cast<size_t>(n));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0)
                return abandon(DeployOutcome{false,
                                             temp + ": cannot be written (" + std::strerror(errno) + ")",
                                             DeployOutcome::Problem::IoError});
            p += w;
            n -= w;
        }
    }
    ::fsync(out.get());
    return install(fileName, temp, update);
}

DeployOutcome HostDeployer::deployFile(const std::string& bundlePath, const std::string& fileName,
                                       bool update)
{
    std::string name = fileName.empty() ? bundlePath.substr(bundlePath.rfind('/') + 1) : fileName;
    util::FileDescriptor in(
        ::open(bundlePath.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (!in)
        return DeployOutcome{false, bundlePath + ": cannot be read (" + std::strerror(errno) + ")",
                             DeployOutcome::Problem::IoError};
    return deployFrom(std::move(in), bundlePath, name, update, _settings.limits.maxTotalBytes);
}

DeployOutcome HostDeployer::deployBytes(const std::string& fileName, const std::string& bytes, bool update)
{
    if (fileName.find('/') != std::string::npos || fileName.empty() || fileName[0] == '.') {
        return DeployOutcome{false, "\"" + fileName + "\" is not a bundle name; use NAME.sar",
                             DeployOutcome::Problem::BadRequest};
    }
    std::string temp = _settings.appBase + "/." + fileName + ".upload";
    removeTree(temp);
    util::FileDescriptor out(
        ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!out)
        return DeployOutcome{false, temp + ": cannot be written (" + std::strerror(errno) + ")",
                             DeployOutcome::Problem::IoError};
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::write(out.get(), bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            ::unlink(temp.c_str());
            return DeployOutcome{false, temp + ": cannot be written (" + std::strerror(errno) + ")",
                                 DeployOutcome::Problem::IoError};
        }
        done += static_cast<size_t>(n);
    }
    ::fsync(out.get());
    return install(fileName, temp, update);
}

DeployOutcome HostDeployer::notDeployed(const std::string& path) const
{
    return DeployOutcome{
        false, (path.empty() ? std::string("/") : path) + " is not deployed on " + _settings.hostName,
        DeployOutcome::Problem::NotFound};
}

DeployOutcome HostDeployer::bundleGone(const std::string& path)
{
    return DeployOutcome{false,
                         (path.empty() ? std::string("/") : path) + ": its bundle is gone from appBase",
                         DeployOutcome::Problem::NotFound};
}

DeployOutcome HostDeployer::undeploy(const std::string& path)
{
    auto it = _deployed.find(path);
    if (it == _deployed.end()) return notDeployed(path);
    Source source = it->second.source;
    std::string display = source.name.describe();
    undeployPath(path, "undeployed by an administrator");
    // Delete every version of this path from appBase, or the next scan would deploy it again.
    for (const Source& s : scan()) {
        if (s.name.path != path) continue;
        if (!(s.bundle ? ::unlink(s.fullPath.c_str()) == 0 : removeTree(s.fullPath))) {
            LOG_WARN(kLog,
                     "cannot delete " + s.fullPath + " (" + std::strerror(errno) + "); delete it by hand");
        }
    }
    return DeployOutcome{true, "undeployed " + display};
}

DeployOutcome HostDeployer::stop(const std::string& path)
{
    auto it = _deployed.find(path);
    if (it == _deployed.end()) return notDeployed(path);
    Deployed& d = it->second;
    if (d.context) d.context->stop();
    d.stopped = true;
    _registry.setDesiredState(_settings.hostName, path, d.source.name.version,
                              registry::DeploymentState::Stopped);
    _registry.setState(_settings.hostName, path, d.source.name.version, registry::DeploymentState::Stopped);
    _registry.addEvent(_settings.hostName, path, d.source.name.version, "stopped", "by an administrator");
    LOG_INFO(kLog, "stopped " + d.source.name.describe());
    return DeployOutcome{true, "stopped " + d.source.name.describe()};
}

DeployOutcome HostDeployer::start(const std::string& path)
{
    auto it = _deployed.find(path);
    if (it == _deployed.end()) return notDeployed(path);
    Deployed& d = it->second;
    _registry.setDesiredState(_settings.hostName, path, d.source.name.version,
                              registry::DeploymentState::Running);
    d.stopped = false;
    // Stopped since start-up, or its bundle changed while stopped: deploy the current bundle.
    std::vector<Source> sources = scan();
    const Source* current = newestSource(sources, path);
    if (!d.context || current == nullptr || current->fileName != d.source.fileName ||
        current->fingerprint != d.source.fingerprint) {
        if (current == nullptr) return bundleGone(path);
        return deploySource(*current, "started");
    }
    util::Outcome restarted = d.context->start();
    if (!restarted) {
        _registry.setState(_settings.hostName, path, d.source.name.version, registry::DeploymentState::Failed,
                           restarted.error());
        return DeployOutcome{false, restarted.error()};
    }
    _registry.setState(_settings.hostName, path, d.source.name.version, registry::DeploymentState::Running);
    _registry.addEvent(_settings.hostName, path, d.source.name.version, "started", "by an administrator");
    LOG_INFO(kLog, "started " + d.source.name.describe());
    return DeployOutcome{true, "started " + d.source.name.describe()};
}

DeployOutcome HostDeployer::reload(const std::string& path)
{
    auto it = _deployed.find(path);
    if (it == _deployed.end()) return notDeployed(path);
    std::vector<Source> sources = scan();
    const Source* current = newestSource(sources, path);
    if (current == nullptr) return bundleGone(path);
    it->second.stopped = false;
    _registry.setDesiredState(_settings.hostName, path, current->name.version,
                              registry::DeploymentState::Running);
    return deploySource(*current, "reloaded");
}

} // namespace serval::deployer
