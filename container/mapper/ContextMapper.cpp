#include "mapper/ContextMapper.h"

#include "util/Strings.h"

namespace serval::mapper {

bool ContextMapper::add(std::string path, size_t target)
{
    return _paths.emplace(std::move(path), target).second;
}

std::optional<size_t> ContextMapper::map(std::string_view path) const
{
    // Try the whole path, then each shorter prefix ending before a '/', then ROOT (""): the
    // first hit is the longest context path on a segment boundary. O(depth) map lookups.
    std::string_view candidate = path;
    while (!candidate.empty()) {
        if (auto it = _paths.find(candidate); it != _paths.end()) return it->second;
        size_t slash = candidate.rfind('/');
        if (slash == std::string_view::npos) break;
        candidate = candidate.substr(0, slash);
    }
    if (auto it = _paths.find(std::string_view()); it != _paths.end()) return it->second;
    return std::nullopt;
}

std::string_view hostWithoutPort(std::string_view hostHeader) noexcept
{
    if (!hostHeader.empty() && hostHeader.front() == '[') {
        size_t close = hostHeader.find(']');
        return close == std::string_view::npos ? hostHeader : hostHeader.substr(0, close + 1);
    }
    size_t colon = hostHeader.rfind(':');
    return colon == std::string_view::npos ? hostHeader : hostHeader.substr(0, colon);
}

bool HostMapper::add(std::string_view name, size_t target)
{
    return _names.emplace(util::toLower(name), target).second;
}

std::optional<size_t> HostMapper::map(std::string_view hostHeader) const
{
    std::string_view name = hostWithoutPort(util::trim(hostHeader));
    // Lower-case into a stack buffer: no allocation per request. Longer than any DNS name ->
    // cannot match a configured host.
    char buffer[256];
    if (!name.empty() && name.size() <= sizeof(buffer)) {
        for (size_t i = 0; i < name.size(); ++i)
            buffer[i] = util::asciiLower(name[i]);
        if (auto it = _names.find(std::string_view(buffer, name.size())); it != _names.end())
            return it->second;
    }
    return _default;
}

} // namespace serval::mapper
