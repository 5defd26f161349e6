#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace serval::mapper {

/// Which Servlet-spec rule (section 12.2) matched.
enum class MatchType
{
    ContextRoot, ///< the empty pattern "": exactly the context root ("/")
    Exact,       ///< "/catalog"
    Prefix,      ///< "/catalog/*" (longest wins)
    Extension,   ///< "*.jsp" (extension of the last path segment)
    Default      ///< "/"
};

/// The result of mapping one path within a context.
/// LIFETIME: the views point into the path given to ServletMapper::map() (or, for the empty
/// path, a static "/"): valid while that string is. servletPath and pathInfo are adjacent
/// parts of `path`, so their concatenation is `path` itself and never has to be built.
struct ServletMatch
{
    size_t target = 0; ///< what add() was given for the matching pattern
    MatchType type = MatchType::Default;
    std::string_view path;                    ///< the mapped path ("" is mapped as "/")
    std::string_view servletPath;             ///< getServletPath()
    std::optional<std::string_view> pathInfo; ///< getPathInfo(); nullopt = null
};

/// The Servlet-spec servlet mapping of one context (Tomcat's Mapper, wrapper part): exact
/// match first, then the longest "/prefix/*", then "*.ext", then the default "/". The empty
/// pattern "" matches only the context root. Pure and immutable once built: request threads
/// call map() concurrently without locks.
class ServletMapper
{
public:
    /// Adds one url-pattern for `target`. Returns false with `error` set for an invalid pattern
    /// or one already mapped (web.xml validation reports it with the file:line).
    bool add(const std::string& pattern, size_t target, std::string& error);
    /// `path` is the decoded, normalised path within the context ("/a/b"; "" is treated as "/").
    /// Returns false if no pattern matches (no default "/" mapped).
    bool map(std::string_view path, ServletMatch& out) const;
    /// True if `pattern` was added.
    bool has(const std::string& pattern) const;
    bool hasDefault() const noexcept { return _default.has_value(); }

private:
    std::map<std::string, size_t, std::less<>> _exact;
    std::vector<std::pair<std::string, size_t>> _prefixes;  ///< "/a/b" for "/a/b/*", longest first
    std::map<std::string, size_t, std::less<>> _extensions; ///< "jsp" for "*.jsp"
    std::optional<size_t> _default;
    std::optional<size_t> _contextRoot;
};

/// True if `pattern` is a valid url-pattern: "", "/", "/exact", "/prefix/*", "/*", "*.ext".
bool isValidUrlPattern(std::string_view pattern) noexcept;

/// Whether a filter's url-pattern applies to a path (same rules as servlets, but every
/// matching filter runs, not only the best match). "/*" matches everything.
bool urlPatternMatches(std::string_view pattern, std::string_view path) noexcept;

/// How many of the paths that a servlet url-pattern receives a filter url-pattern matches.
enum class PatternCoverage
{
    None, ///< no path the servlet pattern receives
    Some, ///< only the path can tell (a filter on "/x/y/*" for the servlet pattern "/x/*")
    All   ///< every one ("/*"; "*.jsp" for "*.jsp"; "/a" for "/a")
};

/// By urlPatternMatches(filterPattern, path) over every path `servletPattern` (both valid
/// url-patterns) can map; "/" stands for any path. Lets the Context settle each servlet
/// mapping's filter chain once, at start.
PatternCoverage filterPatternCoverage(std::string_view filterPattern,
                                      std::string_view servletPattern) noexcept;

} // namespace serval::mapper
