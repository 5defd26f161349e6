#pragma once

#include <string>

namespace serval::deployer {

/// Checks that a bundle's WEB-INF/web.xml parses. Returns false with `error` naming
/// "WEB-INF/web.xml:LINE" and what to fix.
///
/// The one seam between the deployer and the descriptor reader: config::readWebXml, so a
/// bundle passes exactly when the Context will accept its descriptor.
bool checkDescriptor(const std::string& webXmlPath, std::string& error);

} // namespace serval::deployer
