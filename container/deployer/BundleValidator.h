#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace serval::deployer {

/// What validation found in an unpacked bundle.
struct ValidationReport
{
    bool hasDescriptor = false; ///< WEB-INF/web.xml present (and it parsed)
    std::vector<std::string>
        libraries; ///< WEB-INF/lib/*.so, relative to the root, sorted (each an app library)
};

/// Every check the container makes on an unpacked bundle before any of its code runs:
/// the descriptor parses (config::readWebXml), and each WEB-INF/lib/*.so is an ELF shared
/// library for this machine exporting the ABI entry symbol. The same code runs in the server
/// (Deployer, control thread) and in `servalctl verify`, so the messages are the same.
class BundleValidator
{
public:
    /// `root`: the unpacked bundle. `label`: "shop.sar" (prefix of every message).
    /// `requireDescriptor`: bundles must hold WEB-INF/web.xml; exploded directories may be
    /// static-only. Returns false with one actionable line in `error`.
    static bool validate(const std::string& root, std::string_view label, bool requireDescriptor,
                         ValidationReport& report, std::string& error);
};

} // namespace serval::deployer
