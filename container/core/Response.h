#pragma once

#include "http/HttpHandler.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace serval::core {

class HttpSession;
class ResponseHold;

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
    /// The Connector's compression settings for this exchange (nullptr: never compress).
    const http::CompressionSettings* compression() const noexcept { return _exchange.compression; }
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
    /// Commits the head: the session's writes are made durable first (commitSession).
    bool flush() noexcept;
    bool isCommitted() const noexcept { return _exchange.response.isCommitted(); }
    void addCookie(const Cookie& cookie);

    /// The request's session, whose writes must be durable before the head leaves (Request).
    void attachSession(HttpSession* session) noexcept { _session = session; }
    /// Makes the session's writes durable and adds its cookie (no-op without a session). When
    /// the store fails and the head is not out yet, the response becomes a 503 with Retry-After.
    /// Returns false on failure. Called by flush() (the head leaves next, so it waits on its
    /// thread) and once more when the Context is done (`mayHold`: then the finished response is
    /// held until the writes are durable, ResponseHold, and the thread returns at once).
    bool commitSession(bool mayHold = false) noexcept;
    /// The 503 for a request whose session the store could not give or keep (unless the head is
    /// out): the container's error page with Retry-After.
    void sendSessionUnavailable() noexcept;
    /// The same page on a response that is not out yet (a held one, on its loop thread).
    static void writeSessionUnavailable(http::HttpResponse& response) noexcept;
    /// During service(): holds this finished response until the hold is released (null when
    /// the exchange cannot be parked). Engine::holdResponse().
    std::shared_ptr<ResponseHold> hold();
    /// The request is about to make a change that must not happen twice (its session write):
    /// nothing replays it from now on (http::ExchangeControl::markIrrevocable).
    void markIrrevocable() noexcept
    {
        if (_exchange.control != nullptr) _exchange.control->markIrrevocable();
    }

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
    HttpSession* _session = nullptr;
    bool _errorSent = false;
    std::string _errorMessage;
};

} // namespace serval::core
