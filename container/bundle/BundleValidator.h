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
    /// The one of them exporting the entry (the rest are its helpers); "" without libraries.
    std::string appLibrary;

    bool hasDescriptor() const noexcept { return descriptor.has_value(); }
};

/// Every check the container makes on an unpacked bundle before any of its code runs: the
/// descriptor parses (config::readWebXml), each WEB-INF/lib/*.so is an ELF shared library
/// for this machine, exactly one of them (the app library) exports the ABI entry symbol and the
/// others are its helpers, and a bundle that names servlet, filter or listener classes holds a
/// library to provide them. Reads files only, never loads them.
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
    /// Every library is ELF for this machine, exactly one exports the entry (its path relative
    /// to `root` goes to `appLibrary`); classes named need a library.
    static util::Outcome checkLibraries(const std::string& root, std::string_view label,
                                        const std::optional<config::WebAppConfig>& descriptor,
                                        const std::vector<std::string>& libraries,
                                        std::string* appLibrary = nullptr);
    /// The libraries of an unpacked bundle that export the entry (after validation: the one app
    /// library), relative to `root`. The Context loads these through the ABI, not the helpers.
    static std::vector<std::string> appLibraries(const std::string& root);
};

} // namespace serval::bundle
