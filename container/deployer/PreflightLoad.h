#pragma once

#include <string>

namespace serval::deployer {

/// Loads the app library the way the server will, inside the preflight process only:
/// dlopen(RTLD_NOW | RTLD_LOCAL), the ABI gate and the app's init, then unloads it.
/// On success `detail` describes what loaded; on failure `error` is one actionable sentence.
///
/// The seam to the SDK's loader: once container/app's loadAppModule is on main this calls it.
bool preflightLoad(const std::string& library, const std::string& contextPath, std::string& detail,
                   std::string& error);

} // namespace serval::deployer
