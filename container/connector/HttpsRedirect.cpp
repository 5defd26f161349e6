#include "connector/HttpsRedirect.h"

#include <utility>

namespace serval::connector {

HttpsRedirect::HttpsRedirect(http::HttpHandler& inner, uint16_t redirectPort, KnownHost isKnownHost)
    : _inner(inner), _redirectPort(redirectPort), _isKnownHost(std::move(isKnownHost))
{}

std::string HttpsRedirect::hostName(std::string_view hostHeader)
{
    std::string_view name = hostHeader;
    if (size_t colon = name.rfind(':'); colon != std::string_view::npos) {
        std::string_view port = name.substr(colon + 1);
        if (port.size() > 5) return "";
        for (char c : port) {
            if (c < '0' || c > '9') return "";
        }
        name = name.substr(0, colon);
    }
    if (name.empty() || name.size() > 253) return "";
    std::string out;
    out.reserve(name.size());
    for (char c : name) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
        // DNS names only: letters, digits, '-' and '.'; no IPv6 literal, userinfo or path.
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return "";
        out.push_back(c);
    }
    if (out.front() == '.' || out.front() == '-' || out.find("..") != std::string::npos) return "";
    return out;
}

http::HeadDecision HttpsRedirect::onHead(http::HttpExchange& exchange) noexcept
{
    http::HeadDecision decision;
    try {
        const http::HttpRequest& request = exchange.request;
        http::HttpResponse& response = exchange.response;
        std::string host = hostName(request.host());
        if (host.empty() || !_isKnownHost || !_isKnownHost(host) || request.target.empty() ||
            request.target.front() != '/') {
            decision.rejectStatus = 400; // a plain 400 from the Connector
            return decision;
        }
        std::string location = "https://" + host;
        if (_redirectPort != 443) location += ":" + std::to_string(_redirectPort);
        location += request.target; // origin-form, checked by the Connector (RFC 9112 3.2.1)
        decision.rejectStatus = request.isGetOrHead() ? 301 : 308;
        response.setStatus(decision.rejectStatus);
        response.setHeader("Location", location);
        response.setHeader("Content-Type", "text/plain; charset=utf-8");
        response.body() = "Moved to " + location + "\n";
    } catch (...) {
        decision.rejectStatus = 500;
    }
    return decision;
}

void HttpsRedirect::service(http::HttpExchange& exchange) noexcept
{
    _inner.service(exchange); // never reached: onHead() rejects every request
}

void HttpsRedirect::complete(http::HttpExchange& exchange, uint64_t bytesSent) noexcept
{
    // The Engine's complete() ignores an exchange it did not route (no Host, no Context).
    _inner.complete(exchange, bytesSent);
}

} // namespace serval::connector
