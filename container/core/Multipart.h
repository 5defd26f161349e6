#pragma once

// multipart/form-data (RFC 7578 over RFC 2046) for Request::parts() and the form fields it adds
// to Request::parameters(). The body is hostile input: the parser is strict (one malformed byte
// refuses the whole body, never a half-read part) and bounded (MultipartLimits).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace serval::core {

/// One part of a multipart/form-data body.
/// OWNERSHIP: the Request that parsed it; `content` views into the request body, which the
/// exchange holds until the request completes.
struct Part
{
    std::string name;        ///< Content-Disposition's name
    std::string filename;    ///< Content-Disposition's filename, as sent (never a path to trust)
    std::string contentType; ///< the part's Content-Type; "" when it had none (text/plain)
    std::string_view content;
    bool isFile = false; ///< a filename parameter was present (a file field, even an empty one)
};

/// What one body may hold. Sizes in bytes, -1 = no limit of its own (the Context's body limit
/// applies before any of this). From the servlet's <multipart-config>; the counts are the
/// container's (Tomcat's maxPartCount and maxPartHeaderSize play the same part).
struct MultipartLimits
{
    int64_t maxFileSize = -1;    ///< any one part with a filename
    int64_t maxRequestSize = -1; ///< the whole body
    size_t maxParts = 256;
    size_t maxHeaderBytes = 8 * 1024; ///< one part's header block
};

enum class MultipartResult
{
    Ok,
    Malformed, ///< not valid multipart/form-data: 400
    TooLarge   ///< over a MultipartLimits size or count: 413
};

/// For a Content-Type header value: the boundary if it is multipart/form-data ("" when the
/// boundary parameter is missing or invalid, which parseMultipart refuses), nullopt for any
/// other type.
std::optional<std::string> multipartBoundary(std::string_view contentType);

/// Parses `body` into `parts` (appended in order). On anything but Ok, `reason` holds one line
/// for the log ("part 3 has no Content-Disposition name") and `parts` is left empty.
MultipartResult parseMultipart(std::string_view body, std::string_view boundary,
                               const MultipartLimits& limits, std::vector<Part>& parts, std::string& reason);

} // namespace serval::core
