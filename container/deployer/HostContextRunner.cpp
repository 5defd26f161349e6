#include "deployer/HostContextRunner.h"

#include "util/Strings.h"

#include <climits>
#include <cstdlib>
#include <dirent.h>

namespace serval::deployer {

namespace {

/// A core::Context seen through ContextHandle.
class CoreContextHandle : public ContextHandle
{
public:
    explicit CoreContextHandle(std::shared_ptr<core::Context> context) : _context(std::move(context)) {}
    int64_t inFlight() const noexcept override { return _context->inFlight(); }
    void stop() noexcept override { _context->stop(); }
    util::Outcome start() noexcept override
    {
        // An isolated app that is running but quarantined: the administrator's start lifts it.
        auto remote = _context->isStarted() ? _context->remote() : nullptr;
        if (remote) {
            try {
                remote->liftQuarantine();
            } catch (const std::exception& e) {
                return util::failure(e.what());
            }
            return {};
        }
        if (_context->start()) return {};
        return util::failure(_context->failureReason());
    }
    bool isStarted() const noexcept override { return _context->isStarted(); }
    bool libraryStayedMapped() const noexcept override { return _context->libraryStayedMapped(); }
    const std::shared_ptr<core::Context>& context() const noexcept { return _context; }

private:
    std::shared_ptr<core::Context> _context;
};

/// True if `docBase` holds app code (WEB-INF/lib/*.so): only that is worth a worker process.
bool hasLibraries(const std::string& docBase)
{
    DIR* dir = ::opendir((docBase + "/WEB-INF/lib").c_str());
    if (dir == nullptr) return false;
    bool found = false;
    while (dirent* e = ::readdir(dir)) {
        std::string name = e->d_name;
        if (name[0] != '.' && util::endsWith(name, ".so")) found = true;
    }
    ::closedir(dir);
    return found;
}

} // namespace

HostContextRunner::HostContextRunner(std::shared_ptr<core::Host> host, core::ContextServices services,
                                     config::WebAppConfig defaults, uint64_t maxBodySize,
                                     std::string dataRoot)
    : _host(std::move(host)), _services(std::move(services)), _defaults(std::move(defaults)),
      _maxBodySize(maxBodySize), _dataRoot(std::move(dataRoot))
{}

core::ContextSpec HostContextRunner::contextSpec(const bundle::ContextName& name, const std::string& docBase,
                                                 const std::optional<config::WebAppConfig>& descriptor,
                                                 const config::WebAppConfig& defaults, uint64_t maxBodySize)
{
    core::ContextSpec spec;
    spec.name = name.unversionedBaseName();
    spec.path = name.path;
    spec.version = name.version;
    char resolved[PATH_MAX];
    spec.docBase = ::realpath(docBase.c_str(), resolved) != nullptr ? std::string(resolved) : docBase;
    spec.maxBodySize = maxBodySize;
    if (descriptor) {
        spec.webXml = config::mergeWebXml(defaults, *descriptor);
    } else {
        config::WebAppConfig none;
        none.source = "WEB-INF/web.xml";
        spec.webXml = config::mergeWebXml(defaults, none);
    }
    return spec;
}

util::Expected<std::shared_ptr<ContextHandle>>
HostContextRunner::create(const bundle::ContextName& name, const std::string& docBase,
                          const std::optional<config::WebAppConfig>& descriptor)
{
    try {
        core::ContextSpec spec = contextSpec(name, docBase, descriptor, _defaults, _maxBodySize);
        spec.host = _host->name();
        if (!_dataRoot.empty()) spec.dataDir = _dataRoot + "/" + spec.name;
        spec.settings = _host->config().contextFor(spec.path);
        // Isolated when server.xml says so (the default), the server has a process manager, and
        // the app has code: static files alone are served by the server either way.
        if (spec.settings.isolation == config::Isolation::Process && _services.remoteApplication &&
            hasLibraries(spec.docBase))
            spec.isolation = config::Isolation::Process;
        // <Context maxThreads maxQueue>: an in-process app's share of the worker pool
        // (core::ContextLane); an isolated app's maxThreads are its workers' threads instead.
        spec.maxThreads = spec.settings.maxThreads;
        spec.maxQueue = spec.settings.maxQueue;
        auto context = std::make_shared<core::Context>(std::move(spec), _services);
        if (!context->start()) {
            std::string reason = context->failureReason();
            context->stop();
            return util::failure(reason.empty() ? "the application did not start; see the log" : reason);
        }
        return std::shared_ptr<ContextHandle>(std::make_shared<CoreContextHandle>(std::move(context)));
    } catch (const std::exception& e) {
        return util::failure(e.what());
    }
}

std::shared_ptr<ContextHandle> HostContextRunner::route(const std::string& path,
                                                        std::shared_ptr<ContextHandle> context)
{
    (void)path;
    auto handle = std::static_pointer_cast<CoreContextHandle>(context);
    auto old = _host->addContext(handle->context());
    return old ? std::make_shared<CoreContextHandle>(std::move(old)) : nullptr;
}

std::shared_ptr<ContextHandle> HostContextRunner::unroute(const std::string& path)
{
    auto old = _host->removeContext(path);
    return old ? std::make_shared<CoreContextHandle>(std::move(old)) : nullptr;
}

} // namespace serval::deployer
