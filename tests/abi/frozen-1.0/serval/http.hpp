// serval/http.hpp: C++17 views over the host objects of serval/abi.h (header-only).
//
// Request, Response, ServletContext and Config are thin, non-owning views: each holds a handle
// and calls the host function table. Strings come back as std::string_view into host memory,
// valid until the hook that received the request returns (copy what you keep). Nothing here
// allocates per call except the optional stream adapters (body(), out()) and the list getters
// that return std::vector.
//
// THREADS: apps are called concurrently on many threads (like Java servlets). A Request and its
// Response belong to the one thread running the hook; ServletContext is safe from any thread.
//
// Errors: the views throw serval::Error when the host reports a failure other than "not found",
// and std::nullopt means "absent". The SDK's barrier (servlet.hpp) turns any exception escaping a
// hook into a status code and a log line: no exception ever crosses the C ABI.
#pragma once

#include "serval/abi.h"

#include <cstring>
#include <istream>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace serval {

/// Thrown by the views when a host call fails; carries the status.
class Error : public std::runtime_error
{
public:
    Error(serval_status_t status, const std::string& what) : std::runtime_error(what), _status(status) {}
    serval_status_t status() const noexcept { return _status; }

private:
    serval_status_t _status;
};

/// Marks the SDK's per-app state hidden whatever flags the app is built with: a default-visibility
/// inline function's static becomes an STB_GNU_UNIQUE symbol, which the dynamic linker merges
/// across libraries (two apps would share one host table and descriptor) and never unloads.
#if defined(__GNUC__) || defined(__clang__)
#define SERVAL_HIDDEN __attribute__((visibility("hidden")))
#else
#define SERVAL_HIDDEN
#endif

namespace detail {

/// The host table of THIS app, stored by the entry (SERVAL_APP). Constant-initialised (no static
/// constructor) and hidden: private to the app's library.
SERVAL_HIDDEN inline const serval_host_api_t*& hostSlot() noexcept
{
    static const serval_host_api_t* host = nullptr;
    return host;
}
inline const serval_host_api_t& host() noexcept
{
    return *hostSlot();
}

inline serval_str_t str(std::string_view s) noexcept
{
    return serval_str_t{s.data(), s.size()};
}
inline std::string_view view(serval_str_t s) noexcept
{
    return s.len == 0 ? std::string_view() : std::string_view(s.ptr, s.len);
}

inline void check(serval_status_t status, const char* what)
{
    if (status != SERVAL_OK)
        throw Error(status, std::string(what) + " failed (status " + std::to_string(status) + ")");
}

/// Optional string: OK -> value, NOT_FOUND -> nullopt, anything else throws.
inline std::optional<std::string_view> optional(serval_status_t status, serval_str_t out, const char* what)
{
    if (status == SERVAL_NOT_FOUND) return std::nullopt;
    check(status, what);
    return view(out);
}

/// Reads a two-call list of pairs into a vector of views.
template <typename Fn>
std::vector<std::pair<std::string_view, std::string_view>> pairs(Fn fill, const char* what)
{
    size_t count = 0;
    check(fill(nullptr, 0, &count), what);
    std::vector<serval_pair_t> raw(count);
    while (true) {
        size_t total = 0;
        check(fill(raw.data(), raw.size(), &total), what);
        if (total <= raw.size()) {
            raw.resize(total);
            break;
        }
        raw.resize(total); // grew between the calls (attributes): try again
    }
    std::vector<std::pair<std::string_view, std::string_view>> result;
    result.reserve(raw.size());
    for (const auto& p : raw)
        result.emplace_back(view(p.name), view(p.value));
    return result;
}

/// std::streambuf reading the request body through request_read.
class BodyBuffer : public std::streambuf
{
public:
    explicit BodyBuffer(serval_request_t* request) noexcept : _request(request) {}

protected:
    int_type underflow() override
    {
        if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
        size_t read = 0;
        if (host().request_read(_request, _buffer, sizeof _buffer, &read) != SERVAL_OK || read == 0) {
            return traits_type::eof();
        }
        setg(_buffer, _buffer, _buffer + read);
        return traits_type::to_int_type(*gptr());
    }

private:
    serval_request_t* _request;
    char _buffer[4096];
};

/// std::streambuf writing the response body through response_write (buffered, 4 KiB).
class OutBuffer : public std::streambuf
{
public:
    explicit OutBuffer(serval_response_t* response) noexcept : _response(response)
    {
        setp(_buffer, _buffer + sizeof _buffer);
    }
    ~OutBuffer() override { sync(); }

protected:
    int_type overflow(int_type ch) override
    {
        if (sync() != 0) return traits_type::eof();
        if (!traits_type::eq_int_type(ch, traits_type::eof())) {
            *pptr() = traits_type::to_char_type(ch);
            pbump(1);
        }
        return traits_type::not_eof(ch);
    }
    std::streamsize xsputn(const char* data, std::streamsize n) override
    {
        if (n >= static_cast<std::streamsize>(sizeof _buffer)) {
            if (sync() != 0) return 0;
            return host().response_write(_response, data, static_cast<size_t>(n)) == SERVAL_OK ? n : 0;
        }
        return std::streambuf::xsputn(data, n);
    }
    int sync() override
    {
        size_t pending = static_cast<size_t>(pptr() - pbase());
        if (pending == 0) return 0;
        serval_status_t status = host().response_write(_response, pbase(), pending);
        setp(_buffer, _buffer + sizeof _buffer);
        return status == SERVAL_OK ? 0 : -1;
    }

private:
    serval_response_t* _response;
    char _buffer[4096];
};

} // namespace detail

