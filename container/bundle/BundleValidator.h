#pragma once

#include "config/WebAppConfig.h"
#include "util/Expected.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace serval::bundle {

/// What validation found in an unpacked bundle; the deploy carries it on to the preflight and
/// to the Context, so nothing is read twice.
struct ValidationReport
{
    /// WEB-INF/web.xml as config::readWebXml read it (not yet merged over conf/web.xml);
    /// nullopt for an exploded directory without one. The Context is built from this.
    std::optional<config::WebAppConfig> descriptor;
    std::vector<std::string> libraries; ///< WEB-INF/lib/*.so, relative to the root, sorted

    bool hasDescriptor() const noexcept { return descriptor.has_value(); }
};

/// Every check the container makes on an unpacked bundle before any of its code runs: the
/// descriptor parses (config::readWebXml), each WEB-INF/lib/*.so is an ELF shared library
/// for this machine exporting the ABI entry symbol, and a bundle that names servlet, filter
/// or listener classes holds a library to provide them. Reads files only, never loads them.
/// The same code runs in the server (HostDeployer, control thread) and in servalctl, so the
/// messages are the same. Every refusal is one actionable line prefixed with the label.
class BundleValidator
{
public:
    /// `root`: the unpacked bundle. `label`: "shop.sar" (prefix of every message).
    /// `requireDescriptor`: bundles must hold WEB-INF/web.xml; exploded directories may be
    /// static-only.
    static util::Expected<ValidationReport> validate(const std::string& root, std::string_view label,
                                                     bool requireDescriptor);

    // The steps of validate(), for `servalctl inspect`, which shows what it can of a bundle
    // that fails.

    /// Reads WEB-INF/web.xml (nullopt: absent and not required).
    static util::Expected<std::optional<config::WebAppConfig>>
    readDescriptor(const std::string& root, std::string_view label, bool requireDescriptor);
    /// WEB-INF/lib/*.so (and *.so.N) relative to `root`, sorted: each one an app library.
    static std::vector<std::string> findLibraries(const std::string& root);
    /// Every library is an app library for this machine; classes named need a library.
    static util::Outcome checkLibraries(const std::string& root, std::string_view label,
                                        const std::optional<config::WebAppConfig>& descriptor,
                                        const std::vector<std::string>& libraries);
};

} // namespace serval::bundle
