#include "support/Fixtures.h"

#include "support/TempDir.h"

#include <filesystem>
#include <fstream>

namespace serval::test {

std::string copyWithPatch(const std::string& from, const std::string& to, size_t offset,
                          const std::string& patch)
{
    std::string bytes = readFile(from);
    if (!patch.empty()) bytes.replace(offset, patch.size(), patch);
    std::ofstream(to, std::ios::binary | std::ios::trunc) << bytes;
    return to;
}

void installFixtureApp(const TempDir& base, const std::string& context, const std::string& library,
                       const std::string& webXml)
{
    std::string dir = "webapps/" + context + "/WEB-INF";
    base.write(dir + "/web.xml", webXml);
    makeDirs(base.file(dir + "/lib"));
    std::filesystem::copy_file(fixtureLibrary(library), base.file(dir + "/lib/lib" + library + ".so"));
}

std::string servletWebXml(const std::vector<std::tuple<std::string, std::string, std::string>>& servlets,
                          const std::string& extra)
{
    std::string xml = "<?xml version=\"1.0\"?>\n<web-app>\n";
    for (const auto& [name, cls, pattern] : servlets) {
        xml += "  <servlet><servlet-name>" + name + "</servlet-name><servlet-class>" + cls +
               "</servlet-class><load-on-startup>1</load-on-startup></servlet>\n";
        xml += "  <servlet-mapping><servlet-name>" + name + "</servlet-name><url-pattern>" + pattern +
               "</url-pattern></servlet-mapping>\n";
    }
    return xml + extra + "</web-app>\n";
}

std::map<std::string, std::string> keyValueLines(const std::string& body)
{
    std::map<std::string, std::string> result;
    size_t start = 0;
    while (start < body.size()) {
        size_t end = body.find('\n', start);
        if (end == std::string::npos) end = body.size();
        std::string line = body.substr(start, end - start);
        size_t eq = line.find('=');
        if (eq != std::string::npos) result[line.substr(0, eq)] = line.substr(eq + 1);
        start = end + 1;
    }
    return result;
}

} // namespace serval::test
