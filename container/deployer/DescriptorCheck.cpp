#include "deployer/DescriptorCheck.h"

#include <tinyxml2.h>

namespace serval::deployer {

bool checkDescriptor(const std::string& webXmlPath, std::string& error)
{
    tinyxml2::XMLDocument doc;
    if (doc.LoadFile(webXmlPath.c_str()) != tinyxml2::XML_SUCCESS) {
        error = "WEB-INF/web.xml:" + std::to_string(doc.ErrorLineNum()) + ": " +
                (doc.ErrorStr() ? doc.ErrorStr() : "cannot be parsed") +
                "; fix the XML and rebuild the bundle";
        return false;
    }
    const tinyxml2::XMLElement* root = doc.RootElement();
    if (root == nullptr || std::string(root->Name()) != "web-app") {
        error = "WEB-INF/web.xml:" + std::to_string(root ? root->GetLineNum() : 1) +
                ": the root element must be <web-app>; see sdk/examples/hello/web.xml";
        return false;
    }
    return true;
}

} // namespace serval::deployer
