#pragma once

#include <cstdint>
#include <string_view>

namespace serval::servlets {

/// An inclusive byte range within a representation of known size (RFC 9110 14.1.2).
struct ByteRange
{
    uint64_t first = 0;
    uint64_t last = 0; ///< inclusive
    uint64_t length() const noexcept { return last - first + 1; }
};

/// What a Range header asks of a representation of `size` bytes.
enum class RangeOutcome
{
    Full,         ///< no usable Range: answer 200 with the whole representation
    Partial,      ///< one satisfiable range: answer 206 with Content-Range
    Unsatisfiable ///< 416 with "Content-Range: bytes */size"
};

/// Evaluates a Range header value (empty = absent) against a representation of `size` bytes.
/// Pure function; called by the DefaultServlet on the I/O thread. Decisions:
/// - Only the "bytes" unit (case-insensitive); any other unit or a malformed value is ignored
///   (-> Full), as RFC 9110 allows.
/// - One range: "a-b" (b clamped to size-1), "a-", "-n" (the last n bytes, clamped).
///   "a-b" with a > b is malformed (-> Full). First byte >= size, or "-0" -> Unsatisfiable.
///   A zero-length representation satisfies no range.
/// - Several ranges ("0-1,5-6"): answered with the whole representation (-> Full) instead of
///   multipart/byteranges: RFC 9110 lets a server ignore Range, it costs one 200 instead of
///   building multipart bodies, and it takes away the many-small-ranges amplification trick.
RangeOutcome evaluateRange(std::string_view header, uint64_t size, ByteRange& range) noexcept;

} // namespace serval::servlets
