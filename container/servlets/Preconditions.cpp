#include "servlets/Preconditions.h"

#include "http/HttpDate.h"
#include "util/Strings.h"

namespace serval::servlets {

namespace {

/// Strips a leading W/ and returns the opaque-tag including quotes.
std::string_view opaqueTag(std::string_view tag) noexcept
{
    if (tag.size() >= 2 && tag[0] == 'W' && tag[1] == '/') tag.remove_prefix(2);
    return tag;
}

bool isWeak(std::string_view tag) noexcept
{
    return tag.size() >= 2 && tag[0] == 'W' && tag[1] == '/';
}

/// Calls f(piece) for each comma-separated, trimmed, non-empty piece; stops when f returns true.
template <typename F> bool anyListItem(std::string_view list, F f) noexcept
{
    size_t start = 0;
    while (start <= list.size()) {
        size_t end = list.find(',', start);
        if (end == std::string_view::npos) end = list.size();
        std::string_view piece = util::trim(list.substr(start, end - start));
        if (!piece.empty() && f(piece)) return true;
        start = end + 1;
    }
    return false;
}

} // namespace

bool ifNoneMatchMatches(std::string_view ifNoneMatch, std::string_view etag) noexcept
{
    std::string_view current = opaqueTag(etag);
    return anyListItem(ifNoneMatch,
                       [&](std::string_view item) { return item == "*" || opaqueTag(item) == current; });
}

bool isNotModified(std::string_view ifNoneMatch, std::string_view ifModifiedSince, std::string_view etag,
                   std::string_view lastModified, std::time_t mtime) noexcept
{
    if (!util::trim(ifNoneMatch).empty()) return ifNoneMatchMatches(ifNoneMatch, etag);
    if (ifModifiedSince.empty()) return false;
    if (ifModifiedSince == lastModified) return true; // the usual case: the client echoes our header
    auto since = http::parseHttpDate(util::trim(ifModifiedSince));
    return since && mtime <= *since;
}

bool ifRangeAllowsPartial(std::string_view ifRange, std::string_view etag, std::string_view lastModified,
                          std::time_t mtime) noexcept
{
    ifRange = util::trim(ifRange);
    if (ifRange.empty()) return true;
    if (ifRange.front() == '"' || isWeak(ifRange)) {
        return !isWeak(ifRange) && !isWeak(etag) && ifRange == etag;
    }
    if (ifRange == lastModified) return true;
    auto date = http::parseHttpDate(ifRange);
    return date && *date == mtime;
}

} // namespace serval::servlets