/// The web application (javax.servlet.ServletContext). Safe from any thread.
class ServletContext
{
public:
    explicit ServletContext(serval_context_t* handle) noexcept : _handle(handle) {}
    serval_context_t* handle() const noexcept { return _handle; }

    /// "" for the root context, "/shop". Valid for the context's lifetime.
    std::string_view contextPath() const { return field(SERVAL_CTX_CONTEXT_PATH); }
    std::string_view displayName() const { return field(SERVAL_CTX_DISPLAY_NAME); }
    /// <context-param>; valid for the context's lifetime.
    std::optional<std::string_view> initParameter(std::string_view name) const
    {
        serval_str_t out{};
        return detail::optional(detail::host().context_init_parameter(_handle, detail::str(name), &out), out,
                                "context_init_parameter");
    }
    std::vector<std::pair<std::string_view, std::string_view>> initParameters() const
    {
        return detail::pairs(
            [&](serval_pair_t* out, size_t capacity, size_t* count) {
                return detail::host().context_init_parameters(_handle, out, capacity, count);
            },
            "context_init_parameters");
    }
    /// Application attributes are shared between threads, so values are copies.
    std::optional<std::string> attribute(std::string_view name) const
    {
        return copy([&](char* buffer, size_t capacity, size_t* len) {
            return detail::host().context_attribute(_handle, detail::str(name), buffer, capacity, len);
        });
    }
    void setAttribute(std::string_view name, std::string_view value) const
    {
        detail::check(detail::host().context_set_attribute(_handle, detail::str(name), detail::str(value)),
                      "context_set_attribute");
    }
    void removeAttribute(std::string_view name) const
    {
        serval_status_t status = detail::host().context_remove_attribute(_handle, detail::str(name));
        if (status != SERVAL_NOT_FOUND) detail::check(status, "context_remove_attribute");
    }
    /// File system path of a resource in the docBase, or nullopt if it would leave it.
    std::optional<std::string> realPath(std::string_view path) const
    {
        return copy([&](char* buffer, size_t capacity, size_t* len) {
            return detail::host().context_real_path(_handle, detail::str(path), buffer, capacity, len);
        });
    }
    void log(std::string_view message, serval_log_level_t level = SERVAL_LOG_INFO) const noexcept
    {
        detail::host().context_log(_handle, level, detail::str(message));
    }

private:
    std::string_view field(serval_context_field_t id) const
    {
        serval_str_t out{};
        detail::check(detail::host().context_str(_handle, id, &out), "context_str");
        return detail::view(out);
    }
    template <typename Fn> static std::optional<std::string> copy(Fn fill)
    {
        std::string value(64, '\0');
        while (true) {
            size_t len = 0;
            serval_status_t status = fill(value.data(), value.size(), &len);
            if (status == SERVAL_NOT_FOUND) return std::nullopt;
            if (status == SERVAL_BUFFER_TOO_SMALL) {
                value.resize(len);
                continue;
            }
            detail::check(status, "context copy");
            value.resize(len);
            return value;
        }
    }

