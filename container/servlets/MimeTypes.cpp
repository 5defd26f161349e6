#include "servlets/MimeTypes.h"

#include "util/Strings.h"

namespace serval::servlets {

bool MimeTypes::isTextual(std::string_view type) noexcept
{
    using util::endsWith;
    using util::equalsIgnoreCase;
    using util::startsWithIgnoreCase;
    if (startsWithIgnoreCase(type, "text/")) return true;
    return equalsIgnoreCase(type, "application/javascript") || equalsIgnoreCase(type, "application/json") ||
           equalsIgnoreCase(type, "application/xml") || equalsIgnoreCase(type, "application/xhtml+xml") ||
           equalsIgnoreCase(type, "application/manifest+json") || endsWith(util::toLower(type), "+xml") ||
           endsWith(util::toLower(type), "+json");
}

void MimeTypes::add(std::string ext, std::string type)
{
    std::string_view trimmedExt = util::trim(ext);
    std::string_view trimmedType = util::trim(type);
    if (!trimmedExt.empty() && trimmedExt.front() == '.') trimmedExt.remove_prefix(1);
    if (trimmedExt.empty() || trimmedType.empty()) return;
    std::string value(trimmedType);
    if (value.find(';') == std::string::npos && isTextual(value)) value.append("; charset=utf-8");
    _types[util::toLower(trimmedExt)] = std::move(value);
}

std::string_view MimeTypes::lookup(std::string_view path) const
{
    size_t slash = path.rfind('/');
    std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
    size_t dot = name.rfind('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) return kDefaultType;
    std::string_view ext = name.substr(dot + 1);
    // Extensions are short: lower-case into a stack buffer so the lookup does not allocate.
    char lower[32];
    if (ext.size() >= sizeof lower) return kDefaultType;
    for (size_t i = 0; i < ext.size(); ++i)
        lower[i] = util::asciiLower(ext[i]);
    auto it = _types.find(std::string(lower, ext.size()));
    return it == _types.end() ? kDefaultType : std::string_view(it->second);
}

std::shared_ptr<MimeTypes> mimeTypesFromPairs(const std::vector<std::pair<std::string, std::string>>& pairs)
{
    auto types = std::make_shared<MimeTypes>();
    for (const auto& [ext, type] : pairs)
        types->add(ext, type);
    return types;
}

std::shared_ptr<MimeTypes> mimeTypesFromMap(const std::map<std::string, std::string>& mappings)
{
    auto types = std::make_shared<MimeTypes>();
    for (const auto& [ext, type] : mappings)
        types->add(ext, type);
    return types;
}

} // namespace serval::servlets
