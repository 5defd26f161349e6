#include "datasource/Migration.h"

#include "datasource/DbError.h"
#include "util/Strings.h"

#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace serval::datasource {

namespace {

std::string sha256Hex(const std::string& bytes)
{
    Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
    engine.update(bytes.data(), static_cast<unsigned>(bytes.size()));
    return Poco::DigestEngine::digestToHex(engine.digest());
}

/// Parses "V<version>__<description>.sql" into `out` (without path, checksum, sql).
bool parseName(const std::string& name, Migration& out)
{
    if (name.size() < 4 || name[0] != 'V' || !util::endsWith(name, ".sql")) return false;
    std::string_view stem(name);
    stem = stem.substr(1, stem.size() - 5);
    size_t separator = stem.find("__");
    if (separator == std::string_view::npos) return false;
    auto parts = parseVersion(stem.substr(0, separator));
    if (!parts) return false;
    out.versionParts = std::move(*parts);
    out.version = std::string(stem.substr(0, separator));
    std::replace(out.version.begin(), out.version.end(), '_', '.');
    out.description = std::string(stem.substr(separator + 2));
    std::replace(out.description.begin(), out.description.end(), '_', ' ');
    out.script = name;
    return true;
}

} // namespace

std::optional<std::vector<uint64_t>> parseVersion(std::string_view text)
{
    std::vector<uint64_t> parts;
    size_t start = 0;
    while (true) {
        size_t end = start;
        while (end < text.size() && text[end] >= '0' && text[end] <= '9')
            ++end;
        auto value = util::parseUnsigned(text.substr(start, end - start));
        if (!value) return std::nullopt;
        parts.push_back(*value);
        if (end == text.size()) return parts;
        if (text[end] != '.' && text[end] != '_') return std::nullopt;
        start = end + 1;
    }
}

int compareVersions(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) noexcept
{
    for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
        uint64_t x = i < a.size() ? a[i] : 0;
        uint64_t y = i < b.size() ? b[i] : 0;
        if (x != y) return x < y ? -1 : 1;
    }
    return 0;
}

std::vector<Migration> loadMigrations(const std::string& directory, const std::string& displayPrefix)
{
    std::vector<Migration> out;
    DIR* dir = ::opendir(directory.c_str());
    if (dir == nullptr) {
        if (errno == ENOENT) return out;
        throw DataSourceError("cannot read " + displayPrefix + ": " + std::strerror(errno));
    }
    std::vector<std::string> names;
    while (dirent* entry = ::readdir(dir))
        names.emplace_back(entry->d_name);
    ::closedir(dir);
    std::sort(names.begin(), names.end());

    for (const std::string& name : names) {
        std::string path = directory + "/" + name;
        struct stat st
        {
        };
        if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (!util::endsWith(util::toLower(name), ".sql")) continue;
        Migration migration;
        if (!parseName(name, migration)) {
            throw DataSourceError(displayPrefix + name +
                                  ": a migration is named V<version>__<description>.sql (for example "
                                  "V1__create_tables.sql, V2_1__add_index.sql); rename the file");
        }
        std::ifstream in(path, std::ios::binary);
        std::ostringstream content;
        content << in.rdbuf();
        if (!in) throw DataSourceError("cannot read " + displayPrefix + name + ": " + std::strerror(errno));
        migration.path = path;
        migration.sql = content.str();
        migration.checksum = sha256Hex(migration.sql);
        out.push_back(std::move(migration));
    }
    std::sort(out.begin(), out.end(), [](const Migration& a, const Migration& b) {
        return compareVersions(a.versionParts, b.versionParts) < 0;
    });
    for (size_t i = 1; i < out.size(); ++i) {
        if (compareVersions(out[i - 1].versionParts, out[i].versionParts) == 0) {
            throw DataSourceError(displayPrefix + out[i - 1].script + " and " + out[i].script +
                                  " have the same version " + out[i].version +
                                  "; give each migration its own version");
        }
    }
    return out;
}

void checkMigrationFiles(const std::string& migrationsRoot, const std::vector<std::string>& dataSources)
{
    if (dataSources.empty()) {
        if (!loadMigrations(migrationsRoot).empty()) {
            throw DataSourceError(
                "WEB-INF/migrations/ holds migrations but WEB-INF/web.xml declares no data source; add "
                "<resource-ref><res-ref-name>main</res-ref-name></resource-ref>");
        }
        return;
    }
    for (size_t i = 0; i < dataSources.size(); ++i) {
        std::string dir = i == 0 ? migrationsRoot : migrationsRoot + "/" + dataSources[i];
        loadMigrations(dir, i == 0 ? "WEB-INF/migrations/" : "WEB-INF/migrations/" + dataSources[i] + "/");
    }
}

} // namespace serval::datasource