    serval_context_t* _handle;
};

/// <servlet> / <filter> configuration: name and init params. Valid until destroy().
class Config
{
public:
    explicit Config(serval_config_t* handle) noexcept : _handle(handle) {}
    serval_config_t* handle() const noexcept { return _handle; }
    std::string_view name() const
    {
        serval_str_t out{};
        detail::check(detail::host().config_name(_handle, &out), "config_name");
        return detail::view(out);
    }
    std::optional<std::string_view> initParameter(std::string_view name) const
    {
        serval_str_t out{};
        return detail::optional(detail::host().config_init_parameter(_handle, detail::str(name), &out), out,
                                "config_init_parameter");
    }
    std::vector<std::pair<std::string_view, std::string_view>> initParameters() const
    {
        return detail::pairs(
            [&](serval_pair_t* out, size_t capacity, size_t* count) {
                return detail::host().config_init_parameters(_handle, out, capacity, count);
            },
            "config_init_parameters");
    }
    ServletContext context() const noexcept { return ServletContext(detail::host().config_context(_handle)); }

private:
    serval_config_t* _handle;
};
using ServletConfig = Config;
using FilterConfig = Config;

/// One request (HttpServletRequest). Views are valid until the hook returns.
class Request
{
public:
    explicit Request(serval_request_t* handle) noexcept : _handle(handle) {}
    Request(const Request&) = delete;
    Request& operator=(const Request&) = delete;
    serval_request_t* handle() const noexcept { return _handle; }

    std::string_view method() const { return field(SERVAL_REQ_METHOD); }
    /// Raw (percent-encoded) path without the query: "/shop/a%20b".
    std::string_view requestUri() const { return field(SERVAL_REQ_REQUEST_URI); }
    std::string_view contextPath() const { return field(SERVAL_REQ_CONTEXT_PATH); }
    std::string_view servletPath() const { return field(SERVAL_REQ_SERVLET_PATH); }
    /// nullopt where the Servlet spec says getPathInfo() returns null.
    std::optional<std::string_view> pathInfo() const { return optionalField(SERVAL_REQ_PATH_INFO); }
    std::string_view queryString() const { return field(SERVAL_REQ_QUERY_STRING); }
    std::string_view protocol() const { return field(SERVAL_REQ_PROTOCOL); }
    std::string_view scheme() const { return field(SERVAL_REQ_SCHEME); }
    std::string_view remoteAddr() const { return field(SERVAL_REQ_REMOTE_ADDR); }
    std::string_view localAddr() const { return field(SERVAL_REQ_LOCAL_ADDR); }
    std::string_view serverName() const { return field(SERVAL_REQ_SERVER_NAME); }
    std::optional<std::string_view> contentType() const { return optionalField(SERVAL_REQ_CONTENT_TYPE); }
    int remotePort() const { return static_cast<int>(number(SERVAL_REQ_REMOTE_PORT)); }
    int localPort() const { return static_cast<int>(number(SERVAL_REQ_LOCAL_PORT)); }
    int64_t contentLength() const { return number(SERVAL_REQ_CONTENT_LENGTH); }
    bool isSecure() const { return number(SERVAL_REQ_SECURE) != 0; }
    bool isErrorDispatch() const { return number(SERVAL_REQ_DISPATCHER) == SERVAL_DISPATCH_ERROR; }

