#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace serval::mapper {

/// Context paths of one host ("" for ROOT, "/shop", "/a/b"): finds the longest context path
/// that a request path falls under, on segment boundaries ("/shopping" is not under "/shop").
/// Immutable once built; map() is lock-free and allocation-free.
class ContextMapper
{
public:
    /// Returns false if `path` is already present.
    bool add(std::string path, size_t target);
    /// `path` is the decoded, normalised request path ("/shop/cart"). nullopt if no context
    /// (not even ROOT) matches.
    std::optional<size_t> map(std::string_view path) const;
    size_t size() const noexcept { return _paths.size(); }

private:
    std::map<std::string, size_t, std::less<>> _paths;
};

/// Host names and aliases of an Engine: case-insensitive, port ignored, unknown -> default.
class HostMapper
{
public:
    /// `name` is compared case-insensitively. Returns false if already present.
    bool add(std::string_view name, size_t target);
    void setDefault(size_t target) noexcept { _default = target; }
    /// The target for a Host header value ("Example.com:8080", "[::1]:80"), or the default.
    /// nullopt only if no default was set and nothing matches.
    std::optional<size_t> map(std::string_view hostHeader) const;

private:
    std::map<std::string, size_t, std::less<>> _names; ///< lower case
    std::optional<size_t> _default;
};

/// "example.com:8080" -> "example.com", "[::1]:80" -> "[::1]", "example.com" unchanged.
std::string_view hostWithoutPort(std::string_view hostHeader) noexcept;

} // namespace serval::mapper
