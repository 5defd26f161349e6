#pragma once

#include <string>

namespace serval::deployer {

/// Checks that a bundle's WEB-INF/web.xml parses. Returns false with `error` naming
/// "WEB-INF/web.xml:LINE" and what to fix.
///
/// The one seam between the deployer and the descriptor reader: today a tinyxml2
/// well-formedness check plus the <web-app> root element; the core helper's
/// config::readWebXml replaces the body once it is on main (same signature).
bool checkDescriptor(const std::string& webXmlPath, std::string& error);

} // namespace serval::deployer
