#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace serval::bundle {

/// The Tomcat naming rules that turn a file or directory name in appBase into a context path
/// and version: `ROOT.sar` -> "" (served at /), `shop.sar` -> "/shop", `a#b.sar` -> "/a/b",
/// `shop##2.sar` -> "/shop" version "2". Exploded directories follow the same rules without
/// the extension. Pure value type; used by the Deployer (control thread) and servalctl.
/// The one place these rules live: the Context is built from this name (HostContextRunner).
struct ContextName
{
    std::string path;     ///< "" for ROOT, else "/shop" or "/a/b"
    std::string version;  ///< "" when unversioned
    std::string baseName; ///< the name without extension: "shop##2", "ROOT", "a#b"

    /// Parses a file name ("shop##2.sar") or directory name ("shop##2"). A ".sar" (or ".zip",
    /// ".tar", ".tar.gz", ".tgz") extension is stripped. Returns nullopt for names that are not
    /// deployable: empty, hidden (leading '.'), holding '/', '\\', control characters, '%',
    /// '?' or ';' (each means something in a URL: the context could be reached only by
    /// escaping its own name), an empty version, or an empty path segment ("a##", "#a",
    /// "a##b##c").
    static std::optional<ContextName> fromFileName(std::string_view fileName);

    /// True if the name ends with a bundle extension (".sar", ".zip", ".tar", ".tar.gz", ".tgz").
    static bool isBundleFileName(std::string_view fileName) noexcept;

    /// Orders versions so the newest wins: digit runs compare as numbers ("10" > "9"), the rest
    /// byte by byte; "" (unversioned) is older than any version. <0, 0, >0 like strcmp.
    static int compareVersions(std::string_view a, std::string_view b) noexcept;

    /// "/shop" or "/" for the root context: how people see the path.
    std::string displayPath() const { return path.empty() ? std::string("/") : path; }
    /// The name without version: "shop", "ROOT", "a#b" (the work/<host>/<this>/ directory).
    std::string unversionedBaseName() const;
    /// "/shop##2" style description for logs: display path plus "##version" when versioned.
    std::string describe() const;

    /// How messages name the app of the bundle `fileName`: its unversionedBaseName() ("shop"
    /// for "shop##2.sar", the name the Context gets), or the file name itself when it is not
    /// deployable.
    static std::string appName(std::string_view fileName);
};

} // namespace serval::bundle
