#include "app/AppResources.h"

#include "datasource/DataSource.h"

namespace serval::app {

void AppResources::addDataSource(std::string name, std::shared_ptr<datasource::DataSource> source)
{
    _dataSources.emplace_back(std::move(name), std::move(source));
}

datasource::DataSource* AppResources::dataSource(std::string_view name) const noexcept
{
    for (const auto& [declared, source] : _dataSources) {
        if (declared == name) return source.get();
    }
    return nullptr;
}

const AppResources* AppResources::of(const core::ServletContext& context) noexcept
{
    // AppResources is the only ContextResources there is; the cast checks it all the same, so a
    // Context built by a test with other resources reads as having none.
    return dynamic_cast<const AppResources*>(context.resources());
}

} // namespace serval::app
