#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace serval::datasource {

/// One file of WEB-INF/migrations/, named as Flyway names versioned migrations:
/// `V<version>__<description>.sql`, the version digits separated by `.` or `_` (V1, V2_1 = 2.1),
/// the description's underscores read as spaces. Plain data, read once by loadMigrations.
struct Migration
{
    std::string version; ///< "2.1" (underscores shown as dots)
    std::vector<uint64_t> versionParts;
    std::string description; ///< "add index"
    std::string script;      ///< the file name, "V2_1__add_index.sql"
    std::string path;        ///< where it was read from
    std::string checksum;    ///< SHA-256 of the file's bytes, lower-case hex
    std::string sql;
};

/// The parts of a version ("2.1" -> {2, 1}); nullopt unless digits separated by single `.` or `_`.
std::optional<std::vector<uint64_t>> parseVersion(std::string_view text);
/// <0, 0, >0 as a is lower, equal (missing parts are 0: 1 = 1.0) or higher than b.
int compareVersions(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) noexcept;

/// Every migration in `directory`, in version order (none if it does not exist). A `.sql` file
/// whose name does not follow the pattern, or two files with the same version, are refused
/// (DataSourceError naming `displayPrefix` + file: a typo must not skip a migration silently);
/// other files (README) are ignored. Control plane.
std::vector<Migration> loadMigrations(const std::string& directory,
                                      const std::string& displayPrefix = "WEB-INF/migrations/");

/// The file checks a deploy makes on an app's WEB-INF/migrations before it binds its data
/// sources (`dataSources`: web.xml's resource-ref names in order; the first one's migrations
/// sit in the folder itself, the others' in a sub-folder named after them), with the deploy's
/// messages: names, duplicate versions, migrations without a data source. Throws
/// DataSourceError. DataSourceBinder runs it; so does `servalctl verify`, so a typo in a file
/// name fails there and not at the deploy. The SQL itself runs at the deploy only.
void checkMigrationFiles(const std::string& migrationsRoot, const std::vector<std::string>& dataSources);

} // namespace serval::datasource
