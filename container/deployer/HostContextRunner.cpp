#include "deployer/HostContextRunner.h"

#include "bundle/BundleValidator.h"
#include "bundle/Checksum.h"
#include "util/Log.h"

#include <climits>
#include <cstdlib>
#include <link.h>
#include <map>
#include <set>

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

std::string baseName(const std::string& path)
{
    return path.substr(path.rfind('/') + 1);
}

/// The dynamic linker shares libraries by name: a helper that another loaded bundle (an app, or
/// another version of this one) brought under the same file name would be used instead of this
/// bundle's. Harmless when the two files are the same; otherwise refused, before any of this
/// version's code loads.
util::Outcome checkHelpersNotShadowed(const std::string& docBase,
                                      const std::vector<std::string>& appLibraries)
{
    std::set<std::string> apps(appLibraries.begin(), appLibraries.end());
    std::map<std::string, std::string> helpers; ///< file name -> this bundle's copy
    for (const std::string& lib : bundle::BundleValidator::findLibraries(docBase)) {
        std::string path = docBase + "/" + lib;
        if (apps.count(path) == 0) helpers[baseName(path)] = path;
    }
    if (helpers.empty()) return {};
    std::vector<std::string> loaded;
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* out) {
            if (info->dlpi_name != nullptr && info->dlpi_name[0] == '/')
                static_cast<std::vector<std::string>*>(out)->emplace_back(info->dlpi_name);
            return 0;
        },
        &loaded);
    for (const std::string& other : loaded) {
        auto helper = helpers.find(baseName(other));
        if (helper == helpers.end() || other == helper->second) continue;
        auto mine = bundle::sha256File(helper->second);
        auto theirs = bundle::sha256File(other);
        if (mine && theirs && *mine == *theirs) continue;
        return util::failure("WEB-INF/lib/" + helper->first + " differs from the " + helper->first +
                             " already loaded from " + other +
                             " (another app or version): libraries are shared by name, so this version "
                             "would run that one's code; give the helper a name of its own (libhelper-2.so), "
                             "or stop the other first");
    }
    return {};
}

} // namespace

HostContextRunner::HostContextRunner(std::shared_ptr<core::Host> host, core::ContextServices services,
                                     config::WebAppConfig defaults, uint64_t maxBodySize,
                                     std::string dataRoot, DataSourceBinder* binder)
    : _host(std::move(host)), _services(std::move(services)), _defaults(std::move(defaults)),
      _maxBodySize(maxBodySize), _dataRoot(std::move(dataRoot)), _binder(binder)
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
    spec.appLibraries = std::vector<std::string>();
    for (const std::string& lib : bundle::BundleValidator::appLibraries(spec.docBase))
        spec.appLibraries->push_back(spec.docBase + "/" + lib);
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
        util::Outcome helpers = checkHelpersNotShadowed(spec.docBase, *spec.appLibraries);
        if (!helpers) return helpers.failure();
        spec.host = _host->name();
        if (!_dataRoot.empty()) spec.dataDir = _dataRoot + "/" + spec.name;
        spec.settings = _host->config().contextFor(spec.path);
        // Isolated when server.xml says so (the default), the server has a process manager, and
        // the app has code: static files alone are served by the server either way.
        if (spec.settings.isolation == config::Isolation::Process && _services.remoteApplication &&
            !bundle::BundleValidator::findLibraries(spec.docBase).empty())
            spec.isolation = config::Isolation::Process;
        // <Context maxThreads maxQueue>: an in-process app's share of the worker pool
        // (core::ContextLane); an isolated app's maxThreads are its workers' threads instead.
        spec.maxThreads = spec.settings.maxThreads;
        spec.maxQueue = spec.settings.maxQueue;
        if (_binder != nullptr) {
            // Migrations run here, before the new version's code starts (in this process or in
            // its workers): it may need them.
            BoundResources bound = _binder->bind(spec.name, spec.path, spec.docBase, spec.webXml);
            spec.resources = std::move(bound.resources);
            for (const std::string& line : bound.migrated)
                LOG_INFO("deployer", name.describe() + ": " + line);
        }
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
