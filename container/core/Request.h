#pragma once

#include "http/HttpHandler.h"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace serval::core {

class Context;
class Wrapper;

enum class DispatcherType
{
    Request,
    Error
};

/// The servlet-level view of one request: the raw HTTP request plus what mapping found.
///
/// OWNERSHIP: created by the Engine for each request on the thread that services it; it
/// refers to the exchange (owned by the Connector) and to the Context (pinned by the routing
/// snapshot for the whole request).
/// THREADS: one thread at a time.
class Request
{
public:
    Request(http::HttpExchange& exchange, Context& context) noexcept : _exchange(exchange), _context(&context)
    {}

    http::HttpRequest& http() noexcept { return _exchange.request; }
    const http::HttpRequest& http() const noexcept { return _exchange.request; }
    http::HttpExchange& exchange() noexcept { return _exchange; }
    Context& context() noexcept { return *_context; }

    std::string_view method() const noexcept { return _exchange.request.method; }
    /// Raw request URI without query ("/shop/a%20b").
    std::string_view requestUri() const noexcept { return _exchange.request.path; }
    std::string_view queryString() const noexcept { return _exchange.request.query; }
    std::string_view protocol() const noexcept;
    /// Decoded and normalised path within the host ("/shop/a b").
    const std::string& decodedUri() const noexcept { return _decodedUri; }
    const std::string& contextPath() const noexcept { return _contextPath; }
    const std::string& servletPath() const noexcept { return _servletPath; }
    /// nullopt when the Servlet spec says getPathInfo() returns null.
    const std::optional<std::string>& pathInfo() const noexcept { return _pathInfo; }
    Wrapper* wrapper() const noexcept { return _wrapper; }
    DispatcherType dispatcherType() const noexcept { return _dispatcherType; }

    /// Parameters from the query string and, for POST with
    /// application/x-www-form-urlencoded, the body; in that order. Parsed on first use.
    const std::vector<std::pair<std::string, std::string>>& parameters();
    /// First value of a parameter, or nullptr.
    const std::string* parameter(std::string_view name);

    /// Cookies from the Cookie headers, parsed on first use.
    const std::vector<std::pair<std::string, std::string>>& cookies();
    const std::string* cookie(std::string_view name);

    /// Request-scope attributes (string values).
    const std::string* attribute(std::string_view name) const;
    void setAttribute(std::string_view name, std::string_view value);
    void removeAttribute(std::string_view name);
    const std::map<std::string, std::string, std::less<>>& attributes() const noexcept { return _attributes; }

    /// Body reading as a stream over the (already complete, size-limited) body.
    /// Returns the bytes copied, 0 at end.
    size_t readBody(char* buffer, size_t capacity) noexcept;
    std::string_view body() const noexcept { return _exchange.request.body; }

    /// Set by the Engine/Context while mapping and dispatching.
    void setMapping(std::string decodedUri, std::string contextPath, std::string servletPath,
                    std::optional<std::string> pathInfo, Wrapper* wrapper);
    void setDispatcherType(DispatcherType type) noexcept { _dispatcherType = type; }

private:
    http::HttpExchange& _exchange;
    Context* _context;
    std::string _decodedUri;
    std::string _contextPath;
    std::string _servletPath;
    std::optional<std::string> _pathInfo;
    Wrapper* _wrapper = nullptr;
    DispatcherType _dispatcherType = DispatcherType::Request;
    bool _parametersParsed = false;
    bool _cookiesParsed = false;
    std::vector<std::pair<std::string, std::string>> _parameters;
    std::vector<std::pair<std::string, std::string>> _cookies;
    std::map<std::string, std::string, std::less<>> _attributes;
    size_t _bodyOffset = 0;
};

} // namespace serval::core
