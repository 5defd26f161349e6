#pragma once

#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace serval::test {

class TempDir;

/// The fixture app `name` built by tests/fixtures/CMakeLists.txt (build/tests/fixtures/lib<name>.so).
inline std::string fixtureLibrary(const std::string& name)
{
    return std::string(SERVAL_FIXTURE_DIR) + "/lib" + name + ".so";
}

/// Copies a file, optionally patching bytes at `offset`.
std::string copyWithPatch(const std::string& from, const std::string& to, size_t offset = 0,
                          const std::string& patch = "");

/// Installs an exploded app `base`/webapps/`context` made of the fixture library `library`
/// (WEB-INF/lib/lib<library>.so) and `webXml`.
void installFixtureApp(const TempDir& base, const std::string& context, const std::string& library,
                       const std::string& webXml);

/// A web.xml declaring and mapping each (servlet-name, servlet-class, url-pattern), with
/// `extra` (filters, params) before the end.
std::string servletWebXml(const std::vector<std::tuple<std::string, std::string, std::string>>& servlets,
                          const std::string& extra = "");

/// "key=value" lines (what the fixture apps report) as a map.
std::map<std::string, std::string> keyValueLines(const std::string& body);

} // namespace serval::test
