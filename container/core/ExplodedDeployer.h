#pragma once

#include "config/WebAppConfig.h"
#include "core/Context.h"
#include "core/Host.h"

#include <optional>
#include <string>

namespace serval::core {

/// Context name and path from an appBase entry name, as Tomcat: "ROOT" -> "", "docs" ->
/// "/docs", "a#b" -> "/a/b", "shop##2" -> "/shop" version "2". nullopt for names that cannot
/// be a context ("", ".hidden", "a##", names with '/', '\\' or control characters).
struct ContextName
{
    std::string name;    ///< without version: "shop", "ROOT", "a#b"
    std::string path;    ///< "", "/shop", "/a/b"
    std::string version; ///< "" or "2"
};
std::optional<ContextName> parseContextName(std::string_view entry);

/// Builds the spec for an exploded app directory: reads docBase/WEB-INF/web.xml if present
/// (throws config::ConfigError naming "WEB-INF/web.xml:LINE" on errors) and merges it over
/// `defaults` (conf/web.xml).
ContextSpec explodedContextSpec(const ContextName& name, const std::string& docBase,
                                const config::WebAppConfig& defaults, uint64_t maxBodySize);

/// Start-up deployment of exploded directories in the Host's appBase (the deployer replaces
/// this with hot deploy of bundles and directories). Control thread, before the Host starts.
/// A directory whose web.xml is invalid is skipped with one log line. Returns how many
/// Contexts were added.
size_t deployExplodedDirectories(Host& host, const ContextServices& services,
                                 const config::WebAppConfig& defaults, uint64_t maxBodySize);

} // namespace serval::core
