#pragma once

#include "config/WebAppConfig.h"
#include "core/Context.h"
#include "core/Host.h"
#include "deployer/ContextRunner.h"
#include "deployer/DataSourceBinder.h"

#include <memory>

namespace serval::deployer {

/// The Deployer's view of one core::Host: builds Contexts with the Engine's services (app
/// loader, DefaultServlet) and the conf/web.xml defaults, and swaps them into the Host's
/// routing. Before a Context starts, the binder (if any) gives it its data directory and data
/// sources and applies its migrations. OWNERSHIP: holds the Host (shared); owned by the server
/// next to the Deployer, as is the binder.
/// THREADS: the deployer's control thread only.
class HostContextRunner : public ContextRunner
{
public:
    /// `dataRoot`: data/<host>; each app gets data/<host>/<app> (ContextSpec::dataDir) under it,
    /// shared by its versions. "" gives apps none. `binder`: nullptr builds Contexts without data
    /// sources (unit tests).
    HostContextRunner(std::shared_ptr<core::Host> host, core::ContextServices services,
                      config::WebAppConfig defaults, uint64_t maxBodySize, std::string dataRoot = {},
                      DataSourceBinder* binder = nullptr);

    util::Expected<std::shared_ptr<ContextHandle>>
    create(const bundle::ContextName& name, const std::string& docBase,
           const std::optional<config::WebAppConfig>& descriptor) override;
    std::shared_ptr<ContextHandle> route(const std::string& path,
                                         std::shared_ptr<ContextHandle> context) override;
    std::shared_ptr<ContextHandle> unroute(const std::string& path) override;

    /// The spec of the Context for `name` at `docBase` (made absolute, symlinks resolved): the
    /// app's `descriptor` merged over `defaults` (conf/web.xml; the descriptor's source name
    /// "WEB-INF/web.xml" when the app has none), the request body limit.
    static core::ContextSpec contextSpec(const bundle::ContextName& name, const std::string& docBase,
                                         const std::optional<config::WebAppConfig>& descriptor,
                                         const config::WebAppConfig& defaults, uint64_t maxBodySize);

private:
    std::shared_ptr<core::Host> _host;
    core::ContextServices _services;
    config::WebAppConfig _defaults;
    uint64_t _maxBodySize;
    std::string _dataRoot;
    DataSourceBinder* _binder;
};

} // namespace serval::deployer
