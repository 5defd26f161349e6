#pragma once

#include <ctime>
#include <string_view>

namespace serval::servlets {

// Conditional-request rules for the DefaultServlet (RFC 9110 section 13), as pure functions so
// they can be tested without files. All are called on the I/O thread, never allocate, and
// treat malformed input as absent.

/// True if an If-None-Match value (empty = absent) matches `etag` by weak comparison
/// (RFC 9110 8.8.3.2: W/"x" matches "x"), or is "*".
bool ifNoneMatchMatches(std::string_view ifNoneMatch, std::string_view etag) noexcept;

/// True if the GET/HEAD should be answered 304 Not Modified (RFC 9110 13.2.2 steps 3-4):
/// If-None-Match decides when present (If-Modified-Since is then ignored, "If-None-Match
/// wins"); otherwise If-Modified-Since, when it parses, is >= the resource's mtime (seconds).
/// `lastModified` is the IMF-fixdate text of `mtime` (compared first, so the common echo of our
/// own header does not need a date parse).
bool isNotModified(std::string_view ifNoneMatch, std::string_view ifModifiedSince, std::string_view etag,
                   std::string_view lastModified, std::time_t mtime) noexcept;

/// True if a Range may be honoured given an If-Range value (empty = absent -> true).
/// An entity-tag must match by strong comparison, so a weak tag (ours are weak, W/"size-mtime",
/// like Tomcat's) never matches and the client gets the full 200, which is what RFC 9110 13.1.5
/// asks; an HTTP-date must equal Last-Modified to the second. Anything else -> false.
bool ifRangeAllowsPartial(std::string_view ifRange, std::string_view etag, std::string_view lastModified,
                          std::time_t mtime) noexcept;

} // namespace serval::servlets
