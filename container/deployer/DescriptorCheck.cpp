#include "deployer/DescriptorCheck.h"

#include "config/ConfigError.h"
#include "config/WebAppConfig.h"

namespace serval::deployer {

bool checkDescriptor(const std::string& webXmlPath, std::string& error)
{
    // The container's own reader: what passes here is what the Context will accept.
    try {
        config::readWebXml(webXmlPath, "WEB-INF/web.xml");
        return true;
    } catch (const config::ConfigError& e) {
        error = e.what();
        return false;
    }
}

} // namespace serval::deployer
