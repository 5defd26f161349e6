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

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <istream>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace serval {

class DataSource;

/// Thrown by the views when a host call fails; carries the status.
class Error : public std::runtime_error
{
public:
    Error(serval_status_t status, const std::string& what) : std::runtime_error(what), _status(status) {}
    serval_status_t status() const noexcept { return _status; }

private:
    serval_status_t _status;
};

/// Thrown by app code (or the SDK's helpers) to answer with an HTTP error: the barrier around
/// doGet()/doFilter() turns it into Response::sendError(status, message), so the app's
/// <error-page> for that status (or the container's page) answers, and nothing is logged as a
/// failure. `throw serval::HttpError(404, "no such entry");`
class HttpError : public Error
{
public:
    HttpError(int status, const std::string& message) : Error(SERVAL_ERROR, message), _httpStatus(status) {}
    int httpStatus() const noexcept { return _httpStatus; }

private:
    int _httpStatus;
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

/// True if the host table has `member` (appended by a later minor than 1.0). The C++ layer asks
/// before every call to a member added after ABI 1.0, and throws Error(SERVAL_UNSUPPORTED) when
/// the host is too old: the barrier turns that into a failed hook with that sentence.
#define SERVAL_HOST_HAS(member) SERVAL_HAS_MEMBER(&::serval::detail::host(), serval_host_api_t, member)
inline void requireHost(bool present, const char* function)
{
    if (!present) {
        throw Error(SERVAL_UNSUPPORTED, std::string("this container has no ") + function +
                                            " (ABI 1.1 or later): run the app on a newer Serval");
    }
}

/// Parses a whole decimal number, or false. No locale, no leading '+' or spaces.
template <typename T> bool parseNumber(std::string_view text, T& out) noexcept
{
    if (text.empty()) return false;
    if constexpr (std::is_same_v<T, bool>) {
        if (text == "true" || text == "1" || text == "on") return out = true, true;
        if (text == "false" || text == "0" || text == "off") return out = false, true;
        return false;
    } else if constexpr (std::is_integral_v<T>) {
        auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
        return error == std::errc() && end == text.data() + text.size();
    } else {
        std::string copy(
            text); // strtod needs a terminator; from_chars for floating point is not everywhere yet
        if (copy.find_first_not_of("0123456789+-.eE") != std::string::npos) return false;
        char* end = nullptr;
        out = static_cast<T>(std::strtod(copy.c_str(), &end));
        return end == copy.c_str() + copy.size();
    }
}

inline bool equalsIgnoreCase(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
        char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] + 32) : b[i];
        if (x != y) return false;
    }
    return true;
}

inline std::string_view trim(std::string_view s) noexcept
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

