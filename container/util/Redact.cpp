#include "util/Redact.h"

#include "util/Strings.h"

#include <cstring>

namespace serval::util {
namespace {

/// Query parameter names that carry credentials (OAuth's, CSRF tokens, API keys, passwords).
constexpr std::string_view kSecretNames[] = {
    "token",         "access_token", "refresh_token", "id_token", "csrf",   "csrf_token",
    "_csrf",         "xsrf",         "xsrf_token",    "password", "passwd", "secret",
    "client_secret", "api_key",      "apikey",        "api-key",  "auth",   "authorization",
};

/// Appends to a fixed buffer, cutting what does not fit.
class Writer
{
public:
    Writer(char* out, size_t capacity) noexcept : _out(out), _capacity(capacity) {}
    void put(std::string_view text) noexcept
    {
        size_t n = text.size() < _capacity - _size ? text.size() : _capacity - _size;
        if (n > 0) std::memcpy(_out + _size, text.data(), n);
        _size += n;
    }
    size_t size() const noexcept { return _size; }

private:
    char* _out;
    size_t _capacity;
    size_t _size = 0;
};

bool isNameChar(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

/// Where a free-text value ends: a separator a URL, a header list or a sentence would use.
bool endsValue(char c) noexcept
{
    return c == '&' || c == ' ' || c == '"' || c == '\'' || c == ';' || c == ',' || c == ')' || c == '\t' ||
           c == '\r' || c == '\n';
}

bool isTokenChar(char c) noexcept // RFC 6750 b64token, and base64url
{
    return isNameChar(c) || c == '~' || c == '+' || c == '/' || c == '=';
}

/// The length of "Bearer " (or another HTTP authentication scheme and its space) at the start
/// of `text`, else 0.
size_t schemeLength(std::string_view text) noexcept
{
    for (std::string_view scheme : {"Bearer ", "Basic ", "Digest ", "Negotiate "}) {
        if (startsWithIgnoreCase(text, scheme)) return scheme.size();
    }
    return 0;
}

} // namespace

bool isSecretParameter(std::string_view name) noexcept
{
    for (std::string_view secret : kSecretNames) {
        if (equalsIgnoreCase(name, secret)) return true;
    }
    return false;
}

size_t redactTarget(std::string_view target, char* out, size_t capacity, bool& changed) noexcept
{
    changed = false;
    Writer w(out, capacity);
    size_t question = target.find('?');
    if (question == std::string_view::npos) {
        w.put(target);
        return w.size();
    }
    w.put(target.substr(0, question + 1));
    std::string_view query = target.substr(question + 1);
    while (true) {
        size_t amp = query.find('&');
        std::string_view piece = query.substr(0, amp);
        size_t eq = piece.find('=');
        if (eq != std::string_view::npos && isSecretParameter(piece.substr(0, eq))) {
            w.put(piece.substr(0, eq + 1));
            w.put(kRedacted);
            changed = true;
        } else {
            w.put(piece);
        }
        if (amp == std::string_view::npos) break;
        w.put("&");
        query.remove_prefix(amp + 1);
    }
    return w.size();
}

bool redactTarget(std::string_view target, std::string& out)
{
    if (target.find('?') == std::string_view::npos) return false;
    std::string buffer(target.size() + 16 * kRedacted.size(), '\0');
    bool changed = false;
    size_t n = redactTarget(target, buffer.data(), buffer.size(), changed);
    if (!changed) return false;
    buffer.resize(n);
    out = std::move(buffer);
    return true;
}

bool redactText(std::string_view text, std::string& out)
{
    std::string result;
    bool changed = false;
    size_t copied = 0; // text[0, copied) is in result already
    auto replace = [&](size_t from, size_t to) {
        result.append(text.substr(copied, from - copied));
        result.append(kRedacted);
        copied = to;
        changed = true;
    };
    for (size_t i = 0; i < text.size(); ++i) {
        if (i < copied) continue;
        char c = text[i];
        if (c == '=') {
            size_t start = i;
            while (start > copied && isNameChar(text[start - 1]))
                --start;
            bool boundary = start == 0 || text[start - 1] == '?' || text[start - 1] == '&' ||
                            text[start - 1] == ' ' || text[start - 1] == ';' || text[start - 1] == ',' ||
                            text[start - 1] == '"' || text[start - 1] == '\'';
            if (start < i && boundary && isSecretParameter(text.substr(start, i - start))) {
                if (i + 1 < text.size() && text[i + 1] == '"') { // name="value"
                    size_t close = text.find('"', i + 2);
                    if (close != std::string_view::npos && close > i + 2) replace(i + 2, close);
                    continue;
                }
                size_t end = i + 1;
                while (end < text.size() && !endsValue(text[end]))
                    ++end;
                // "authorization=Basic xyz": the scheme stays, the rule below takes the credentials.
                if (end < text.size() && text[end] == ' ' && schemeLength(text.substr(i + 1)) > 0) continue;
                if (end > i + 1) replace(i + 1, end);
            }
            continue;
        }
        if (i > 0 && isNameChar(text[i - 1])) continue; // credentials start a word
        size_t skip = schemeLength(text.substr(i));
        if (skip == 0 && startsWith(text.substr(i), "svl_")) skip = 4;
        if (skip == 0) continue;
        size_t end = i + skip;
        while (end < text.size() && isTokenChar(text[end]))
            ++end;
        if (end > i + skip) replace(i + skip, end);
    }
    if (!changed) return false;
    result.append(text.substr(copied));
    out = std::move(result);
    return true;
}

} // namespace serval::util
