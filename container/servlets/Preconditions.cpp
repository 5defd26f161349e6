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

/// q-value of an Accept-Encoding item's parameters ("gzip;q=0.5" -> 0.5 > 0). Returns false
/// for q=0 (any number of zeros and decimals), true otherwise (absent q or anything positive).
bool qIsPositive(std::string_view params) noexcept
{
    size_t start = 0;
    while (start < params.size()) {
        size_t end = params.find(';', start);
        if (end == std::string_view::npos) end = params.size();
        std::string_view param = params.substr(start, end - start);
        size_t equals = param.find('=');
        if (equals != std::string_view::npos &&
            util::equalsIgnoreCase(util::trim(param.substr(0, equals)), "q")) {
            for (char c : util::trim(param.substr(equals + 1))) {
                if (c != '0' && c != '.') return true; // a non-zero digit, or malformed: not a refusal
            }
            return false;
        }
        start = end + 1;
    }
    return true;
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

bool acceptsGzip(std::string_view acceptEncoding) noexcept
{
    bool gzipListed = false;
    bool gzip = false;
    bool star = false;
    anyListItem(acceptEncoding, [&](std::string_view item) {
        size_t semicolon = item.find(';');
        std::string_view coding = util::trim(item.substr(0, semicolon));
        std::string_view params =
            semicolon == std::string_view::npos ? std::string_view() : item.substr(semicolon + 1);
        if (util::equalsIgnoreCase(coding, "gzip") || util::equalsIgnoreCase(coding, "x-gzip")) {
            gzipListed = true;
            gzip = gzip || qIsPositive(params);
        } else if (coding == "*") {
            star = qIsPositive(params);
        }
        return false;
    });
    return gzipListed ? gzip : star;
}

} // namespace serval::servlets