/// How well the Accept header `accept` takes `type` ("application/json"): the q-value of the
/// most specific media range that matches (RFC 9110 section 12.5.1), 0 if none does. No Accept
/// header takes everything (1).
inline double acceptQuality(std::optional<std::string_view> accept, std::string_view type)
{
    if (!accept) return 1.0;
    size_t slash = type.find('/');
    std::string_view major = type.substr(0, slash);
    double quality = 0;
    int best = 0; // 3: type/subtype, 2: type/*, 1: */*
    std::string_view rest = *accept;
    while (!rest.empty()) {
        size_t comma = rest.find(',');
        std::string_view range = trim(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        size_t semicolon = range.find(';');
        std::string_view media = trim(range.substr(0, semicolon));
        double q = 1.0;
        for (std::string_view params = semicolon == std::string_view::npos ? std::string_view()
                                                                           : range.substr(semicolon + 1);
             !params.empty();) {
            size_t next = params.find(';');
            std::string_view param = trim(params.substr(0, next));
            params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
            if (param.size() > 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=')
                parseNumber(param.substr(2), q);
        }
        int specificity =
            media == "*/*" ? 1
            : (media.size() == major.size() + 2 && equalsIgnoreCase(media.substr(0, major.size()), major) &&
               media.substr(major.size()) == "/*")
                ? 2
            : equalsIgnoreCase(media, type) ? 3
                                            : 0;
        if (specificity > best) {
            best = specificity;
            quality = q;
        }
    }
    return quality;
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
    /// data/<host>/<app>: a directory for the app's own files, shared by its versions and kept
    /// across redeploys (ABI 1.1), where its embedded databases live too; nullopt when the
    /// container gives the app none.
    std::optional<std::string_view> dataDirectory() const
    {
        serval_str_t out{};
        serval_status_t status = detail::host().context_str(_handle, SERVAL_CTX_DATA_DIR, &out);
        if (status == SERVAL_NOT_FOUND || status == SERVAL_INVALID_ARGUMENT)
            return std::nullopt; // or a 1.0 host
        detail::check(status, "context_str");
        return detail::view(out);
    }
    /// The data source the app declared as `name` in WEB-INF/web.xml (<resource-ref>). Defined in
    /// serval/db.hpp (servlet.hpp includes it). Throws Error when it is not declared.
    DataSource dataSource(std::string_view name) const;

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

namespace detail {

/// ABI 1.2 functions are used only once the host is known to have them: an app built with this
/// SDK still loads in a 1.0 host, where sessions answer SERVAL_UNSUPPORTED.
inline bool hostHasSessions() noexcept
{
    return SERVAL_HAS_MEMBER(&host(), serval_host_api_t, session_change_id);
}

} // namespace detail

/// The request's HttpSession (ABI 1.2): a view valid until the hook returns.
///
/// Values are bytes: get() returns a view (valid until that attribute changes or the hook
/// returns), set() copies. Each set() or remove() is one attribute write, durable before the
/// response head leaves; two requests setting different attributes never lose each other's.
/// The typed helpers store integers and bool as decimal text ("42", "1").
/// Throws serval::Error on failure (SERVAL_INVALID_ARGUMENT once invalidated).
class Session
{
public:
    explicit Session(serval_session_t* handle) noexcept : _handle(handle) {}
    serval_session_t* handle() const noexcept { return _handle; }

    /// The id as the cookie carries it; changes with changeId().
    std::string_view id() const
    {
        serval_str_t out{};
        detail::check(detail::host().session_id(_handle, &out), "session_id");
        return detail::view(out);
    }
    int64_t creationTime() const
    {
        return number<int64_t>(detail::host().session_creation_time, "session_creation_time");
    }
    int64_t lastAccessedTime() const
    {
        return number<int64_t>(detail::host().session_last_accessed, "session_last_accessed");
    }
    int32_t maxInactiveInterval() const
    {
        return number<int32_t>(detail::host().session_get_max_inactive, "session_get_max_inactive");
    }
    void setMaxInactiveInterval(int32_t seconds)
    {
        detail::check(detail::host().session_set_max_inactive(_handle, seconds), "session_set_max_inactive");
    }
    bool isNew() const { return number<bool>(detail::host().session_is_new, "session_is_new"); }

    std::optional<std::string_view> get(std::string_view name) const
    {
        serval_str_t out{};
        return detail::optional(detail::host().session_get_attribute(_handle, detail::str(name), &out), out,
                                "session_get_attribute");
    }
    void set(std::string_view name, std::string_view value)
    {
        detail::check(detail::host().session_set_attribute(_handle, detail::str(name), detail::str(value)),
                      "session_set_attribute");
    }
    /// Typed: integers and bool, as decimal text. nullopt when absent or not a number of T.
    template <typename T>
    std::enable_if_t<std::is_integral_v<T>, std::optional<T>> get(std::string_view name) const
    {
        std::optional<std::string_view> text = get(name);
        if (!text) return std::nullopt;
        T value{};
        if constexpr (std::is_same_v<T, bool>) {
            if (*text == "1") return true;
            if (*text == "0") return false;
            return std::nullopt;
        } else {
            auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
            if (error != std::errc() || end != text->data() + text->size()) return std::nullopt;
            return value;
        }
    }
    template <typename T> std::enable_if_t<std::is_integral_v<T>> set(std::string_view name, T value)
    {
        if constexpr (std::is_same_v<T, bool>) {
            set(name, std::string_view(value ? "1" : "0"));
        } else {
            char buffer[24];
            auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
            (void)error;
            set(name, std::string_view(buffer, static_cast<size_t>(end - buffer)));
        }
    }
    void remove(std::string_view name)
    {
        serval_status_t status = detail::host().session_remove_attribute(_handle, detail::str(name));
        if (status != SERVAL_NOT_FOUND) detail::check(status, "session_remove_attribute");
    }
    /// Every attribute name (views valid until an attribute changes).
    std::vector<std::string_view> names() const
    {
        std::vector<serval_str_t> raw;
        size_t count = 0;
        detail::check(detail::host().session_attribute_names(_handle, nullptr, 0, &count),
                      "session_attribute_names");
        raw.resize(count);
        detail::check(detail::host().session_attribute_names(_handle, raw.data(), raw.size(), &count),
                      "session_attribute_names");
        std::vector<std::string_view> result;
        for (size_t i = 0; i < raw.size() && i < count; ++i)
            result.push_back(detail::view(raw[i]));
        return result;
    }
    /// Ends the session; Request::session() afterwards makes a new one.
    void invalidate() { detail::check(detail::host().session_invalidate(_handle), "session_invalidate"); }
    /// A new id, the same attributes: call it at login, before the response is flushed.
    void changeId() { detail::check(detail::host().session_change_id(_handle), "session_change_id"); }

private:
    template <typename T, typename Fn> T number(Fn fn, const char* what) const
    {
        T out{};
        detail::check(fn(_handle, &out), what);
        return out;
    }

    serval_session_t* _handle;
};

/// One part of a multipart/form-data body (javax.servlet.http.Part). Views into host memory,
/// valid until the hook returns.
struct Part
{
    std::string_view name;        ///< the form field
    std::string_view filename;    ///< as the client sent it: any bytes, never a path to trust
    std::string_view contentType; ///< "" when the part had none (text/plain)
    std::string_view content;
    bool isFile = false; ///< the part carried a filename (a file field, even an empty one)

    size_t size() const noexcept { return content.size(); }
};

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
    /// A query or form parameter as a number or bool, `fallback` when absent; throws
    /// HttpError(400) when present but not one ("page=x" for an int).
    ///   int page = request.parameter("page", 1);
    template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T>>>
    T parameter(std::string_view name, T fallback) const
    {
        std::optional<std::string_view> text = parameter(name);
        if (!text) return fallback;
        T value{};
        if (!detail::parseNumber(*text, value))
            throw HttpError(400, "parameter \"" + std::string(name) + "\" is not a valid " +
                                     (std::is_same_v<T, bool> ? "true/false" : "number"));
        return value;
    }
    /// A query or form parameter, `fallback` when absent.
    std::string_view parameter(std::string_view name, std::string_view fallback) const
    {
        return parameter(name).value_or(fallback);
    }

    /// Segment `index` of the path info, decoded: for a servlet mapped to "/items/*",
    /// "/items/42/edit" gives "42" at 0 and "edit" at 1. nullopt when there is no such segment.
    std::optional<std::string_view> pathParameter(size_t index = 0) const
    {
        std::optional<std::string_view> info = pathInfo();
        if (!info) return std::nullopt;
        std::string_view rest = *info;
        while (!rest.empty()) {
            rest.remove_prefix(rest.front() == '/' ? 1 : 0);
            size_t slash = rest.find('/');
            std::string_view segment = rest.substr(0, slash);
            if (index-- == 0)
                return segment.empty() ? std::nullopt : std::optional<std::string_view>(segment);
            rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
        }
        return std::nullopt;
    }
    /// The same segment as a number: nullopt when absent or not a number (usually a 404).
    template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T>>>
    std::optional<T> pathParameter(size_t index = 0) const
    {
        std::optional<std::string_view> text = pathParameter(index);
        T value{};
        if (!text || !detail::parseNumber(*text, value)) return std::nullopt;
        return value;
    }

    /// Content negotiation: does the Accept header take `type` ("application/json")? Wildcards
    /// and q-values count, the most specific range decides; no Accept header takes anything.
    bool accepts(std::string_view type) const { return detail::acceptQuality(header("Accept"), type) > 0; }

    /// The parts of a multipart/form-data body (ABI 1.1), empty for another Content-Type. The
    /// container parses the body once, strictly, within the servlet's <multipart-config>
    /// limits; text fields are also parameter()s. Throws HttpError(400) for a malformed body,
    /// HttpError(413) over the limits.
    std::vector<Part> parts() const
    {
        detail::requireHost(SERVAL_HOST_HAS(request_parts), "request_parts");
        std::vector<serval_part_t> raw;
        size_t count = 0;
        serval_status_t status = detail::host().request_parts(_handle, nullptr, 0, &count);
        if (status == SERVAL_OK) {
            raw.resize(count);
            status = detail::host().request_parts(_handle, raw.data(), raw.size(), &count);
        }
        if (status == SERVAL_MALFORMED) throw HttpError(400, "the multipart/form-data body is malformed");
        if (status == SERVAL_TOO_LARGE) throw HttpError(413, "the upload is over this form's size limits");
        detail::check(status, "request_parts");
        std::vector<Part> parts;
        for (size_t i = 0; i < raw.size() && i < count; ++i) {
            const serval_part_t& p = raw[i];
            parts.push_back(Part{detail::view(p.name), detail::view(p.filename), detail::view(p.content_type),
                                 detail::view(p.content), (p.flags & SERVAL_PART_FILE) != 0});
        }
        return parts;
    }
    /// The first part of that name, or nullopt.
    std::optional<Part> part(std::string_view name) const
    {
        for (const Part& p : parts()) {
            if (p.name == name) return p;
        }
        return std::nullopt;
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

    /// HttpServletRequest.getSession(create): nullopt when there is none and !create. Throws
    /// serval::Error with SERVAL_UNAVAILABLE when the session store is down (the host answers
    /// 503) and SERVAL_UNSUPPORTED in a host older than ABI 1.2.
    std::optional<Session> session(bool create = true)
    {
        if (!detail::hostHasSessions())
            throw Error(SERVAL_UNSUPPORTED, "sessions need a Serval host with ABI 1.2");
        serval_session_t* out = nullptr;
        serval_status_t status = detail::host().request_session(_handle, create, &out);
        if (status == SERVAL_NOT_FOUND) return std::nullopt;
        if (status == SERVAL_UNAVAILABLE) throw Error(status, "the session store is not answering");
        detail::check(status, "request_session");
        return Session(out);
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
