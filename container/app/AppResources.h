#pragma once

#include "core/ContextResources.h"
#include "core/Servlet.h"

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace serval::datasource {
class DataSource;
} // namespace serval::datasource

namespace serval::app {

/// The one concrete core::ContextResources: the data sources an app declared in web.xml, by
/// name, as the host table hands them to app code (context_data_source).
///
/// OWNERSHIP: built by the deployer before the Context starts (and by an isolated app's worker
/// for its own Context), held by the ContextSpec; each DataSource is shared with the server's
/// datasource::DataSourceRegistry and with the app's other versions.
/// THREADS: filled on a control thread before the Context starts, read-only afterwards (any
/// request thread, no lock).
class AppResources final : public core::ContextResources
{
public:
    void addDataSource(std::string name, std::shared_ptr<datasource::DataSource> source);

    /// The data source declared as `name`, or nullptr.
    datasource::DataSource* dataSource(std::string_view name) const noexcept;
    const std::vector<std::pair<std::string, std::shared_ptr<datasource::DataSource>>>&
    dataSources() const noexcept
    {
        return _dataSources;
    }

    /// The resources of the context behind a serval_context_t, or nullptr if it has none.
    static const AppResources* of(const core::ServletContext& context) noexcept;

private:
    /// Declaration order; few enough that a linear search beats a map.
    std::vector<std::pair<std::string, std::shared_ptr<datasource::DataSource>>> _dataSources;
};

} // namespace serval::app
