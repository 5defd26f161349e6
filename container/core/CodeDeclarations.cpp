#include "core/CodeDeclarations.h"

#include <map>
#include <stdexcept>
#include <string>

namespace serval::core {

config::WebAppConfig codeDeclarations(const std::vector<std::shared_ptr<AppModule>>& modules)
{
    config::WebAppConfig code;
    // Who declared what first, for the sentence when a second library declares it again.
    std::map<std::string, std::string> servlets, filters, patterns;
    auto claim = [](std::map<std::string, std::string>& owners, const std::string& key, const std::string& by,
                    const std::string& what) {
        auto [it, fresh] = owners.emplace(key, by);
        if (!fresh) {
            throw std::runtime_error(by + " declares " + what + ", which " + it->second +
                                     " declares too: give each a name of its own, or declare it in "
                                     "WEB-INF/web.xml");
        }
    };
    for (const auto& module : modules) {
        config::WebAppConfig declared = module->declarations();
        const std::string by = module->describe();
        for (config::ServletDef& servlet : declared.servlets) {
            claim(servlets, servlet.name, by, "servlet \"" + servlet.name + "\"");
            code.servlets.push_back(std::move(servlet));
        }
        for (config::ServletMappingDef& mapping : declared.servletMappings) {
            for (const std::string& pattern : mapping.urlPatterns)
                claim(patterns, pattern, by, "url-pattern \"" + pattern + "\"");
            code.servletMappings.push_back(std::move(mapping));
        }
        for (config::FilterDef& filter : declared.filters) {
            claim(filters, filter.name, by, "filter \"" + filter.name + "\"");
            code.filters.push_back(std::move(filter));
        }
        for (config::FilterMappingDef& mapping : declared.filterMappings)
            code.filterMappings.push_back(std::move(mapping));
        for (std::string& listener : declared.listeners)
            code.listeners.push_back(std::move(listener));
    }
    return code;
}

config::WebAppConfig mergeCodeDeclarations(const config::WebAppConfig& code,
                                           const config::WebAppConfig& webXml)
{
    if (code.servlets.empty() && code.filters.empty() && code.listeners.empty()) return webXml;
    return config::mergeWebXml(code, webXml);
}

config::WebAppConfig mergeCodeDeclarations(const std::vector<std::shared_ptr<AppModule>>& modules,
                                           const config::WebAppConfig& webXml)
{
    return mergeCodeDeclarations(codeDeclarations(modules), webXml);
}

} // namespace serval::core
