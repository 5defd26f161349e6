#pragma once

#include "app/AppResources.h"
#include "config/ServerConfig.h"
#include "config/WebAppConfig.h"
#include "datasource/DataSourceConfig.h"
#include "datasource/DataSourceRegistry.h"

#include <memory>
#include <string>
#include <vector>

namespace serval::deployer {

/// What one app version gets from its Host before its Context is built: its data sources,
/// migrated (its data directory, data/<host>/<app>, is ContextSpec::dataDir).
struct BoundResources
{
    std::shared_ptr<app::AppResources> resources;
    std::vector<std::string> migrated; ///< one line per data source that a migration changed
};

/// Binds the data sources an app declares (web.xml <resource-ref>) for one Host: the operator's
/// server.xml <Context path><DataSource> bindings, or the embedded default, from the server's
/// DataSourceRegistry, then applies the version's WEB-INF/migrations/ to each one
/// (MigrationRunner: in version order, each in its own transaction, once across nodes).
///
/// Migrations: WEB-INF/migrations/V*.sql belong to the first data source web.xml declares (most
/// apps have one, "main"); another data source's are in WEB-INF/migrations/<name>/.
///
/// Called by HostContextRunner on the deployer's control thread, after validation and preflight
/// and before the new Context starts, so before the routing swap: a migration that fails leaves
/// the old version serving, against a database the failed step did not change.
class DataSourceBinder
{
public:
    /// `contexts`: the <Host>'s <Context> elements (bindings by context path).
    DataSourceBinder(std::string hostName, std::vector<config::ContextConfig> contexts,
                     datasource::DataSourceRegistry& registry);

    /// Throws datasource::DataSourceError with one line naming the file, the line and the
    /// database's message for a migration that failed or was refused.
    BoundResources bind(const std::string& app, const std::string& contextPath, const std::string& docBase,
                        const config::WebAppConfig& webXml);

    /// The pool configuration of data source `name`: the server.xml binding, or (nullptr) the
    /// embedded SQLite file `embeddedFile`.
    static datasource::DataSourceConfig configFor(const std::string& name,
                                                  const config::DataSourceBinding* binding,
                                                  const std::string& embeddedFile);

    datasource::DataSourceRegistry& registry() noexcept { return _registry; }
    const std::string& hostName() const noexcept { return _hostName; }
    /// The data source `name` of `app` at `contextPath` as a deploy would open it (servalctl
    /// backup of an app that is not running).
    std::shared_ptr<datasource::DataSource> open(const std::string& app, const std::string& contextPath,
                                                 const std::string& name);

private:
    std::string _hostName;
    std::vector<config::ContextConfig> _contexts;
    datasource::DataSourceRegistry& _registry;
};

} // namespace serval::deployer
