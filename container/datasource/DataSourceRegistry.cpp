#include "datasource/DataSourceRegistry.h"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>

namespace serval::datasource {

namespace {

void makeDirectory(const std::string& path)
{
    if (::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) return;
    throw DataSourceError("cannot create " + path + ": " + std::strerror(errno) +
                          "; check that the base directory's data/ is writable");
}

} // namespace

DataSourceRegistry::DataSourceRegistry(std::string dataRoot) : _dataRoot(std::move(dataRoot)) {}

std::string DataSourceRegistry::dataDirectory(const std::string& host, const std::string& app) const
{
    makeDirectory(_dataRoot);
    makeDirectory(_dataRoot + "/" + host);
    std::string dir = _dataRoot + "/" + host + "/" + app;
    makeDirectory(dir);
    return dir;
}

std::string DataSourceRegistry::embeddedFile(const std::string& host, const std::string& app,
                                             const std::string& name) const
{
    return _dataRoot + "/" + host + "/" + app + "/" + name + ".db";
}

std::shared_ptr<DataSource> DataSourceRegistry::open(const std::string& host, const std::string& app,
                                                     const DataSourceConfig& config)
{
    std::lock_guard<std::mutex> lock(_mutex);
    std::weak_ptr<DataSource>& slot = _sources[Key(host, app, config.name)];
    if (std::shared_ptr<DataSource> open = slot.lock()) return open;
    auto source = std::make_shared<DataSource>(config); // connects lazily: nothing opens here
    slot = source;
    return source;
}

std::shared_ptr<DataSource> DataSourceRegistry::find(const std::string& host, const std::string& app,
                                                     const std::string& name) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    auto it = _sources.find(Key(host, app, name));
    return it == _sources.end() ? nullptr : it->second.lock();
}

std::vector<DataSourceRegistry::Entry> DataSourceRegistry::list() const
{
    std::vector<Entry> out;
    std::lock_guard<std::mutex> lock(_mutex);
    for (auto it = _sources.begin(); it != _sources.end();) {
        std::shared_ptr<DataSource> source = it->second.lock();
        if (!source) {
            it = _sources.erase(it); // its last holder went: forget the slot
            continue;
        }
        out.push_back(Entry{std::get<0>(it->first), std::get<1>(it->first), std::move(source)});
        ++it;
    }
    return out;
}

} // namespace serval::datasource
