#include "core/Multipart.h"

#include "http/Token.h"
#include "util/Strings.h"

#include <utility>

namespace serval::core {
namespace {

using Parameters = std::vector<std::pair<std::string, std::string>>;

/// `type *( OWS ";" OWS name "=" ( token / quoted-string ) )` (RFC 9110 section 5.6.6), the
/// shape of Content-Type and Content-Disposition. Names are lower-cased. False if malformed.
bool parseHeaderValue(std::string_view value, std::string& type, Parameters& parameters)
{
    size_t i = value.find(';');
    type = util::toLower(util::trim(value.substr(0, i)));
    if (type.empty()) return false;
    while (i != std::string_view::npos && i < value.size()) {
        ++i; // past ';'
        while (i < value.size() && (value[i] == ' ' || value[i] == '\t'))
            ++i;
        if (i == value.size()) break; // a trailing ';' is tolerated
        size_t eq = value.find('=', i);
        if (eq == std::string_view::npos) return false;
        std::string_view name = util::trim(value.substr(i, eq - i));
        if (!http::isToken(name)) return false;
        i = eq + 1;
        std::string parsed;
        if (i < value.size() && value[i] == '"') {
            for (++i; i < value.size() && value[i] != '"'; ++i) {
                if (value[i] == '\\' && i + 1 < value.size()) ++i;
                parsed += value[i];
            }
            if (i == value.size()) return false; // unterminated quoted-string
            ++i;
            while (i < value.size() && (value[i] == ' ' || value[i] == '\t'))
                ++i;
            if (i < value.size() && value[i] != ';') return false;
        } else {
            size_t end = value.find(';', i);
            parsed = std::string(util::trim(value.substr(i, end == std::string_view::npos ? end : end - i)));
            if (!http::isToken(parsed)) return false;
            i = end;
        }
        parameters.emplace_back(util::toLower(name), std::move(parsed));
    }
    return true;
}

const std::string* find(const Parameters& parameters, std::string_view name)
{
    for (const auto& [key, value] : parameters) {
        if (key == name) return &value;
    }
    return nullptr;
}

/// RFC 2046 bchars: what a boundary may be made of (1 to 70 of them, not ending in a space).
bool isBoundary(std::string_view boundary) noexcept
{
    if (boundary.empty() || boundary.size() > 70 || boundary.back() == ' ') return false;
    for (unsigned char c : boundary) {
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  std::string_view("'()+_,-./:=? ").find(static_cast<char>(c)) != std::string_view::npos;
        if (!ok) return false;
    }
    return true;
}

MultipartResult fail(MultipartResult result, std::vector<Part>& parts, std::string& reason, std::string why)
{
    parts.clear();
    reason = std::move(why);
    return result;
}

/// One part's header block (without the blank line that ends it) into `part`.
bool readHeaders(std::string_view block, Part& part, std::string& why)
{
    bool disposition = false;
    size_t start = 0;
    while (start < block.size()) {
        size_t end = block.find("\r\n", start);
        if (end == std::string_view::npos) end = block.size();
        std::string_view line = block.substr(start, end - start);
        start = end + 2;
        size_t colon = line.find(':');
        if (colon == std::string_view::npos || !http::isToken(line.substr(0, colon))) {
            why = "a header line is malformed (or folded)";
            return false;
        }
        std::string_view name = line.substr(0, colon);
        std::string_view value = util::trim(line.substr(colon + 1));
        if (value.find('\0') != std::string_view::npos) {
            why = "a header holds a NUL byte";
            return false;
        }
        std::string type;
        Parameters parameters;
        if (util::equalsIgnoreCase(name, "Content-Disposition")) {
            if (disposition || !parseHeaderValue(value, type, parameters) || type != "form-data") {
                why = "its Content-Disposition is not one form-data header";
                return false;
            }
            const std::string* fieldName = find(parameters, "name");
            if (fieldName == nullptr || fieldName->empty()) {
                why = "its Content-Disposition has no name";
                return false;
            }
            part.name = *fieldName;
            if (const std::string* filename = find(parameters, "filename")) {
                part.filename = *filename;
                part.isFile = true;
            }
            disposition = true;
        } else if (util::equalsIgnoreCase(name, "Content-Type")) {
            part.contentType = std::string(value);
        }
    }
    if (!disposition) why = "it has no Content-Disposition";
    return disposition;
}

} // namespace

std::optional<std::string> multipartBoundary(std::string_view contentType)
{
    std::string type;
    Parameters parameters;
    if (!util::startsWithIgnoreCase(util::trim(contentType), "multipart/form-data")) return std::nullopt;
    if (!parseHeaderValue(contentType, type, parameters)) return std::string();
    if (type != "multipart/form-data") return std::nullopt;
    const std::string* boundary = find(parameters, "boundary");
    return boundary != nullptr && isBoundary(*boundary) ? *boundary : std::string();
}

MultipartResult parseMultipart(std::string_view body, std::string_view boundary,
                               const MultipartLimits& limits, std::vector<Part>& parts, std::string& reason)
{
    parts.clear();
    if (!isBoundary(boundary))
        return fail(MultipartResult::Malformed, parts, reason, "the Content-Type has no valid boundary");
    if (limits.maxRequestSize >= 0 && body.size() > static_cast<uint64_t>(limits.maxRequestSize)) {
        return fail(MultipartResult::TooLarge, parts, reason,
                    "the body is " + std::to_string(body.size()) + " bytes; <max-request-size> is " +
                        std::to_string(limits.maxRequestSize));
    }
    std::string delimiter = "\r\n--" + std::string(boundary);
    // The first delimiter may open the body (no CRLF before it) or follow a preamble.
    size_t pos;
    if (body.substr(0, delimiter.size() - 2) == std::string_view(delimiter).substr(2)) {
        pos = delimiter.size() - 2;
    } else {
        size_t first = body.find(delimiter);
        if (first == std::string_view::npos)
            return fail(MultipartResult::Malformed, parts, reason, "the body holds no boundary");
        pos = first + delimiter.size();
    }
    while (true) {
        if (body.substr(pos, 2) == "--")
            return MultipartResult::Ok; // the close delimiter; the epilogue is ignored
        while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t'))
            ++pos; // transport padding
        if (body.substr(pos, 2) != "\r\n") {
            return fail(MultipartResult::Malformed, parts, reason,
                        "a boundary is not followed by CRLF (or the body ends without the closing boundary)");
        }
        pos += 2;
        std::string label = "part " + std::to_string(parts.size() + 1);
        if (parts.size() == limits.maxParts) {
            return fail(MultipartResult::TooLarge, parts, reason,
                        "more than " + std::to_string(limits.maxParts) + " parts");
        }
        size_t headersEnd = body.substr(pos, limits.maxHeaderBytes + 4).find("\r\n\r\n");
        if (headersEnd == std::string_view::npos) {
            return fail(MultipartResult::Malformed, parts, reason,
                        label + "'s headers do not end within " + std::to_string(limits.maxHeaderBytes) +
                            " bytes");
        }
        Part part;
        std::string why;
        if (!readHeaders(body.substr(pos, headersEnd), part, why))
            return fail(MultipartResult::Malformed, parts, reason, label + ": " + why);
        size_t contentStart = pos + headersEnd + 4;
        size_t contentEnd = body.find(delimiter, contentStart);
        if (contentEnd == std::string_view::npos)
            return fail(MultipartResult::Malformed, parts, reason, label + " is not closed by a boundary");
        part.content = body.substr(contentStart, contentEnd - contentStart);
        if (part.isFile && limits.maxFileSize >= 0 &&
            part.content.size() > static_cast<uint64_t>(limits.maxFileSize)) {
            return fail(MultipartResult::TooLarge, parts, reason,
                        label + " (\"" + part.name + "\") is " + std::to_string(part.content.size()) +
                            " bytes; <max-file-size> is " + std::to_string(limits.maxFileSize));
        }
        parts.push_back(std::move(part));
        pos = contentEnd + delimiter.size();
    }
}

} // namespace serval::core