    /// First header by name (case-insensitive).
    std::optional<std::string_view> header(std::string_view name) const
    {
        serval_str_t out{};
        return detail::optional(detail::host().request_header(_handle, detail::str(name), &out), out,
                                "request_header");
    }
    std::vector<std::pair<std::string_view, std::string_view>> headers() const
    {
        return detail::pairs(
            [&](serval_pair_t* out, size_t capacity, size_t* count) {
                return detail::host().request_headers(_handle, out, capacity, count);
            },
            "request_headers");
    }
    /// First value of a query or form parameter (decoded).
    std::optional<std::string_view> parameter(std::string_view name) const
    {
        serval_str_t out{};
        return detail::optional(detail::host().request_parameter(_handle, detail::str(name), &out), out,
                                "request_parameter");
    }
    std::vector<std::string_view> parameterValues(std::string_view name) const
    {
        size_t count = 0;
        detail::check(detail::host().request_parameter_values(_handle, detail::str(name), nullptr, 0, &count),
                      "request_parameter_values");
        std::vector<serval_str_t> raw(count);
        detail::check(detail::host().request_parameter_values(_handle, detail::str(name), raw.data(),
                                                              raw.size(), &count),
                      "request_parameter_values");
        std::vector<std::string_view> result;
        for (size_t i = 0; i < raw.size() && i < count; ++i)
            result.push_back(detail::view(raw[i]));
        return result;
    }
    std::vector<std::pair<std::string_view, std::string_view>> parameters() const
    {
        return detail::pairs(
            [&](serval_pair_t* out, size_t capacity, size_t* count) {
                return detail::host().request_parameters(_handle, out, capacity, count);
            },
            "request_parameters");
    }
    std::optional<std::string_view> cookie(std::string_view name) const
    {
        serval_str_t out{};
        return detail::optional(detail::host().request_cookie(_handle, detail::str(name), &out), out,
                                "request_cookie");
    }
    std::vector<std::pair<std::string_view, std::string_view>> cookies() const
    {
        return detail::pairs(
            [&](serval_pair_t* out, size_t capacity, size_t* count) {
                return detail::host().request_cookies(_handle, out, capacity, count);
            },
            "request_cookies");
    }

    /// Request attributes (string values); the view is valid until the attribute changes.
    std::optional<std::string_view> attribute(std::string_view name) const
    {
        serval_str_t out{};
        return detail::optional(detail::host().request_attribute(_handle, detail::str(name), &out), out,
                                "request_attribute");
    }
    void setAttribute(std::string_view name, std::string_view value)
    {
        detail::check(detail::host().request_set_attribute(_handle, detail::str(name), detail::str(value)),
                      "request_set_attribute");
    }
    void removeAttribute(std::string_view name)
    {
        serval_status_t status = detail::host().request_remove_attribute(_handle, detail::str(name));
        if (status != SERVAL_NOT_FOUND) detail::check(status, "request_remove_attribute");
    }

    /// Reads the next body bytes; 0 at the end.
    size_t read(char* buffer, size_t capacity)
    {
        size_t read = 0;
        detail::check(detail::host().request_read(_handle, buffer, capacity, &read), "request_read");
        return read;
    }
    /// The body as a std::istream (created on first use).
    std::istream& body()
    {
        if (!_body) _body = std::make_unique<Stream>(_handle);
        return _body->stream;
    }
    /// The rest of the body as one string.
    std::string bodyText()
    {
        std::string text;
        char buffer[4096];
        while (size_t n = read(buffer, sizeof buffer))
            text.append(buffer, n);
        return text;
    }

    ServletContext context() const noexcept
    {
        return ServletContext(detail::host().request_context(_handle));
    }

private:
    struct Stream
    {
        explicit Stream(serval_request_t* request) : buffer(request), stream(&buffer) {}
        detail::BodyBuffer buffer;
        std::istream stream;
    };

    std::string_view field(serval_request_field_t id) const
    {
        serval_str_t out{};
        detail::check(detail::host().request_str(_handle, id, &out), "request_str");
        return detail::view(out);
    }
    std::optional<std::string_view> optionalField(serval_request_field_t id) const
    {
        serval_str_t out{};
        return detail::optional(detail::host().request_str(_handle, id, &out), out, "request_str");
    }
    int64_t number(serval_request_int_field_t id) const
    {
        int64_t out = 0;
        detail::check(detail::host().request_int(_handle, id, &out), "request_int");
        return out;
    }

    serval_request_t* _handle;
    std::unique_ptr<Stream> _body;
};

/// A Set-Cookie to add (Response::addCookie).
struct Cookie
{
    std::string_view name;
    std::string_view value;
    std::string_view path;
    std::string_view domain;
    int64_t maxAge = -1; ///< seconds; -1 = session cookie, 0 = delete
    bool httpOnly = false;
    bool secure = false;
    std::string_view sameSite; ///< "", "Lax", "Strict", "None"
};

/// The response (HttpServletResponse). Buffered by default; flush() streams.
class Response
{
public:
    explicit Response(serval_response_t* handle) noexcept : _handle(handle) {}
    Response(const Response&) = delete;
    Response& operator=(const Response&) = delete;
    serval_response_t* handle() const noexcept { return _handle; }

