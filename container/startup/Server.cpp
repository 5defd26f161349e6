#include "startup/Server.h"

#include "app/AppLoader.h"
#include "config/ConfigError.h"
#include "connector/Graveyard.h"
#include "realm/Secrets.h"
#include "servlets/DefaultServlet.h"
#include "servlets/MimeTypes.h"
#include "util/FileDescriptor.h"
#include "util/Log.h"
#include "util/Path.h"
#include "util/Strings.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace serval::startup {
namespace {

/// mkdir -p of the directory holding `file`; errors surface when the file is opened.
void makeParentDirectories(const std::string& file)
{
    size_t slash = file.rfind('/');
    if (slash == std::string::npos || slash == 0) return;
    util::makeDirectories(file.substr(0, slash));
}

constexpr size_t kSecretBytes = 32;

bool readSecret(const std::string& path, std::string& secret)
{
    util::FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) return false;
    secret.assign(kSecretBytes + 1, '\0');
    ssize_t n = ::read(fd.get(), secret.data(), secret.size());
    if (n != static_cast<ssize_t>(kSecretBytes)) {
        throw std::runtime_error(path + " is not a " + std::to_string(kSecretBytes) +
                                 "-byte server secret; remove it (a new one is made at the next start, and "
                                 "cookies apps signed with the old one stop being valid)");
    }
    secret.resize(kSecretBytes);
    return true;
}

} // namespace

std::string listeningUrl(const std::string& address, uint16_t port, bool tls)
{
    bool v6 = address.find(':') != std::string::npos;
    return std::string(tls ? "https://" : "http://") + (v6 ? "[" + address + "]" : address) + ":" +
           std::to_string(port) + "/";
}

Server::Server(config::ServerConfig config) : _config(std::move(config)) {}

namespace {

/// The admin pool: the page, its API and /metrics are light; two threads keep one slow
/// request (a deploy, a big upload) from blocking the page.
constexpr uint32_t kAdminThreads = 2;
constexpr uint32_t kAdminQueue = 64;

/// A hard stop gives `object` up without destroying it (connector::keepForever).
template <typename T> void keepForever(std::unique_ptr<T> object)
{
    if (object) connector::keepForever(std::shared_ptr<T>(std::move(object)));
}

} // namespace

Server::~Server()
{
    stop();
}

std::string Server::readOrCreateSecret(const std::string& path)
{
    std::string secret;
    if (readSecret(path, secret)) return secret;
    makeParentDirectories(path);
    secret = realm::randomBytes(kSecretBytes);
    util::FileDescriptor fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) {
        if (errno == EEXIST && readSecret(path, secret)) return secret; // another server made it first
        throw std::runtime_error("cannot create the server secret " + path + ": " + std::strerror(errno) +
                                 "; check that data/ is writable");
    }
    if (::write(fd.get(), secret.data(), secret.size()) != static_cast<ssize_t>(secret.size()) ||
        ::fsync(fd.get()) != 0) {
        throw std::runtime_error("cannot write the server secret " + path + ": " + std::strerror(errno));
    }
    return secret;
}

core::ContextServices Server::contextServices(core::SessionAccessFactory sessions, std::string signingSecret)
{
    core::ContextServices services;
    services.sessions = std::move(sessions);
    services.signingSecret = std::move(signingSecret);
    services.appLoader = &app::loadAppModule;
    services.defaultServlet = servlets::defaultServletFactory();
    return services;
}

config::WebAppConfig Server::readWebXmlDefaults(const std::string& base)
{
    return config::readDefaultWebXml(base + "/conf/web.xml");
}

void Server::openLogs()
{
    util::Log::setLevel(_config.logLevel);
    if (!_config.logFile.empty()) {
        makeParentDirectories(_config.logFile);
        if (!util::Log::openFile(_config.logFile, true)) {
            throw std::runtime_error("cannot open the server log " + _config.logFile + ": " +
                                     std::strerror(errno) +
                                     "; fix the directory's permissions or set logFile in conf/server.xml");
        }
    }
}

valves::AccessLog* Server::accessLog(const std::string& path)
{
    if (path.empty()) return nullptr;
    auto& log = _accessLogs[path];
    if (!log) {
        makeParentDirectories(path);
        log = std::make_unique<valves::AccessLog>(path);
    }
    return log.get();
}

void Server::deployApplications()
{
    // The Deployer: registry (data/serval.db), start-up reconciliation, deployOnStartup, and the
    // appBase watcher (autoDeploy). Before the Engine starts, so the first request finds the apps.
    uint64_t maxBodySize = _config.connectors.front().maxBodySize;
    _deployment =
        std::make_unique<deployer::ServerDeployment>(_config, *_engine, _webXmlDefaults, maxBodySize);
    _deployment->start();
    for (const auto& host : _engine->hosts()) {
        LOG_INFO("host:" + host->name(),
                 std::to_string(host->contexts().size()) + " application(s) in " + host->appBase());
    }
}

