#include "mapper/ServletMapper.h"

#include <algorithm>

namespace serval::mapper {
namespace {

/// The extension of the last segment of `path` ("/a/b.tar.gz" -> "gz"), as Tomcat reads it.
std::string_view lastExtension(std::string_view path) noexcept
{
    size_t slash = path.rfind('/');
    std::string_view last = slash == std::string_view::npos ? path : path.substr(slash + 1);
    size_t dot = last.rfind('.');
    if (dot == std::string_view::npos) return {};
    return last.substr(dot + 1);
}

/// True if `path` is `prefix` or lies below it on a segment boundary.
bool underPrefix(std::string_view prefix, std::string_view path) noexcept
{
    if (prefix.empty()) return true; // "/*"
    if (path.size() < prefix.size() || path.compare(0, prefix.size(), prefix) != 0) return false;
    return path.size() == prefix.size() || path[prefix.size()] == '/';
}

} // namespace

bool isValidUrlPattern(std::string_view pattern) noexcept
{
    if (pattern.empty() || pattern == "/") return true;
    if (pattern.size() >= 2 && pattern[0] == '*' && pattern[1] == '.') {
        std::string_view ext = pattern.substr(2);
        return !ext.empty() && ext.find_first_of("/*") == std::string_view::npos;
    }
    if (pattern[0] != '/') return false;
    size_t star = pattern.find('*');
    if (star == std::string_view::npos) return true;
    // The only other '*' allowed: a final "/*".
    return star == pattern.size() - 1 && pattern[star - 1] == '/';
}

bool urlPatternMatches(std::string_view pattern, std::string_view path) noexcept
{
    if (path.empty()) path = "/";
    if (pattern.empty()) return path == "/";
    if (pattern == "/") return true;
    if (pattern.size() >= 2 && pattern[0] == '*' && pattern[1] == '.')
        return lastExtension(path) == pattern.substr(2);
    if (pattern.size() >= 2 && pattern.substr(pattern.size() - 2) == "/*") {
        return underPrefix(pattern.substr(0, pattern.size() - 2), path);
    }
    return pattern == path;
}

PatternCoverage filterPatternCoverage(std::string_view filterPattern,
                                      std::string_view servletPattern) noexcept
{
    auto isPrefix = [](std::string_view p) { return p.size() >= 2 && p.substr(p.size() - 2) == "/*"; };
    auto isExtension = [](std::string_view p) { return p.size() >= 2 && p[0] == '*' && p[1] == '.'; };
    auto decided = [](bool matches) { return matches ? PatternCoverage::All : PatternCoverage::None; };

    // An exact pattern or the context root receives one path: test it.
    if (servletPattern.empty()) return decided(urlPatternMatches(filterPattern, "/"));
    const bool servletPrefix = isPrefix(servletPattern);
    const bool servletExtension = isExtension(servletPattern);
    if (!servletPrefix && !servletExtension && servletPattern != "/")
        return decided(urlPatternMatches(filterPattern, servletPattern));

    // Many paths: what every one of them shares is the prefix (for "/x/*": "/x" or below it)
    // or the extension of the last segment (for "*.jsp"); "/" shares nothing.
    const std::string_view under = servletPrefix ? servletPattern.substr(0, servletPattern.size() - 2) : "";
    const std::string_view extension = servletExtension ? servletPattern.substr(2) : "";
    if (filterPattern == "/") return PatternCoverage::All;
    if (isPrefix(filterPattern)) {
        std::string_view filterUnder = filterPattern.substr(0, filterPattern.size() - 2);
        if (filterUnder.empty() || (servletPrefix && underPrefix(filterUnder, under)))
            return PatternCoverage::All;
        if (servletPrefix && !underPrefix(under, filterUnder)) return PatternCoverage::None;
        return PatternCoverage::Some;
    }
    if (isExtension(filterPattern)) {
        if (servletExtension) return decided(filterPattern.substr(2) == extension);
        return PatternCoverage::Some;
    }
    // One path (the empty pattern is the context root, "/"): can the servlet pattern map it?
    std::string_view path = filterPattern.empty() ? std::string_view("/") : filterPattern;
    if (servletPrefix && !underPrefix(under, path)) return PatternCoverage::None;
    if (servletExtension && lastExtension(path) != extension) return PatternCoverage::None;
    return PatternCoverage::Some;
}

bool ServletMapper::add(const std::string& pattern, size_t target, std::string& error)
{
    if (!isValidUrlPattern(pattern)) {
        error = "invalid url-pattern \"" + pattern +
                "\"; use \"/exact\", \"/prefix/*\", \"*.ext\", \"/\" or \"\"";
        return false;
    }
    if (has(pattern)) {
        error = "url-pattern \"" + pattern + "\" is mapped twice";
        return false;
    }
    if (pattern.empty()) {
        _contextRoot = target;
    } else if (pattern == "/") {
        _default = target;
    } else if (pattern[0] == '*') {
        _extensions.emplace(pattern.substr(2), target);
    } else if (pattern.size() >= 2 && pattern.compare(pattern.size() - 2, 2, "/*") == 0) {
        _prefixes.emplace_back(pattern.substr(0, pattern.size() - 2), target);
        std::stable_sort(_prefixes.begin(), _prefixes.end(),
                         [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    } else {
        _exact.emplace(pattern, target);
    }
    return true;
}

bool ServletMapper::has(const std::string& pattern) const
{
    if (pattern.empty()) return _contextRoot.has_value();
    if (pattern == "/") return _default.has_value();
    if (pattern.size() >= 2 && pattern[0] == '*' && pattern[1] == '.')
        return _extensions.count(pattern.substr(2)) > 0;
    if (pattern.size() >= 2 && pattern.compare(pattern.size() - 2, 2, "/*") == 0) {
        std::string_view prefix(pattern.data(), pattern.size() - 2);
        return std::any_of(_prefixes.begin(), _prefixes.end(),
                           [&](const auto& p) { return p.first == prefix; });
    }
    return _exact.count(pattern) > 0;
}

bool ServletMapper::map(std::string_view path, ServletMatch& out) const
{
    if (path.empty()) path = "/";
    out.path = path;

    // The empty pattern: the context root only; servletPath "" and pathInfo "/".
    if (path == "/" && _contextRoot) {
        out.target = *_contextRoot;
        out.type = MatchType::ContextRoot;
        out.servletPath = path.substr(0, 0);
        out.pathInfo = path;
        return true;
    }
    if (auto it = _exact.find(path); it != _exact.end()) {
        out.target = it->second;
        out.type = MatchType::Exact;
        out.servletPath = path;
        out.pathInfo.reset();
        return true;
    }
    for (const auto& [prefix, target] : _prefixes) { // longest first
        if (!underPrefix(prefix, path)) continue;
        out.target = target;
        out.type = MatchType::Prefix;
        out.servletPath = path.substr(0, prefix.size());
        if (path.size() > prefix.size()) {
            out.pathInfo = path.substr(prefix.size());
        } else {
            out.pathInfo.reset();
        }
        return true;
    }
    std::string_view ext = lastExtension(path);
    if (!ext.empty()) {
        if (auto it = _extensions.find(ext); it != _extensions.end()) {
            out.target = it->second;
            out.type = MatchType::Extension;
            out.servletPath = path;
            out.pathInfo.reset();
            return true;
        }
    }
    if (_default) {
        out.target = *_default;
        out.type = MatchType::Default;
        out.servletPath = path;
        out.pathInfo.reset();
        return true;
    }
    return false;
}

} // namespace serval::mapper
