#pragma once

#include "core/HttpSession.h"
#include "core/Multipart.h"
#include "core/Wrapper.h"
#include "http/HttpHandler.h"
#include "mapper/ServletMapper.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace serval::core {

class Context;
class Response;

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
    std::string_view decodedUri() const noexcept { return _decodedUri; }
    std::string_view contextPath() const noexcept { return _contextPath; }
    std::string_view servletPath() const noexcept { return _servletPath; }
    /// nullopt when the Servlet spec says getPathInfo() returns null.
    std::optional<std::string_view> pathInfo() const noexcept { return _pathInfo; }
    /// servletPath + pathInfo ("/a b" for "/shop/a b"; "/" at the context root): what filter
    /// url-patterns and static files are matched against. A view, never a concatenation.
    std::string_view pathInContext() const noexcept { return _pathInContext; }
    /// The servlet that serves it; nullptr if no url-pattern maps the path (or not mapped yet).
    Wrapper* wrapper() const noexcept { return _mapping != nullptr ? _mapping->wrapper : nullptr; }
    /// How it was mapped, with its precomputed filter chains; nullptr before setMapping().
    const ServletMapping* mapping() const noexcept { return _mapping; }
    DispatcherType dispatcherType() const noexcept { return _dispatcherType; }

    /// Parameters from the query string and, for POST with
    /// application/x-www-form-urlencoded, the body (for multipart/form-data: its text fields,
    /// the parts without a filename); in that order. Parsed on first use.
    const std::vector<std::pair<std::string, std::string>>& parameters();
    /// First value of a parameter, or nullptr.
    const std::string* parameter(std::string_view name);

    /// The parts of a multipart/form-data body (any method), parsed on first use within the
    /// serving servlet's <multipart-config> limits; empty for another Content-Type or when the
    /// body is refused (partsResult() says which, partsError() why).
    const std::vector<Part>& parts();
    MultipartResult partsResult();
    /// Why the body was refused ("" when it was not).
    std::string partsError();

    /// Cookies from the Cookie headers, parsed on first use.
    const std::vector<std::pair<std::string, std::string>>& cookies();
    /// The cookies of `request`'s Cookie headers, in order, appended to `out` (what cookies()
    /// parses, for code that has no Request yet).
    static void parseCookies(const http::HttpRequest& request,
                             std::vector<std::pair<std::string, std::string>>& out);
    const std::string* cookie(std::string_view name);

    /// HttpServletRequest.getSession(create): nullptr when there is none (and !create), when
    /// the store could not answer (sessionStatus() == Unavailable: the Context answers 503), or
    /// when the Context has no sessions. Tells the listeners about a session it creates.
    HttpSession* session(bool create);
    HttpSession::Status sessionStatus() const noexcept { return _sessionStatus; }
    /// The handle opened by session(), whatever its state; nullptr if the app never asked.
    HttpSession* openedSession() const noexcept { return _session.get(); }
    /// HttpSession.invalidate() with the listeners told first (while the attributes are readable).
    void invalidateSession();
    /// The response of this request: session() attaches the session to it, so a flush commits
    /// the session's writes first. Set by the Engine.
    void setResponse(Response& response) noexcept { _response = &response; }
    Response* response() const noexcept { return _response; }

    /// Request-scope attributes (string values).
    const std::string* attribute(std::string_view name) const;
    void setAttribute(std::string_view name, std::string_view value);
    void removeAttribute(std::string_view name);
    const std::map<std::string, std::string, std::less<>>& attributes() const noexcept { return _attributes; }

    /// Body reading as a stream over the (already complete, size-limited) body.
    /// Returns the bytes copied, 0 at end.
    size_t readBody(char* buffer, size_t capacity) noexcept;
    std::string_view body() const noexcept { return _exchange.request.body; }
    /// The consumer the Context's HeadCheck attached for this request's body (then body() is
    /// empty and the consumer has all of it), or nullptr. Owned by the Engine's exchange state.
    http::BodyConsumer* bodyConsumer() const noexcept { return _bodyConsumer; }
    void setBodyConsumer(http::BodyConsumer* consumer) noexcept { _bodyConsumer = consumer; }

    /// Set by the Engine (REQUEST) and the Context (ERROR) once a path is mapped. Copies
    /// nothing: the views must outlive the Request. The Engine's point into its per-exchange
    /// routing state (the decoded URI and the ServletMatch of it), which lives until the
    /// exchange completes; an error dispatch's into keepDispatchUri() and the Context's web.xml.
    void setMapping(std::string_view decodedUri, std::string_view contextPath,
                    const mapper::ServletMatch& match, const ServletMapping& mapping) noexcept;
    /// Keeps the URI of a dispatch the container starts for this request (an error page, which
    /// has no routing state of its own) and returns a view of it for setMapping().
    std::string_view keepDispatchUri(std::string uri) noexcept
    {
        _dispatchUri = std::move(uri);
        return _dispatchUri;
    }
    void setDispatcherType(DispatcherType type) noexcept { _dispatcherType = type; }

private:
    http::HttpExchange& _exchange;
    Context* _context;
    http::BodyConsumer* _bodyConsumer = nullptr;
    std::string_view _decodedUri;
    std::string_view _contextPath;
    std::string_view _servletPath;
    std::optional<std::string_view> _pathInfo;
    std::string_view _pathInContext;
    std::string _dispatchUri; ///< keepDispatchUri(); empty for a plain request
    const ServletMapping* _mapping = nullptr;
    DispatcherType _dispatcherType = DispatcherType::Request;
    /// What parameters(), cookies() and parts() parse, allocated on first use: many requests
    /// never ask (static files, the hello servlet), and a Request is built for every one, so
    /// they pay one null pointer instead of three vectors and a string.
    struct Parsed
    {
        bool parameters = false;
        bool cookies = false;
        bool parts = false;
        std::vector<std::pair<std::string, std::string>> parameterList;
        std::vector<std::pair<std::string, std::string>> cookieList;
        MultipartResult partsResult = MultipartResult::Ok;
        std::string partsError;
        std::vector<Part> partList;
    };
    Parsed& parsed();

    std::unique_ptr<Parsed> _parsed;
    std::map<std::string, std::string, std::less<>> _attributes;
    size_t _bodyOffset = 0;
    Response* _response = nullptr;
    std::unique_ptr<HttpSession> _session;
    HttpSession::Status _sessionStatus = HttpSession::Status::NotFound;
};

} // namespace serval::core
