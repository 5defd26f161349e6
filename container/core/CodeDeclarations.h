#pragma once

#include "config/WebAppConfig.h"
#include "core/Servlet.h"

#include <memory>
#include <vector>

namespace serval::core {

/// The web.xml a Context runs: `webXml` (the app's WEB-INF/web.xml over conf/web.xml) with what
/// `modules` declare in code (AppModule::declarations()) merged UNDER it by config::mergeWebXml,
/// the Servlet spec's rule for annotations: a <servlet> or <filter> of the same name in web.xml
/// replaces the declared one, web.xml's mappings of a servlet it declares replace the code's,
/// a pattern web.xml maps elsewhere is dropped, and declared filters and listeners come first.
///
/// Called by Context::startInternal and by the preflight child (deployer/PreflightLoad.cpp), so
/// a bundle passes the preflight exactly when its Context can be built. Throws
/// std::runtime_error naming both libraries when two of them declare the same servlet, filter
/// or url-pattern.
config::WebAppConfig mergeCodeDeclarations(const std::vector<std::shared_ptr<AppModule>>& modules,
                                           const config::WebAppConfig& webXml);

/// What `modules` declare in code, together (the first half of mergeCodeDeclarations; throws as
/// it does). A worker process reports this to the server (process::ReadyMessage).
config::WebAppConfig codeDeclarations(const std::vector<std::shared_ptr<AppModule>>& modules);

/// The second half: `code` (codeDeclarations()) merged under `webXml`. The server's Context of
/// an isolated app merges its workers' report with this, exactly as the workers merged theirs.
config::WebAppConfig mergeCodeDeclarations(const config::WebAppConfig& code,
                                           const config::WebAppConfig& webXml);

} // namespace serval::core