    void setStatus(int status)
    {
        detail::check(detail::host().response_set_status(_handle, status), "response_set_status");
    }
    int status() const noexcept { return detail::host().response_status(_handle); }
    void setHeader(std::string_view name, std::string_view value)
    {
        detail::check(detail::host().response_set_header(_handle, detail::str(name), detail::str(value)),
                      "response_set_header");
    }
    void addHeader(std::string_view name, std::string_view value)
    {
        detail::check(detail::host().response_add_header(_handle, detail::str(name), detail::str(value)),
                      "response_add_header");
    }
    std::optional<std::string_view> header(std::string_view name) const
    {
        serval_str_t out{};
        return detail::optional(detail::host().response_header(_handle, detail::str(name), &out), out,
                                "response_header");
    }
    void removeHeader(std::string_view name)
    {
        serval_status_t status = detail::host().response_remove_header(_handle, detail::str(name));
        if (status != SERVAL_NOT_FOUND) detail::check(status, "response_remove_header");
    }
    void setContentType(std::string_view type)
    {
        detail::check(detail::host().response_set_content_type(_handle, detail::str(type)),
                      "response_set_content_type");
    }
    void setContentLength(int64_t length)
    {
        detail::check(detail::host().response_set_content_length(_handle, length),
                      "response_set_content_length");
    }
    void addCookie(const Cookie& cookie)
    {
        serval_cookie_t c{};
        c.struct_size = sizeof c;
        c.abi_major = SERVAL_ABI_MAJOR;
        c.abi_minor = SERVAL_ABI_MINOR;
        c.name = detail::str(cookie.name);
        c.value = detail::str(cookie.value);
        c.path = detail::str(cookie.path);
        c.domain = detail::str(cookie.domain);
        c.max_age = cookie.maxAge;
        c.http_only = cookie.httpOnly;
        c.secure = cookie.secure;
        c.same_site = detail::str(cookie.sameSite);
        detail::check(detail::host().response_add_cookie(_handle, &c), "response_add_cookie");
    }

    /// Appends to the body (copied into the host's buffer).
    void write(std::string_view data)
    {
        syncStream();
        detail::check(detail::host().response_write(_handle, data.data(), data.size()), "response_write");
    }
    /// The body as a std::ostream (created on first use, buffered, synced by write/flush and at
    /// the end of the hook).
    std::ostream& out()
    {
        if (!_out) _out = std::make_unique<Stream>(_handle);
        return _out->stream;
    }
    /// Commits the head and sends what is buffered. Returns false if the client went away.
    bool flush()
    {
        syncStream();
        serval_status_t status = detail::host().response_flush(_handle);
        if (status == SERVAL_CLIENT_GONE) return false;
        detail::check(status, "response_flush");
        return true;
    }
    bool isCommitted() const noexcept { return detail::host().response_is_committed(_handle); }
    void resetBuffer()
    {
        if (_out) _out->stream.flush();
        detail::check(detail::host().response_reset_buffer(_handle), "response_reset_buffer");
    }
    /// Error response rendered by the container (the app's <error-page> if any). False if committed.
    bool sendError(int status, std::string_view message = {})
    {
        return accepted(detail::host().response_send_error(_handle, status, detail::str(message)),
                        "response_send_error");
    }
    /// Redirect (302 by default; 303 after a POST). False if committed.
    bool sendRedirect(std::string_view location, int status = 302)
    {
        return accepted(detail::host().response_send_redirect(_handle, detail::str(location), status),
                        "response_send_redirect");
    }

    /// Pushes the out() stream's buffer to the host (the SDK calls it at the end of each hook).
    void syncStream()
    {
        if (_out) _out->stream.flush();
    }

private:
    struct Stream
    {
        explicit Stream(serval_response_t* response) : buffer(response), stream(&buffer) {}
        detail::OutBuffer buffer;
        std::ostream stream;
    };

    static bool accepted(serval_status_t status, const char* what)
    {
        if (status == SERVAL_COMMITTED) return false;
        detail::check(status, what);
        return true;
    }

    serval_response_t* _handle;
    std::unique_ptr<Stream> _out;
};

} // namespace serval
