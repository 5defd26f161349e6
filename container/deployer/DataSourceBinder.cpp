#include "deployer/DataSourceBinder.h"

#include "datasource/Migration.h"
#include "datasource/MigrationRunner.h"
#include "util/Log.h"

#include <sys/stat.h>

namespace serval::deployer {

namespace {

bool isDirectory(const std::string& path)
{
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string describeRun(const datasource::MigrationOutcome& outcome)
{
    std::string applied;
    for (const std::string& script : outcome.applied)
        applied += (applied.empty() ? "" : ", ") + script;
    return "now at version " + outcome.schemaVersion + " (applied " + applied + ")";
}

} // namespace

DataSourceBinder::DataSourceBinder(std::string hostName, std::vector<config::ContextConfig> contexts,
                                   datasource::DataSourceRegistry& registry)
    : _hostName(std::move(hostName)), _contexts(std::move(contexts)), _registry(registry)
{}

datasource::DataSourceConfig DataSourceBinder::configFor(const std::string& name,
                                                         const config::DataSourceBinding* binding,
                                                         const std::string& embeddedFile)
{
    datasource::DataSourceConfig c;
    c.name = name;
    c.url = embeddedFile;
    if (binding == nullptr) return c;
    c.type = binding->type == "postgresql" ? datasource::DataSourceType::Postgresql
                                           : datasource::DataSourceType::Sqlite;
    if (!binding->url.empty()) c.url = binding->url;
    c.passwordFile = binding->passwordFile;
    c.maxConnections = binding->maxConnections;
    c.acquireTimeout = std::chrono::milliseconds(binding->acquireTimeoutMs);
    c.statementTimeout = std::chrono::milliseconds(binding->statementTimeoutMs);
    c.busyTimeout = std::chrono::milliseconds(binding->busyTimeoutMs);
    return c;
}

std::shared_ptr<datasource::DataSource>
DataSourceBinder::open(const std::string& app, const std::string& contextPath, const std::string& name)
{
    const config::DataSourceBinding* binding = nullptr;
    for (const config::ContextConfig& context : _contexts) {
        if (context.path == contextPath) binding = context.dataSource(name);
    }
    _registry.dataDirectory(_hostName, app); // the embedded file's directory
    return _registry.open(_hostName, app,
                          configFor(name, binding, _registry.embeddedFile(_hostName, app, name)));
}

BoundResources DataSourceBinder::bind(const std::string& app, const std::string& contextPath,
                                      const std::string& docBase, const config::WebAppConfig& webXml)
{
    BoundResources bound;
    bound.resources = std::make_shared<app::AppResources>();
    const std::string migrationsRoot = docBase + "/WEB-INF/migrations";
    std::vector<std::string> names;
    for (const auto& dataSource : webXml.dataSources)
        names.push_back(dataSource.name);
    datasource::checkMigrationFiles(migrationsRoot, names); // servalctl verify runs it too
    if (webXml.dataSources.empty()) return bound;
    for (size_t i = 0; i < webXml.dataSources.size(); ++i) {
        const std::string& name = webXml.dataSources[i].name;
        std::shared_ptr<datasource::DataSource> source = open(app, contextPath, name);
        std::string dir = i == 0 ? migrationsRoot : migrationsRoot + "/" + name;
        std::string display = i == 0 ? "WEB-INF/migrations/" : "WEB-INF/migrations/" + name + "/";
        if (isDirectory(dir)) {
            std::vector<datasource::Migration> migrations = datasource::loadMigrations(dir, display);
            datasource::MigrationRunner::Options options;
            options.displayPrefix = display;
            datasource::MigrationOutcome outcome =
                datasource::MigrationRunner(*source, std::move(migrations), options).run();
            if (!outcome.applied.empty()) {
                bound.migrated.push_back("data source \"" + name + "\" " + describeRun(outcome));
            }
            if (!outcome.note.empty()) LOG_INFO("deployer", "data source \"" + name + "\": " + outcome.note);
        }
        bound.resources->addDataSource(name, std::move(source));
    }
    return bound;
}

} // namespace serval::deployer
