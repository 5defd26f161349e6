#include "manager/Manager.h"

#include "core/Context.h"
#include "core/Engine.h"
#include "core/Host.h"
#include "manager/ManagerServlet.h"
#include "util/Log.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <sys/stat.h>

namespace serval::manager {

Manager::Manager(core::Engine& engine, const config::ServerConfig& server, std::string version)
    : _engine(engine), _server(server), _backend(std::make_unique<EngineBackend>(engine, std::move(version)))
{}

Manager::~Manager() = default;

std::shared_ptr<core::Context> Manager::makeContext(const std::string& name, const std::string& path,
                                                    std::unique_ptr<core::Servlet> servlet,
                                                    std::shared_ptr<core::HeadCheck> headCheck,
                                                    uint64_t maxBody)
{
    core::ContextSpec spec;
    spec.name = name;
    spec.path = path;
    // No files and no application code: the docBase does not exist on purpose.
    spec.docBase = _server.base + "/work/.container/" + name;
    spec.webXml.source = "(container)";
    spec.webXml.displayName = name == "manager" ? "Serval Manager" : "Serval metrics";
    spec.maxBodySize = maxBody;
    spec.redirectContextRoot = name == "manager"; // the page needs "/manager/"; /metrics is one URL
    auto context = std::make_shared<core::Context>(std::move(spec), core::ContextServices{});
    context->addServlet(name, std::move(servlet), {"/"});
    if (_lane != nullptr) context->useDispatchLane(*_lane);
    context->setHeadCheck(std::move(headCheck));
    return context;
}

void Manager::install()
{
    const config::ManagerConfig& conf = _server.manager;
    if (!conf.enabled) {
        LOG_INFO("manager", "disabled in conf/server.xml (<Manager enabled=\"false\">)");
        return;
    }
    ManagerConfig config;
    config.path = conf.path;
    config.allow = conf.allow;
    config.sessionTimeout = std::chrono::seconds(conf.sessionTimeout);
    config.metricsToken = conf.metricsToken;
    config.maxUploadSize = conf.maxUploadSize;
    for (const std::string& root : conf.deployRoots) {
        char resolved[PATH_MAX];
        if (::realpath(root.c_str(), resolved) == nullptr) {
            LOG_WARN("manager", "deployRoots: " + root + ": " + std::strerror(errno) +
                                    "; deploys by server path cannot read from it");
            continue;
        }
        config.deployRoots.emplace_back(resolved);
    }
    config.usersFile = _server.base + "/conf/users.xml";
    config.logFile = _server.logFile;
    std::string dataDir = _server.base + "/data";
    if (::mkdir(dataDir.c_str(), 0750) != 0 && errno != EEXIST) {
        throw std::runtime_error("cannot create " + dataDir + ": " + std::strerror(errno));
    }
    config.tokensDatabase = dataDir + "/serval.db";

    _realm = std::make_shared<realm::Realm>(config.usersFile);
    try {
        _realm->reload();
    } catch (const std::exception& e) {
        throw std::runtime_error(std::string(e.what()));
    }
    if (_realm->userCount() == 0) {
        LOG_WARN("manager", "no users in conf/users.xml: nobody can log in to " + conf.path +
                                " until you run `serval passwd admin --base " + _server.base + "`");
    }
    _api = std::make_shared<ManagerApi>(config, *_backend, _realm);

    auto host = _engine.defaultHost();
    if (!host) throw std::runtime_error("the manager needs the default host, which does not exist");
    if (host->findContext(conf.path)) {
        throw std::runtime_error("an application already uses " + conf.path + " on host " + host->name() +
                                 "; move it, or set <Manager path=\"...\"> in conf/server.xml");
    }
    _backend->addReservedPath(conf.path);
    std::vector<std::shared_ptr<core::Context>> contexts{makeContext(
        "manager", conf.path, std::make_unique<ManagerServlet>(_api),
        std::make_shared<ManagerHeadCheck>(_api, &ManagerApi::checkHead, _server.base + "/work/.uploads"),
        conf.maxUploadSize)};
    if (host->findContext("/metrics")) {
        LOG_WARN("manager", "an application serves /metrics on host " + host->name() +
                                "; the container's Prometheus metrics are not mounted");
    } else {
        _backend->addReservedPath("/metrics");
        contexts.push_back(
            makeContext("metrics", "/metrics", std::make_unique<ManagerServlet>(_api, &ManagerApi::metrics),
                        std::make_shared<ManagerHeadCheck>(_api, &ManagerApi::checkMetricsHead),
                        ManagerApi::MaxJsonBody));
    }
    for (const auto& context : contexts) {
        if (!context->start())
            throw std::runtime_error("cannot start " + context->path() + ": " + context->failureReason());
        host->addContext(context);
    }
    LOG_INFO("manager",
             "admin page at " + conf.path + "/ on host " + host->name() + ", clients allowed: " + conf.allow);
}

} // namespace serval::manager
