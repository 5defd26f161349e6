#include "core/Response.h"

#include "core/Engine.h"
#include "core/ErrorPage.h"
#include "core/HttpSession.h"
#include "http/Token.h"

#include <stdexcept>

namespace serval::core {
namespace {

/// RFC 6265 cookie-octet: no CTLs, whitespace, DQUOTE, comma, semicolon or backslash.
bool isCookieValue(std::string_view text) noexcept
{
    for (unsigned char c : text) {
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\') return false;
    }
    return true;
}

/// Attribute values (Path, Domain) must not end the attribute or the header.
bool isAttributeValue(std::string_view text) noexcept
{
    for (unsigned char c : text) {
        if (c < 0x20 || c == 0x7f || c == ';') return false;
    }
    return true;
}

bool hasLineBreakOrNul(std::string_view text) noexcept
{
    return text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

} // namespace

void Response::addCookie(const Cookie& cookie)
{
    // A servlet handing us a bad cookie is a programming error; refusing (the Context turns
    // the exception into a 500) is safer than emitting a header an attacker may have shaped.
    if (!http::isToken(cookie.name))
        throw std::invalid_argument("invalid cookie name \"" + cookie.name + "\"");
    if (!isCookieValue(cookie.value))
        throw std::invalid_argument("invalid value for cookie \"" + cookie.name + "\"");
    if (!isAttributeValue(cookie.path) || !isAttributeValue(cookie.domain) ||
        !isAttributeValue(cookie.sameSite)) {
        throw std::invalid_argument("invalid attribute for cookie \"" + cookie.name + "\"");
    }
    std::string header;
    header.reserve(64 + cookie.name.size() + cookie.value.size());
    header.append(cookie.name).append("=").append(cookie.value);
    if (cookie.maxAge >= 0) {
        header.append("; Max-Age=").append(std::to_string(cookie.maxAge));
        if (cookie.maxAge == 0) header.append("; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
    }
    if (!cookie.domain.empty()) header.append("; Domain=").append(cookie.domain);
    if (!cookie.path.empty()) header.append("; Path=").append(cookie.path);
    if (cookie.secure) header.append("; Secure");
    if (cookie.httpOnly) header.append("; HttpOnly");
    if (!cookie.sameSite.empty()) header.append("; SameSite=").append(cookie.sameSite);
    _exchange.response.addHeader("Set-Cookie", header);
}

bool Response::flush() noexcept
{
    if (_session != nullptr && !_exchange.response.isCommitted() && !commitSession()) {
        // The 503 that replaced the response goes out now; the servlet should stop writing.
        _exchange.response.flush();
        return false;
    }
    return _exchange.response.flush();
}

bool Response::commitSession(bool mayHold) noexcept
{
    if (_session == nullptr) return true;
    if (_session->commit(*this, _exchange.request.secure, mayHold)) return true;
    sendSessionUnavailable();
    return false;
}

void Response::sendSessionUnavailable() noexcept
{
    if (_exchange.response.isCommitted()) return;
    writeSessionUnavailable(_exchange.response);
    _errorSent = false; // the container's page, final: no <error-page> dispatch for it
}

void Response::writeSessionUnavailable(http::HttpResponse& response) noexcept
{
    try {
        writeErrorPage(response, 503, "The session store is not answering; please try again in a moment.");
        response.setHeader("Retry-After", "5");
    } catch (...) {
        response.setStatus(503);
    }
}

std::shared_ptr<ResponseHold> Response::hold()
{
    if (_exchange.response.isCommitted()) return nullptr; // the head is out: nothing to hold
    return Engine::holdResponse(_exchange);
}

bool Response::sendError(int status, std::string_view message)
{
    if (!_exchange.response.reset()) return false;
    _exchange.response.setStatus(status);
    _errorSent = true;
    _errorMessage.assign(message);
    return true;
}

bool Response::sendRedirect(std::string_view location, int status)
{
    if (hasLineBreakOrNul(location)) throw std::invalid_argument("redirect location holds a line break");
    http::HttpResponse& http = _exchange.response;
    if (http.isCommitted()) return false;
    // Servlet semantics: only the body goes. Headers and cookies set before stay, so "set the
    // login cookie, then redirect" works.
    http.resetBuffer();
    http.setFileBody(nullptr, 0, 0);
    http.setContentLength(-1);
    http.setStatus(status);
    http.setHeader("Location", location);
    return true;
}

} // namespace serval::core