void Server::installManager()
{
    if (!_config.manager.enabled) return;
#ifdef SERVAL_VERSION
    std::string version = SERVAL_VERSION;
#else
    std::string version = "0.0.0";
#endif
    _manager = std::make_unique<manager::Manager>(*_engine, _config, version);
    _adminPool = std::make_unique<connector::WorkerPool>(kAdminThreads, kAdminQueue, "serval-admin");
    _adminPool->start();
    _manager->setDispatchLane(*_adminPool);
    _manager->backend().setDeployer(&_deployment->deployer());
    _manager->backend().setDataSources(&_deployment->dataSources());
    _managerSessions = std::make_unique<ManagerSessions>(
        *_sessions, [processes = _processes.get()](std::map<std::string, session::SessionStoreStats>& into) {
            if (processes != nullptr) processes->addSessionStoreStats(into);
        });
    _manager->backend().setSessions(_managerSessions.get());
    // The Connectors are all constructed before this is called and the vector does not change
    // until stop(), after every request has finished: reading it from worker threads is safe.
    _manager->backend().setStatusSource([this](manager::ServerStatus& status) {
        for (const auto& connector : _connectors) {
            connector::ConnectorStats stats = connector->stats();
            manager::ConnectorInfo info;
            info.address = connector->boundAddress();
            info.port = connector->boundPort();
            info.openConnections = stats.openConnections;
            info.requests = stats.requests;
            info.bytesIn = stats.bytesIn;
            info.bytesOut = stats.bytesOut;
            if (const auto& tls = connector->tls()) {
                info.tls = true;
                for (connector::tls::CertificateInfo& c : tls->certificates()) {
                    info.certificates.push_back(manager::CertificateStatus{
                        std::move(c.where), std::move(c.certificateFile), std::move(c.hostNames),
                        std::move(c.subject), std::move(c.subjectAltNames), std::move(c.keyType), c.notAfter,
                        std::move(c.lastError)});
                }
            }
            status.connectors.push_back(std::move(info));
            status.workerThreads += stats.workerThreads;
            status.workersBusy += stats.workersBusy;
            status.workQueued += stats.workersQueued;
        }
    });
    _manager->install();
}

void Server::startInternal()
{
    openLogs();
    _webXmlDefaults = readWebXmlDefaults(_config.base);

    // The session stores open before any app starts: a Context finds its sessions at start().
    _sessions = std::make_unique<session::SessionService>(_config);
    std::string base = _config.base.empty() ? std::string(".") : _config.base;
    std::string signingSecret = readOrCreateSecret(base + "/data/serval.key");
    process::ProcessManagerSettings processes;
    processes.registryPath = base + "/data/serval.db";
    processes.defaultsWebXml = _config.base + "/conf/web.xml";
    processes.logFile = _config.logFile;
    processes.logLevel = _config.logLevel;
    processes.workerThreads = _config.connectors.front().workerThreads;
    processes.signingSecret = signingSecret; // an isolated app signs as an in-process one
    for (const config::HostConfig& host : _config.engine.hosts)
        processes.sessionStores[host.name] = host.sessions; // its workers open the same store
    processes.jvmRoute = _config.engine.jvmRoute;
    _processes = std::make_unique<process::ProcessManager>(processes);
    core::ContextServices services = contextServices(_sessions->factory(), std::move(signingSecret));
    services.remoteApplication = _processes->factory();
    _engine = std::make_unique<core::Engine>(_config.engine.defaultHost, std::move(services));
    for (const config::HostConfig& hostConfig : _config.engine.hosts) {
        auto host = std::make_shared<core::Host>(hostConfig);
        if (valves::AccessLog* log = accessLog(hostConfig.accessLog.value_or(_config.accessLog))) {
            host->setAccessLog(
                [log](const http::HttpExchange& exchange, uint64_t bytes) { log->log(exchange, bytes); });
        }
        _engine->addHost(std::move(host));
    }
    // The Connectors are built (not started) before the deploy: each isolated app gets one lane
    // per I/O loop they will run.
    unsigned nextLoop = 0; // http::Loop::index() is dense across every Connector
    for (const config::ConnectorConfig& connectorConfig : _config.connectors) {
        _connectors.push_back(std::make_unique<connector::Connector>(connectorConfig, *_engine, nextLoop));
        // Forwarding moves onto each loop before that loop accepts: a client that connects the
        // moment the port opens must find its lanes there, not on the manager's thread.
        _connectors.back()->setLoopStartHook([this](http::Loop& loop) { _processes->bindLoop(loop); });
        _connectors.back()->setHostAliases([this](const std::string& name) {
            for (const config::HostConfig& host : _config.engine.hosts) {
                if (util::toLower(host.name) == name) return host.aliases;
            }
            return std::vector<std::string>{};
        });
        _connectors.back()->setKnownHosts([this](const std::string& name) {
            auto matches = [&name](const std::string& configured) {
                std::string lower = util::toLower(configured);
                if (lower == name) return true;
                size_t dot = name.find('.');
                return lower.rfind("*.", 0) == 0 && dot != std::string::npos &&
                       name.substr(dot + 1) == lower.substr(2);
            };
            for (const config::HostConfig& host : _config.engine.hosts) {
                if (matches(host.name)) return true;
                for (const std::string& alias : host.aliases) {
                    if (matches(alias)) return true;
                }
            }
            return false;
        });
        nextLoop += _connectors.back()->loopCount();
    }
    _processes->start(nextLoop);
    deployApplications();
    if (!_engine->start()) throw std::runtime_error(_engine->failureReason());
    installManager();
    _sessions->start();
    for (const auto& connector : _connectors) {
        connector->start(); // throws one actionable line (address in use, permission denied)
        // Written whatever logLevel says: scripts and tests wait for this line (the CLI contract).
        util::Log::write(util::LogLevel::Info, "server",
                         "listening on " + listeningUrl(connector->boundAddress(), connector->boundPort(),
                                                        connector->tls() != nullptr));
    }
}

