#include "startup/Server.h"

#include "app/AppLoader.h"
#include "config/ConfigError.h"
#include "servlets/DefaultServlet.h"
#include "servlets/MimeTypes.h"
#include "util/Log.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <sys/stat.h>

namespace serval::startup {
namespace {

/// mkdir -p of the directory holding `file`; errors surface when the file is opened.
void makeParentDirectories(const std::string& file)
{
    size_t slash = file.rfind('/');
    if (slash == std::string::npos || slash == 0) return;
    std::string dir = file.substr(0, slash);
    for (size_t i = 1; i <= dir.size(); ++i) {
        if (i == dir.size() || dir[i] == '/') ::mkdir(dir.substr(0, i).c_str(), 0755);
    }
}

} // namespace

std::string listeningUrl(const std::string& address, uint16_t port)
{
    bool v6 = address.find(':') != std::string::npos;
    return "http://" + (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port) + "/";
}

Server::Server(config::ServerConfig config) : _config(std::move(config)) {}

Server::~Server()
{
    stop();
}

core::ContextServices Server::contextServices()
{
    core::ContextServices services;
    services.appLoader = &app::loadAppModule;
    services.defaultServlet = [](const core::Context& context) -> std::unique_ptr<core::Servlet> {
        servlets::StaticConfig config;
        config.docBase = context.docBase();
        config.welcomeFiles = context.webXml().welcomeFiles;
        config.mimeTypes = servlets::mimeTypesFromMap(context.webXml().mimeMappings);
        return std::make_unique<servlets::DefaultServlet>(std::move(config));
    };
    return services;
}

config::WebAppConfig Server::readWebXmlDefaults(const std::string& base)
{
    std::string path = base + "/conf/web.xml";
    struct stat st
    {
    };
    if (::stat(path.c_str(), &st) == 0) return config::readWebXml(path, "conf/web.xml");
    config::WebAppConfig defaults; // no conf/web.xml: index.html and no MIME table beyond the default type
    defaults.source = "conf/web.xml";
    defaults.welcomeFiles = {"index.html"};
    return defaults;
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
    _manager->backend().setDeployer(&_deployment->deployer());
    _manager->backend().setDataSources(&_deployment->dataSources());
    // The Connectors are all constructed before this is called and the vector does not change
    // until stop(), after every request has finished: reading it from worker threads is safe.
    _manager->backend().setStatusSource([this](manager::ServerStatus& status) {
        for (const auto& connector : _connectors) {
            connector::ConnectorStats stats = connector->stats();
            status.connectors.push_back(
                manager::ConnectorInfo{connector->boundAddress(), connector->boundPort(),
                                       stats.openConnections, stats.requests, stats.bytesIn, stats.bytesOut});
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

    _engine = std::make_unique<core::Engine>(_config.engine.defaultHost, contextServices());
    for (const config::HostConfig& hostConfig : _config.engine.hosts) {
        auto host = std::make_shared<core::Host>(hostConfig);
        if (valves::AccessLog* log = accessLog(hostConfig.accessLog.value_or(_config.accessLog))) {
            host->setAccessLog(
                [log](const http::HttpExchange& exchange, uint64_t bytes) { log->log(exchange, bytes); });
        }
        _engine->addHost(std::move(host));
    }
    deployApplications();
    if (!_engine->start()) throw std::runtime_error(_engine->failureReason());

    for (const config::ConnectorConfig& connectorConfig : _config.connectors)
        _connectors.push_back(std::make_unique<connector::Connector>(connectorConfig, *_engine));
    installManager();
    for (const auto& connector : _connectors) {
        connector->start(); // throws one actionable line (address in use, permission denied)
        // Written whatever logLevel says: scripts and tests wait for this line (the CLI contract).
        util::Log::write(util::LogLevel::Info, "server",
                         "listening on " + listeningUrl(connector->boundAddress(), connector->boundPort()));
    }
}

void Server::stopInternal() noexcept
{
    // Reverse order: stop accepting and drain first, while the apps still answer.
    for (auto it = _connectors.rbegin(); it != _connectors.rend(); ++it)
        (*it)->stop();
    _connectors.clear();
    if (_deployment) _deployment->stop(); // no deploy runs while the Engine stops
    if (_engine) _engine->stop();
    _manager.reset(); // after the Engine stopped: its Contexts no longer serve
    _deployment.reset();
    _engine.reset();
    _accessLogs.clear(); // flushes
}

} // namespace serval::startup
