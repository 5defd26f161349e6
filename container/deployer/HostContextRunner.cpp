#include "deployer/HostContextRunner.h"

#include "config/ConfigError.h"
#include "core/ExplodedDeployer.h"

namespace serval::deployer {

namespace {

/// A core::Context seen through ContextHandle.
class CoreContextHandle : public ContextHandle
{
public:
    explicit CoreContextHandle(std::shared_ptr<core::Context> context) : _context(std::move(context)) {}
    int64_t inFlight() const noexcept override { return _context->inFlight(); }
    void stop() noexcept override { _context->stop(); }
    bool start(std::string& error) noexcept override
    {
        if (_context->start()) return true;
        error = _context->failureReason();
        return false;
    }
    bool isStarted() const noexcept override { return _context->isStarted(); }
    bool libraryStayedMapped() const noexcept override { return _context->libraryStayedMapped(); }
    const std::shared_ptr<core::Context>& context() const noexcept { return _context; }

private:
    std::shared_ptr<core::Context> _context;
};

} // namespace

HostContextRunner::HostContextRunner(std::shared_ptr<core::Host> host, core::ContextServices services,
                                     config::WebAppConfig defaults, uint64_t maxBodySize)
    : _host(std::move(host)), _services(std::move(services)), _defaults(std::move(defaults)),
      _maxBodySize(maxBodySize)
{}

std::shared_ptr<ContextHandle> HostContextRunner::create(const ContextName& name, const std::string& docBase,
                                                         std::string& error)
{
    core::ContextName coreName{name.unversionedBaseName(), name.path, name.version};
    try {
        auto context = std::make_shared<core::Context>(
            core::explodedContextSpec(coreName, docBase, _defaults, _maxBodySize), _services);
        if (!context->start()) {
            error = context->failureReason();
            if (error.empty()) error = "the application did not start; see the log";
            context->stop();
            return nullptr;
        }
        return std::make_shared<CoreContextHandle>(std::move(context));
    } catch (const std::exception& e) {
        error = e.what();
        return nullptr;
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
