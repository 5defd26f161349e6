#include "bundle/DescriptorCheck.h"

#include "config/ConfigError.h"

namespace serval::bundle {

util::Expected<config::WebAppConfig> checkDescriptor(const std::string& webXmlPath)
{
    // The container's own reader: what passes here is what the Context will accept.
    try {
        return config::readWebXml(webXmlPath, "WEB-INF/web.xml");
    } catch (const config::ConfigError& e) {
        return util::failure(e.what());
    }
}

} // namespace serval::bundle