std::vector<http::Loop*> Server::loops() const
{
    std::vector<http::Loop*> all;
    for (const auto& connector : _connectors) {
        std::vector<http::Loop*> loops = connector->loops();
        all.insert(all.end(), loops.begin(), loops.end());
    }
    return all;
}

void Server::stopInternal() noexcept
{
    // Reverse order: stop accepting and drain first, while the apps still answer.
    _drainReport = {};
    // The drain ends before shutdownTimeout does (2 s before, for the apps to stop after it):
    // with both at 10 s, whatever the drain deadline was there to close (a client holding a
    // stream open, an upload that stalled) made the stop outlive shutdownTimeout and exit 1.
    const uint32_t shutdownMs = config().shutdownTimeoutMs;
    for (auto it = _connectors.rbegin(); it != _connectors.rend(); ++it) {
        uint32_t drainMs = (*it)->config().drainTimeoutMs;
        if (shutdownMs != 0) drainMs = std::min(drainMs, shutdownMs > 2000 ? shutdownMs - 2000 : 0u);
        connector::DrainReport report = (*it)->stop(std::chrono::milliseconds(drainMs)); // by its deadline
        _drainReport.unfinished.insert(_drainReport.unfinished.end(), report.unfinished.begin(),
                                       report.unfinished.end());
    }
    // Before the loops are destroyed: a lane's task posted meanwhile (the supervisor's tick)
    // must find its ConnectorLoop ended, not a pointer to a freed loop.
    if (_processes) _processes->loopsEnded(); // the lanes drain on the manager's thread
    _connectors.clear();
    if (!_drainReport.clean()) {
        // Handlers still run app and container code: stopping the apps would unload code under
        // them. Keep everything they may touch; main() exits the process now.
        LOG_ERROR("server", std::to_string(_drainReport.unfinished.size()) +
                                " request(s) still running after the drain deadline; the applications "
                                "are not stopped");
        keepForever(std::move(_adminPool));
        keepForever(std::move(_manager));
        keepForever(std::move(_deployment));
        keepForever(std::move(_engine));
        keepForever(std::move(_processes)); // the isolated Contexts point at it
        for (auto& [path, log] : _accessLogs)
            keepForever(std::move(log));
        _accessLogs.clear();
        return;
    }
    if (_adminPool) _adminPool->stop();   // the Connectors handed every admin request back
    if (_deployment) _deployment->stop(); // no deploy runs while the Engine stops
    if (_engine) _engine->stop();
    if (_sessions) _sessions->stop(); // no expiry notice after the apps stopped
    _manager.reset();                 // after the Engine stopped: its Contexts no longer serve
    _managerSessions.reset();
    _deployment.reset();
    _engine.reset();
    _sessions.reset();                  // after every Context: commits still queued finish first
    _adminPool.reset();                 // after the Engine: the manager's Contexts point at it
    if (_processes) _processes->stop(); // every Context, and so every worker, has stopped
    _processes.reset();
    _accessLogs.clear(); // flushes
}

} // namespace serval::startup
