#include "core/ExplodedDeployer.h"

#include "config/ConfigError.h"
#include "util/Log.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <dirent.h>
#include <sys/stat.h>

namespace serval::core {

std::optional<ContextName> parseContextName(std::string_view entry)
{
    if (entry.empty() || entry.front() == '.') return std::nullopt;
    for (unsigned char c : entry) {
        if (c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == '%' || c == '?' || c == ';')
            return std::nullopt;
    }
    ContextName out;
    std::string_view base = entry;
    if (size_t v = entry.find("##"); v != std::string_view::npos) {
        base = entry.substr(0, v);
        out.version = std::string(entry.substr(v + 2));
        if (out.version.empty() || out.version.find('#') != std::string::npos) return std::nullopt;
    }
    if (base.empty()) return std::nullopt;
    out.name = std::string(base);
    if (base == "ROOT") return out; // path ""
    // "a#b" -> "/a/b": every segment non-empty, none "." or "..".
    std::string path;
    size_t start = 0;
    while (start <= base.size()) {
        size_t end = base.find('#', start);
        if (end == std::string_view::npos) end = base.size();
        std::string_view segment = base.substr(start, end - start);
        if (segment.empty() || segment == "." || segment == "..") return std::nullopt;
        path.append("/").append(segment);
        start = end + 1;
    }
    out.path = std::move(path);
    return out;
}

ContextSpec explodedContextSpec(const ContextName& name, const std::string& docBase,
                                const config::WebAppConfig& defaults, uint64_t maxBodySize)
{
    ContextSpec spec;
    spec.name = name.name;
    spec.path = name.path;
    spec.version = name.version;
    char resolved[PATH_MAX];
    spec.docBase = ::realpath(docBase.c_str(), resolved) != nullptr ? std::string(resolved) : docBase;
    spec.maxBodySize = maxBodySize;
    std::string webXml = spec.docBase + "/WEB-INF/web.xml";
    struct stat st
    {
    };
    if (::stat(webXml.c_str(), &st) == 0) {
        spec.webXml = config::mergeWebXml(defaults, config::readWebXml(webXml, "WEB-INF/web.xml"));
    } else {
        config::WebAppConfig none;
        none.source = "WEB-INF/web.xml";
        spec.webXml = config::mergeWebXml(defaults, none);
    }
    return spec;
}

size_t deployExplodedDirectories(Host& host, const ContextServices& services,
                                 const config::WebAppConfig& defaults, uint64_t maxBodySize)
{
    if (!host.config().deployOnStartup) return 0;
    std::string source = "host:" + host.name();
    DIR* dir = ::opendir(host.appBase().c_str());
    if (dir == nullptr) {
        LOG_WARN(source, "appBase " + host.appBase() + " cannot be read; no applications deployed from it");
        return 0;
    }
    std::vector<std::string> entries;
    while (dirent* e = ::readdir(dir))
        entries.emplace_back(e->d_name);
    ::closedir(dir);
    std::sort(entries.begin(), entries.end());

    size_t count = 0;
    for (const std::string& entry : entries) {
        if (entry.empty() || entry.front() == '.') continue; // ".", "..", hidden
        std::string docBase = host.appBase() + "/" + entry;
        struct stat st
        {
        };
        if (::stat(docBase.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
        auto name = parseContextName(entry);
        if (!name) {
            if (entry != "." && entry != "..")
                LOG_WARN(source, "skipped " + docBase + ": not a valid application name");
            continue;
        }
        try {
            auto context = std::make_shared<Context>(
                explodedContextSpec(*name, docBase, defaults, maxBodySize), services);
            host.addContext(context);
            ++count;
        } catch (const config::ConfigError& e) {
            LOG_ERROR(source, "application " + (name->path.empty() ? std::string("/") : name->path) +
                                  " not deployed: " + e.what());
        }
    }
    return count;
}

} // namespace serval::core
