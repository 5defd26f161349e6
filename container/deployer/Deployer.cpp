#include "deployer/Deployer.h"

#include "util/FileDescriptor.h"
#include "util/Log.h"
#include "util/Strings.h"

#include <algorithm>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

namespace serval::deployer {

namespace {
constexpr const char* kLog = "deployer";
}

Deployer::Deployer(registry::Registry& registry, DeployerSettings settings)
    : _registry(registry), _settings(settings)
{}

Deployer::~Deployer()
{
    stopWatching();
}

void Deployer::addHost(HostDeployerSettings settings, ContextRunner& runner)
{
    std::lock_guard<std::mutex> lock(_mutex);
    _hosts.push_back(std::make_unique<HostDeployer>(std::move(settings), runner, _registry));
}

HostDeployer* Deployer::findHost(const std::string& host)
{
    for (auto& h : _hosts) {
        if (util::equalsIgnoreCase(h->settings().hostName, host)) return h.get();
    }
    return nullptr;
}

void Deployer::startup()
{
    std::lock_guard<std::mutex> lock(_mutex);
    for (auto& host : _hosts) {
        try {
            host->startup();
        } catch (const std::exception& e) {
            LOG_ERROR(kLog,
                      "start-up deployment of host " + host->settings().hostName + " failed: " + e.what());
        }
    }
}

bool Deployer::tick()
{
    std::lock_guard<std::mutex> lock(_mutex);
    bool waiting = false;
    auto now = std::chrono::steady_clock::now();
    for (auto& host : _hosts) {
        if (!host->settings().autoDeploy) continue;
        try {
            waiting = host->tick(now) || waiting;
        } catch (const std::exception& e) {
            LOG_ERROR(kLog, "scanning " + host->settings().appBase + " failed: " + e.what());
        }
    }
    return waiting;
}

void Deployer::startWatching()
{
    if (_watcher.joinable()) return;
    _stopping = false;
    _wakeFd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    // inotify tells us quickly that appBase changed; the periodic scan covers what inotify
    // misses (changes inside exploded directories, overflowed queues, network file systems).
    // The watches exist before this returns, so nothing dropped afterwards is missed.
    _inotify.reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    {
        std::lock_guard<std::mutex> lock(_mutex);
        for (auto& host : _hosts) {
            if (!host->settings().autoDeploy) continue;
            if (_inotify && ::inotify_add_watch(_inotify.get(), host->settings().appBase.c_str(),
                                                IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM |
                                                    IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB) < 0) {
                LOG_WARN(kLog, "cannot watch " + host->settings().appBase + "; relying on the periodic scan");
            }
        }
    }
    _watcher = std::thread([this] { watch(); });
}

void Deployer::stopWatching()
{
    if (!_watcher.joinable()) return;
    _stopping = true;
    uint64_t one = 1;
    ssize_t ignored = ::write(_wakeFd, &one, sizeof one);
    (void)ignored;
    _watcher.join();
    ::close(_wakeFd);
    _wakeFd = -1;
    _inotify.reset();
}

void Deployer::watch()
{
    int inotifyFd = _inotify.get();
    // The shortest <Host deployStabilityDelay> of the watched hosts paces the looks while a
    // file settles (at most one scan interval apart, at least 5 ms).
    std::chrono::milliseconds stableFor = _settings.scanInterval;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        for (auto& host : _hosts) {
            if (host->settings().autoDeploy) stableFor = std::min(stableFor, host->settings().stableFor);
        }
    }
    stableFor = std::max<std::chrono::milliseconds>(stableFor, std::chrono::milliseconds(5));
    bool waiting = false;
    while (!_stopping) {
        // Something is settling: look again once it may be stable; else wait for an event.
        auto timeout = waiting ? stableFor : _settings.scanInterval;
        pollfd fds[2] = {{_wakeFd, POLLIN, 0}, {inotifyFd, POLLIN, 0}};
        int n = ::poll(fds, inotifyFd >= 0 ? 2 : 1, static_cast<int>(timeout.count()));
        if (_stopping) break;
        if (n > 0 && (fds[1].revents & POLLIN)) {
            char buffer[8192];
            while (::read(inotifyFd, buffer, sizeof buffer) > 0) {
            }
        }
        waiting = tick();
    }
}

DeployOutcome Deployer::deployFrom(const std::string& host, util::FileDescriptor source,
                                   const std::string& label, const std::string& fileName, bool update,
                                   uint64_t maxBytes)
{
    std::lock_guard<std::mutex> lock(_mutex);
    HostDeployer* h = findHost(host);
    if (h == nullptr)
        return DeployOutcome{false, "no host \"" + host + "\"; use a <Host> name from server.xml",
                             DeployOutcome::Problem::NotFound};
    return h->deployFrom(std::move(source), label, fileName, update, maxBytes);
}

DeployOutcome Deployer::deployBytes(const std::string& host, const std::string& fileName,
                                    const std::string& bytes, bool update)
{
    std::lock_guard<std::mutex> lock(_mutex);
    HostDeployer* h = findHost(host);
    if (h == nullptr)
        return DeployOutcome{false, "no host \"" + host + "\"; use a <Host> name from server.xml",
                             DeployOutcome::Problem::NotFound};
    return h->deployBytes(fileName, bytes, update);
}

#define SERVAL_HOST_ACTION(method)                                                                           \
    DeployOutcome Deployer::method(const std::string& host, const std::string& path)                         \
    {                                                                                                        \
        std::lock_guard<std::mutex> lock(_mutex);                                                            \
        HostDeployer* h = findHost(host);                                                                    \
        if (h == nullptr)                                                                                    \
            return DeployOutcome{false, "no host \"" + host + "\"; use a <Host> name from server.xml",       \
                                 DeployOutcome::Problem::NotFound};                                          \
        try {                                                                                                \
            return h->method(path);                                                                          \
        } catch (const std::exception& e) {                                                                  \
            return DeployOutcome{false, e.what()};                                                           \
        }                                                                                                    \
    }
SERVAL_HOST_ACTION(undeploy)
SERVAL_HOST_ACTION(start)
SERVAL_HOST_ACTION(stop)
SERVAL_HOST_ACTION(reload)
#undef SERVAL_HOST_ACTION

std::vector<registry::Deployment> Deployer::list(const std::string& host) const
{
    return _registry.deployments(host);
}

std::vector<registry::DeployEvent> Deployer::history(const std::string& host, const std::string& path,
                                                     size_t limit) const
{
    return _registry.history(host, path, limit);
}

} // namespace serval::deployer
