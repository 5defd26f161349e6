#pragma once

// The data source fixture apps (tests/fixtures/apps/Guestbook.cpp, DbC.c) laid out as exploded
// bundles in a test's appBase, with their web.xml and WEB-INF/migrations/. Shared by the ABI
// end-to-end test (tests/sdk) and the migration deploy scenarios (tests/deployer).

#include "support/Fixtures.h"
#include "support/TempDir.h"

#include <filesystem>
#include <map>
#include <string>

namespace serval::test {

/// The guestbook's web.xml: each servlet at /<name>, data source "main", `displayName` to tell
/// versions apart.
inline std::string guestbookWebXml(const std::string& displayName)
{
    std::string xml =
        "<?xml version=\"1.0\"?>\n<web-app>\n  <display-name>" + displayName + "</display-name>\n";
    for (const char* name : {"entries", "types", "hold", "fail", "info", "note"}) {
        std::string cls = std::string(name);
        cls[0] = static_cast<char>(cls[0] - 'a' + 'A');
        xml += "  <servlet><servlet-name>" + std::string(name) + "</servlet-name><servlet-class>guestbook." +
               cls + "</servlet-class></servlet>\n  <servlet-mapping><servlet-name>" + name +
               "</servlet-name><url-pattern>/" + name + "</url-pattern></servlet-mapping>\n";
    }
    return xml + "  <resource-ref><res-ref-name>main</res-ref-name><res-type>javax.sql.DataSource</res-type>"
                 "</resource-ref>\n</web-app>\n";
}

/// DbC's web.xml: dbc.All at /all, data source "main".
inline std::string dbcWebXml()
{
    return "<?xml version=\"1.0\"?>\n<web-app>\n  "
           "<servlet><servlet-name>all</servlet-name><servlet-class>dbc.All"
           "</servlet-class></servlet>\n  <servlet-mapping><servlet-name>all</servlet-name><url-pattern>/all"
           "</url-pattern></servlet-mapping>\n  "
           "<resource-ref><res-ref-name>main</res-ref-name></resource-ref>\n"
           "</web-app>\n";
}

/// The first migration of both apps, in the engine's dialect.
inline std::string createTables(bool postgres)
{
    std::string id =
        postgres ? "id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY" : "id INTEGER PRIMARY KEY";
    return "-- the guestbook\nCREATE TABLE entry (" + id +
           ", name TEXT NOT NULL, message TEXT);\n"
           "CREATE TABLE typed (i BIGINT, d DOUBLE PRECISION, t TEXT, b BYTEA, n BIGINT);\n";
}

/// appBase/`dir`: WEB-INF/lib/lib<library>.so, WEB-INF/web.xml, and WEB-INF/migrations/<file>
/// for each of `migrations`.
inline void writeDataSourceApp(const TempDir& base, const std::string& dir, const std::string& library,
                               const std::string& webXml,
                               const std::map<std::string, std::string>& migrations)
{
    std::string webInf = dir + "/WEB-INF";
    base.write(webInf + "/web.xml", webXml);
    makeDirs(base.file(webInf + "/lib"));
    std::filesystem::copy_file(fixtureLibrary(library), base.file(webInf + "/lib/lib" + library + ".so"),
                               std::filesystem::copy_options::overwrite_existing);
    for (const auto& [file, sql] : migrations)
        base.write(webInf + "/migrations/" + file, sql);
}

} // namespace serval::test
