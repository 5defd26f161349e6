#pragma once

#include "http/HttpHandler.h"

#include <string>
#include <string_view>

namespace serval::core {

/// Attributes of a Set-Cookie header.
struct Cookie
{
    std::string name;
    std::string value;
    std::string path;      ///< empty: not sent
    std::string domain;    ///< empty: not sent
    long long maxAge = -1; ///< seconds; -1 = session cookie (no Max-Age), 0 = delete
    bool httpOnly = false;
    bool secure = false;
    std::string sameSite; ///< "", "Lax", "Strict", "None"
};

/// The servlet-level response: the HTTP response plus servlet conveniences.
/// OWNERSHIP and THREADS as Request.
class Response
{
public:
    explicit Response(http::HttpExchange& exchange) noexcept : _exchange(exchange) {}

    http::HttpResponse& http() noexcept { return _exchange.response; }
    int status() const noexcept { return _exchange.response.status(); }
    void setStatus(int status) noexcept { _exchange.response.setStatus(status); }
    void setHeader(std::string_view name, std::string_view value)
    {
        _exchange.response.setHeader(name, value);
    }
    void addHeader(std::string_view name, std::string_view value)
    {
        _exchange.response.addHeader(name, value);
    }
    void setContentType(std::string_view type) { _exchange.response.setContentType(type); }
    void write(std::string_view data) { _exchange.response.write(data); }
    bool flush() noexcept { return _exchange.response.flush(); }
    bool isCommitted() const noexcept { return _exchange.response.isCommitted(); }
    void addCookie(const Cookie& cookie);

    /// Clears the buffer and headers, sets the status, and marks the response as an error the
    /// Context renders (its <error-page> or the container's error page) once the servlet returns.
    /// Returns false if already committed (nothing changes).
    bool sendError(int status, std::string_view message = {});
    /// 302 with an absolute or context-relative Location (as given, "/x" stays host-relative).
    /// Discards the buffered body only: headers and cookies set before it are kept (Servlet
    /// semantics). Returns false if already committed (nothing changes).
    bool sendRedirect(std::string_view location, int status = 302);

    bool isError() const noexcept { return _errorSent; }
    const std::string& errorMessage() const noexcept { return _errorMessage; }
    void clearError() noexcept
    {
        _errorSent = false;
        _errorMessage.clear();
    }

private:
    http::HttpExchange& _exchange;
    bool _errorSent = false;
    std::string _errorMessage;
};

} // namespace serval::core
