#pragma once

#include "config/WebAppConfig.h"
#include "util/Expected.h"

#include <string>

namespace serval::bundle {

/// Reads and validates a bundle's WEB-INF/web.xml; a refusal names "WEB-INF/web.xml:LINE" and
/// what to fix.
///
/// The one seam between bundle checks and the descriptor reader: config::readWebXml, so a
/// bundle passes exactly when the Context will accept its descriptor, and the descriptor it
/// returns is the one the Context is built from (the deploy parses web.xml once).
util::Expected<config::WebAppConfig> checkDescriptor(const std::string& webXmlPath);

} // namespace serval::bundle
