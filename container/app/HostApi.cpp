#include "app/HostApi.h"

#include "app/AsyncHostApi.h"
#include "app/HostApiInternal.h"
#include "http/HttpRequest.h"
#include "http/HttpResponse.h"
#include "http/Token.h"
#include "realm/PasswordHash.h"
#include "realm/Secrets.h"
#include "util/Log.h"
#include "util/Strings.h"

#include <cstring>
#include <new>
#include <optional>
#include <string_view>

namespace serval::app {
namespace {

// One per thread: written by set_error() only when a hook fails, so the success path never allocates.
thread_local std::string t_error;

using detail::guarded;
using detail::str;
using detail::view;

/// Header values must not smuggle a second header or a second response.
bool isSafeValue(std::string_view s) noexcept
{
    for (unsigned char c : s) {
        if (c == '\r' || c == '\n' || c == '\0') return false;
    }
    return true;
}

/// Two-call list fill from a vector of string pairs.
template <typename Pairs>
serval_status_t fillPairs(const Pairs& pairs, serval_pair_t* out, size_t capacity, size_t* count) noexcept
{
    size_t total = 0;
    for (const auto& [name, value] : pairs) {
        if (out != nullptr && total < capacity) out[total] = serval_pair_t{str(name), str(value)};
        ++total;
    }
    if (count != nullptr) *count = total;
    return SERVAL_OK;
}

serval_status_t copyOut(const std::string& value, char* buffer, size_t capacity, size_t* len) noexcept
{
    if (len != nullptr) *len = value.size();
    if (capacity < value.size()) return SERVAL_BUFFER_TOO_SMALL;
    if (!value.empty()) std::memcpy(buffer, value.data(), value.size());
    return SERVAL_OK;
}

core::Request& req(serval_request_t* r) noexcept
{
    return *r->request;
}
core::Response& resp(serval_response_t* r) noexcept
{
    return *r->response;
}
core::ServletContext& ctx(serval_context_t* c) noexcept
{
    return *reinterpret_cast<core::ServletContext*>(c);
}

// ---- error ----

void setError(serval_str_t message) noexcept
{
    try {
        t_error.assign(view(message));
    } catch (...) {
        t_error.clear();
    }
}

// ---- request ----

serval_status_t requestStr(serval_request_t* request, serval_request_field_t field,
                           serval_str_t* out) noexcept
{
    core::Request& r = req(request);
    switch (field) {
    case SERVAL_REQ_METHOD:
        *out = str(r.method());
        return SERVAL_OK;
    case SERVAL_REQ_REQUEST_URI:
        *out = str(r.requestUri());
        return SERVAL_OK;
    case SERVAL_REQ_CONTEXT_PATH:
        *out = str(r.contextPath());
        return SERVAL_OK;
    case SERVAL_REQ_SERVLET_PATH:
        *out = str(r.servletPath());
        return SERVAL_OK;
    case SERVAL_REQ_PATH_INFO:
        if (!r.pathInfo()) return SERVAL_NOT_FOUND;
        *out = str(*r.pathInfo());
        return SERVAL_OK;
    case SERVAL_REQ_QUERY_STRING:
        *out = str(r.queryString());
        return SERVAL_OK;
    case SERVAL_REQ_PROTOCOL:
        *out = str(r.protocol());
        return SERVAL_OK;
    case SERVAL_REQ_SCHEME:
        *out = str(r.http().scheme());
        return SERVAL_OK;
    case SERVAL_REQ_REMOTE_ADDR:
        *out = str(r.http().remoteAddress);
        return SERVAL_OK;
    case SERVAL_REQ_LOCAL_ADDR:
        *out = str(r.http().localAddress);
        return SERVAL_OK;
    case SERVAL_REQ_SERVER_NAME: {
        std::string_view host = r.http().host();
        if (!host.empty() && host.front() == '[') { // "[::1]:8080"
            size_t end = host.find(']');
            host = end == std::string_view::npos ? host : host.substr(0, end + 1);
        } else if (size_t colon = host.rfind(':'); colon != std::string_view::npos) {
            host = host.substr(0, colon);
        }
        *out = str(host);
        return SERVAL_OK;
    }
    case SERVAL_REQ_CONTENT_TYPE:
        if (!r.http().hasHeader("Content-Type")) return SERVAL_NOT_FOUND;
        *out = str(r.http().header("Content-Type"));
        return SERVAL_OK;
    default:
        return SERVAL_INVALID_ARGUMENT;
    }
}

serval_status_t requestInt(serval_request_t* request, serval_request_int_field_t field, int64_t* out) noexcept
{
    core::Request& r = req(request);
    switch (field) {
    case SERVAL_REQ_REMOTE_PORT:
        *out = r.http().remotePort;
        return SERVAL_OK;
    case SERVAL_REQ_LOCAL_PORT:
        *out = r.http().localPort;
        return SERVAL_OK;
    case SERVAL_REQ_CONTENT_LENGTH:
        *out = static_cast<int64_t>(r.body().size());
        return SERVAL_OK;
    case SERVAL_REQ_SECURE:
        *out = r.http().secure ? 1 : 0;
        return SERVAL_OK;
    case SERVAL_REQ_DISPATCHER:
        *out = r.dispatcherType() == core::DispatcherType::Error ? SERVAL_DISPATCH_ERROR
                                                                 : SERVAL_DISPATCH_REQUEST;
        return SERVAL_OK;
    default:
        return SERVAL_INVALID_ARGUMENT;
    }
}

serval_status_t requestHeader(serval_request_t* request, serval_str_t name, serval_str_t* out) noexcept
{
    for (const http::Header& header : req(request).http().headers) {
        if (util::equalsIgnoreCase(header.name, view(name))) {
            *out = str(header.value);
            return SERVAL_OK;
        }
    }
    return SERVAL_NOT_FOUND;
}

serval_status_t requestHeaders(serval_request_t* request, serval_pair_t* out, size_t capacity,
                               size_t* count) noexcept
{
    size_t total = 0;
    for (const http::Header& header : req(request).http().headers) {
        if (out != nullptr && total < capacity)
            out[total] = serval_pair_t{str(header.name), str(header.value)};
        ++total;
    }
    if (count != nullptr) *count = total;
    return SERVAL_OK;
}

serval_status_t requestParameter(serval_request_t* request, serval_str_t name, serval_str_t* out) noexcept
{
    return guarded([&] {
        const std::string* value = req(request).parameter(view(name));
        if (value == nullptr) return SERVAL_NOT_FOUND;
        *out = str(*value);
        return SERVAL_OK;
    });
}

serval_status_t requestParameterValues(serval_request_t* request, serval_str_t name, serval_str_t* out,
                                       size_t capacity, size_t* count) noexcept
{
    return guarded([&] {
        size_t total = 0;
        for (const auto& [key, value] : req(request).parameters()) {
            if (key != view(name)) continue;
            if (out != nullptr && total < capacity) out[total] = str(value);
            ++total;
        }
        if (count != nullptr) *count = total;
        return SERVAL_OK;
    });
}

serval_status_t requestParameters(serval_request_t* request, serval_pair_t* out, size_t capacity,
                                  size_t* count) noexcept
{
    return guarded([&] { return fillPairs(req(request).parameters(), out, capacity, count); });
}

serval_status_t requestCookie(serval_request_t* request, serval_str_t name, serval_str_t* out) noexcept
{
    return guarded([&] {
        const std::string* value = req(request).cookie(view(name));
        if (value == nullptr) return SERVAL_NOT_FOUND;
        *out = str(*value);
        return SERVAL_OK;
    });
}

serval_status_t requestCookies(serval_request_t* request, serval_pair_t* out, size_t capacity,
                               size_t* count) noexcept
{
    return guarded([&] { return fillPairs(req(request).cookies(), out, capacity, count); });
}

serval_status_t requestRead(serval_request_t* request, char* buffer, size_t capacity, size_t* read) noexcept
{
    *read = req(request).readBody(buffer, capacity);
    return SERVAL_OK;
}

serval_status_t requestAttribute(serval_request_t* request, serval_str_t name, serval_str_t* out) noexcept
{
    return guarded([&] {
        const std::string* value = req(request).attribute(view(name));
        if (value == nullptr) return SERVAL_NOT_FOUND;
        *out = str(*value);
        return SERVAL_OK;
    });
}

serval_status_t requestSetAttribute(serval_request_t* request, serval_str_t name, serval_str_t value) noexcept
{
    return guarded([&] {
        req(request).setAttribute(view(name), view(value));
        return SERVAL_OK;
    });
}

serval_status_t requestRemoveAttribute(serval_request_t* request, serval_str_t name) noexcept
{
    return guarded([&] {
        if (req(request).attribute(view(name)) == nullptr) return SERVAL_NOT_FOUND;
        req(request).removeAttribute(view(name));
        return SERVAL_OK;
    });
}

serval_context_t* requestContext(serval_request_t* request) noexcept
{
    return contextHandle(request->context);
}

// ---- response ----

serval_status_t responseSetStatus(serval_response_t* response, int32_t status) noexcept
{
    if (status < 100 || status > 999) return SERVAL_INVALID_ARGUMENT;
    if (resp(response).isCommitted()) return SERVAL_COMMITTED;
    resp(response).setStatus(status);
    return SERVAL_OK;
}

int32_t responseStatus(serval_response_t* response) noexcept
{
    return resp(response).status();
}

serval_status_t responseSetHeader(serval_response_t* response, serval_str_t name, serval_str_t value) noexcept
{
    if (!http::isToken(view(name)) || !isSafeValue(view(value))) return SERVAL_INVALID_ARGUMENT;
    if (resp(response).isCommitted()) return SERVAL_COMMITTED;
    return guarded([&] {
        resp(response).setHeader(view(name), view(value));
        return SERVAL_OK;
    });
}

serval_status_t responseAddHeader(serval_response_t* response, serval_str_t name, serval_str_t value) noexcept
{
    if (!http::isToken(view(name)) || !isSafeValue(view(value))) return SERVAL_INVALID_ARGUMENT;
    if (resp(response).isCommitted()) return SERVAL_COMMITTED;
    return guarded([&] {
        resp(response).addHeader(view(name), view(value));
        return SERVAL_OK;
    });
}

serval_status_t responseHeader(serval_response_t* response, serval_str_t name, serval_str_t* out) noexcept
{
    http::HttpResponse& http = resp(response).http();
    if (!http.hasHeader(view(name))) return SERVAL_NOT_FOUND;
    *out = str(http.header(view(name)));
    return SERVAL_OK;
}

serval_status_t responseRemoveHeader(serval_response_t* response, serval_str_t name) noexcept
{
    http::HttpResponse& http = resp(response).http();
    if (http.isCommitted()) return SERVAL_COMMITTED;
    if (!http.hasHeader(view(name))) return SERVAL_NOT_FOUND;
    http.removeHeader(view(name));
    return SERVAL_OK;
}

serval_status_t responseSetContentType(serval_response_t* response, serval_str_t type) noexcept
{
    if (!isSafeValue(view(type))) return SERVAL_INVALID_ARGUMENT;
    if (resp(response).isCommitted()) return SERVAL_COMMITTED;
    return guarded([&] {
        resp(response).setContentType(view(type));
        return SERVAL_OK;
    });
}

serval_status_t responseSetContentLength(serval_response_t* response, int64_t length) noexcept
{
    if (length < -1) return SERVAL_INVALID_ARGUMENT;
    if (resp(response).isCommitted()) return SERVAL_COMMITTED;
    resp(response).http().setContentLength(length);
    return SERVAL_OK;
}

serval_status_t responseAddCookie(serval_response_t* response, const serval_cookie_t* cookie) noexcept
{
    if (cookie == nullptr || cookie->struct_size < sizeof(serval_cookie_t)) return SERVAL_INVALID_ARGUMENT;
    if (!http::isToken(view(cookie->name))) return SERVAL_INVALID_ARGUMENT;
    for (serval_str_t s : {cookie->value, cookie->path, cookie->domain, cookie->same_site}) {
        for (unsigned char c : view(s)) {
            if (c < 0x21 || c == ';' || c == ',' || c == 0x7f)
                return SERVAL_INVALID_ARGUMENT; // RFC 6265 cookie-octet
        }
    }
    if (resp(response).isCommitted()) return SERVAL_COMMITTED;
    return guarded([&] {
        core::Cookie c;
        c.name.assign(view(cookie->name));
        c.value.assign(view(cookie->value));
        c.path.assign(view(cookie->path));
        c.domain.assign(view(cookie->domain));
        c.maxAge = cookie->max_age;
        c.httpOnly = cookie->http_only;
        c.secure = cookie->secure;
        c.sameSite.assign(view(cookie->same_site));
        resp(response).addCookie(c);
        return SERVAL_OK;
    });
}

serval_status_t responseWrite(serval_response_t* response, const char* data, size_t len) noexcept
{
    if (len == 0) return SERVAL_OK;
    return guarded([&] {
        resp(response).write(std::string_view(data, len));
        return SERVAL_OK;
    });
}

serval_status_t responseFlush(serval_response_t* response) noexcept
{
    return resp(response).flush() ? SERVAL_OK : SERVAL_CLIENT_GONE;
}

bool responseIsCommitted(serval_response_t* response) noexcept
{
    return resp(response).isCommitted();
}

serval_status_t responseResetBuffer(serval_response_t* response) noexcept
{
    resp(response).http().resetBuffer();
    return SERVAL_OK;
}

serval_status_t responseSendError(serval_response_t* response, int32_t status, serval_str_t message) noexcept
{
    if (status < 400 || status > 599) return SERVAL_INVALID_ARGUMENT;
    return guarded(
        [&] { return resp(response).sendError(status, view(message)) ? SERVAL_OK : SERVAL_COMMITTED; });
}

serval_status_t responseSendRedirect(serval_response_t* response, serval_str_t location,
                                     int32_t status) noexcept
{
    if (status == 0) status = 302;
    if (status != 301 && status != 302 && status != 303 && status != 307 && status != 308) {
        return SERVAL_INVALID_ARGUMENT;
    }
    if (location.len == 0 || !isSafeValue(view(location))) return SERVAL_INVALID_ARGUMENT;
    return guarded(
        [&] { return resp(response).sendRedirect(view(location), status) ? SERVAL_OK : SERVAL_COMMITTED; });
}

// ---- filter chain ----

serval_status_t chainDoFilter(serval_chain_t* chain, serval_request_t* request,
                              serval_response_t* response) noexcept
{
    try {
        chain->failure = chain->chain->doFilter(req(request), resp(response));
        return chain->failure.ok() ? SERVAL_OK : SERVAL_ERROR;
    } catch (...) {
        // Kept for the filter's adapter, which rethrows it unless the filter handled the failure.
        chain->exception = std::current_exception();
        return SERVAL_ERROR;
    }
}

// ---- config ----

serval_status_t configName(serval_config_t* config, serval_str_t* out) noexcept
{
    *out = str(config->config.name);
    return SERVAL_OK;
}

serval_status_t configInitParameter(serval_config_t* config, serval_str_t name, serval_str_t* out) noexcept
{
    return guarded([&] {
        auto it = config->config.initParams.find(std::string(view(name)));
        if (it == config->config.initParams.end()) return SERVAL_NOT_FOUND;
        *out = str(it->second);
        return SERVAL_OK;
    });
}

serval_status_t configInitParameters(serval_config_t* config, serval_pair_t* out, size_t capacity,
                                     size_t* count) noexcept
{
    return fillPairs(config->config.initParams, out, capacity, count);
}

serval_context_t* configContext(serval_config_t* config) noexcept
{
    return contextHandle(config->config.context);
}

// ---- context ----

serval_status_t contextStr(serval_context_t* context, serval_context_field_t field,
                           serval_str_t* out) noexcept
{
    switch (field) {
    case SERVAL_CTX_CONTEXT_PATH:
        *out = str(ctx(context).contextPath());
        return SERVAL_OK;
    case SERVAL_CTX_DISPLAY_NAME:
        *out = str(ctx(context).displayName());
        return SERVAL_OK;
    case SERVAL_CTX_DATA_DIR:
        if (ctx(context).dataDirectory().empty()) return SERVAL_NOT_FOUND;
        *out = str(ctx(context).dataDirectory());
        return SERVAL_OK;
    default:
        return SERVAL_INVALID_ARGUMENT;
    }
}

serval_status_t contextInitParameter(serval_context_t* context, serval_str_t name, serval_str_t* out) noexcept
{
    const std::string* value = ctx(context).initParameter(view(name));
    if (value == nullptr) return SERVAL_NOT_FOUND;
    *out = str(*value);
    return SERVAL_OK;
}

serval_status_t contextInitParameters(serval_context_t* context, serval_pair_t* out, size_t capacity,
                                      size_t* count) noexcept
{
    return fillPairs(ctx(context).initParameters(), out, capacity, count);
}

serval_status_t contextAttribute(serval_context_t* context, serval_str_t name, char* buffer, size_t capacity,
                                 size_t* len) noexcept
{
    return guarded([&] {
        std::string value;
        if (!ctx(context).attribute(view(name), value)) return SERVAL_NOT_FOUND;
        return copyOut(value, buffer, capacity, len);
    });
}

serval_status_t contextSetAttribute(serval_context_t* context, serval_str_t name, serval_str_t value) noexcept
{
    return guarded([&] {
        ctx(context).setAttribute(view(name), view(value));
        return SERVAL_OK;
    });
}

serval_status_t contextRemoveAttribute(serval_context_t* context, serval_str_t name) noexcept
{
    return guarded([&] {
        std::string ignored;
        if (!ctx(context).attribute(view(name), ignored)) return SERVAL_NOT_FOUND;
        ctx(context).removeAttribute(view(name));
        return SERVAL_OK;
    });
}

serval_status_t contextRealPath(serval_context_t* context, serval_str_t path, char* buffer, size_t capacity,
                                size_t* len) noexcept
{
    return guarded([&] {
        std::string real = ctx(context).realPath(view(path));
        if (real.empty()) return SERVAL_NOT_FOUND;
        return copyOut(real, buffer, capacity, len);
    });
}

void contextLog(serval_context_t* context, serval_log_level_t level, serval_str_t message) noexcept
{
    util::LogLevel mapped = level <= SERVAL_LOG_DEBUG  ? util::LogLevel::Debug
                            : level == SERVAL_LOG_INFO ? util::LogLevel::Info
                            : level == SERVAL_LOG_WARN ? util::LogLevel::Warn
                                                       : util::LogLevel::Error;
    ctx(context).log(mapped, view(message));
}

// ---- ABI 1.1: sdk helpers ----

serval_status_t requestParts(serval_request_t* request, serval_part_t* out, size_t capacity,
                             size_t* count) noexcept
{
    return guarded([&] {
        core::Request& r = req(request);
        const std::vector<core::Part>& parts = r.parts();
        if (count != nullptr) *count = parts.size();
        switch (r.partsResult()) {
        case core::MultipartResult::Malformed:
            return SERVAL_MALFORMED;
        case core::MultipartResult::TooLarge:
            return SERVAL_TOO_LARGE;
        case core::MultipartResult::Ok:
            break;
        }
        for (size_t i = 0; out != nullptr && i < capacity && i < parts.size(); ++i) {
            const core::Part& p = parts[i];
            out[i] = serval_part_t{str(p.name), str(p.filename), str(p.contentType), str(p.content),
                                   p.isFile ? SERVAL_PART_FILE : 0u};
        }
        return SERVAL_OK;
    });
}

serval_status_t securityRandom(char* buffer, size_t len) noexcept
{
    return guarded([&] {
        std::string bytes = realm::randomBytes(len);
        if (len != 0) std::memcpy(buffer, bytes.data(), len);
        return SERVAL_OK;
    });
}

serval_status_t securityHashPassword(serval_str_t password, char* buffer, size_t capacity,
                                     size_t* len) noexcept
{
    return guarded(
        [&] { return copyOut(realm::PasswordHash::create(view(password)).encode(), buffer, capacity, len); });
}

serval_status_t securityVerifyPassword(serval_str_t password, serval_str_t hash, bool* matches) noexcept
{
    *matches = false;
    return guarded([&] {
        std::optional<realm::PasswordHash> stored = realm::PasswordHash::decode(view(hash));
        if (!stored) return SERVAL_INVALID_ARGUMENT;
        *matches = stored->verify(view(password));
        return SERVAL_OK;
    });
}

/// The key when the server has no secret (unit tests, a Context built without startup): one
/// per process, so signatures hold until the process exits.
const std::string& processSecret()
{
    static const std::string secret = realm::randomBytes(32);
    return secret;
}

serval_status_t contextSign(serval_context_t* context, serval_str_t data, char* mac, size_t capacity) noexcept
{
    if (capacity < 32) return SERVAL_BUFFER_TOO_SMALL;
    return guarded([&] {
        std::string_view secret = ctx(context).signingSecret();
        std::string key = secret.empty() ? processSecret() : std::string(secret);
        // One key per app: the context path (which never holds a NUL) separates the domains.
        std::string message(ctx(context).contextPath());
        message.push_back('\0');
        message.append(view(data));
        std::string digest = realm::hmacSha256(key, message);
        std::memcpy(mac, digest.data(), 32);
        return SERVAL_OK;
    });
}

// ---- ABI 1.2: sessions ----------------------------------------------------------------------------

constexpr size_t kMaxSessionNameBytes = 1024;
constexpr size_t kMaxSessionValueBytes = 1024 * 1024;

/// The session behind a handle, or nullptr once invalidated.
core::HttpSession* live(serval_session_t* s) noexcept
{
    return s->session != nullptr && s->session->valid() ? s->session : nullptr;
}

serval_status_t requestSession(serval_request_t* request, bool create, serval_session_t** out) noexcept
{
    return guarded([&] {
        core::HttpSession* session = req(request).session(create);
        if (session == nullptr) {
            return req(request).sessionStatus() == core::HttpSession::Status::Unavailable ? SERVAL_UNAVAILABLE
                                                                                          : SERVAL_NOT_FOUND;
        }
        request->session.session = session;
        request->session.request = request->request;
        request->session.id.clear();
        *out = &request->session;
        return SERVAL_OK;
    });
}

serval_status_t sessionId(serval_session_t* handle, serval_str_t* out) noexcept
{
    return guarded([&] {
        core::HttpSession* s = live(handle);
        if (s == nullptr) return SERVAL_INVALID_ARGUMENT;
        if (handle->id.empty()) handle->id = s->id();
        *out = str(handle->id);
        return SERVAL_OK;
    });
}

template <typename T, typename F>
serval_status_t sessionNumber(serval_session_t* handle, T* out, F get) noexcept
{
    core::HttpSession* s = live(handle);
    if (s == nullptr) return SERVAL_INVALID_ARGUMENT;
    *out = get(*s);
    return SERVAL_OK;
}

serval_status_t sessionCreationTime(serval_session_t* handle, int64_t* out) noexcept
{
    return sessionNumber(handle, out, [](core::HttpSession& s) { return s.creationTime(); });
}

serval_status_t sessionLastAccessed(serval_session_t* handle, int64_t* out) noexcept
{
    return sessionNumber(handle, out, [](core::HttpSession& s) { return s.lastAccessedTime(); });
}

serval_status_t sessionGetMaxInactive(serval_session_t* handle, int32_t* out) noexcept
{
    return sessionNumber(handle, out, [](core::HttpSession& s) { return s.maxInactiveInterval(); });
}

serval_status_t sessionIsNew(serval_session_t* handle, bool* out) noexcept
{
    return sessionNumber(handle, out, [](core::HttpSession& s) { return s.isNew(); });
}

serval_status_t sessionSetMaxInactive(serval_session_t* handle, int32_t seconds) noexcept
{
    return guarded([&] {
        core::HttpSession* s = live(handle);
        if (s == nullptr) return SERVAL_INVALID_ARGUMENT;
        s->setMaxInactiveInterval(seconds);
        return SERVAL_OK;
    });
}

serval_status_t sessionGetAttribute(serval_session_t* handle, serval_str_t name, serval_str_t* out) noexcept
{
    return guarded([&] {
        core::HttpSession* s = live(handle);
        if (s == nullptr) return SERVAL_INVALID_ARGUMENT;
        const std::string* value = s->attribute(view(name));
        if (value == nullptr) return SERVAL_NOT_FOUND;
        *out = str(*value);
        return SERVAL_OK;
    });
}

serval_status_t sessionSetAttribute(serval_session_t* handle, serval_str_t name, serval_str_t value) noexcept
{
    return guarded([&] {
        core::HttpSession* s = live(handle);
        if (s == nullptr || name.len == 0 || name.len > kMaxSessionNameBytes ||
            value.len > kMaxSessionValueBytes)
            return SERVAL_INVALID_ARGUMENT;
        s->setAttribute(std::string(view(name)), std::string(view(value)));
        return SERVAL_OK;
    });
}

serval_status_t sessionRemoveAttribute(serval_session_t* handle, serval_str_t name) noexcept
{
    return guarded([&] {
        core::HttpSession* s = live(handle);
        if (s == nullptr) return SERVAL_INVALID_ARGUMENT;
        if (s->attribute(view(name)) == nullptr) return SERVAL_NOT_FOUND;
        s->removeAttribute(view(name));
        return SERVAL_OK;
    });
}

serval_status_t sessionAttributeNames(serval_session_t* handle, serval_str_t* out, size_t capacity,
                                      size_t* count) noexcept
{
    return guarded([&] {
        core::HttpSession* s = live(handle);
        if (s == nullptr) return SERVAL_INVALID_ARGUMENT;
        std::vector<std::string_view> names = s->attributeNames();
        for (size_t i = 0; out != nullptr && i < names.size() && i < capacity; ++i)
            out[i] = str(names[i]);
        if (count != nullptr) *count = names.size();
        return SERVAL_OK;
    });
}

serval_status_t sessionInvalidate(serval_session_t* handle) noexcept
{
    return guarded([&] {
        if (live(handle) == nullptr || handle->request == nullptr) return SERVAL_INVALID_ARGUMENT;
        handle->request->invalidateSession();
        return SERVAL_OK;
    });
}

serval_status_t sessionChangeId(serval_session_t* handle) noexcept
{
    return guarded([&] {
        core::HttpSession* s = live(handle);
        if (s == nullptr || handle->request == nullptr) return SERVAL_INVALID_ARGUMENT;
        core::Response* response = handle->request->response();
        if (response != nullptr && response->isCommitted()) return SERVAL_INVALID_ARGUMENT;
        s->changeId();
        handle->id.clear();
        return SERVAL_OK;
    });
}

serval_host_api_t makeTable() noexcept
{
    serval_host_api_t t{};
    t.struct_size = sizeof(serval_host_api_t);
    t.abi_major = SERVAL_ABI_MAJOR;
    t.abi_minor = SERVAL_ABI_MINOR;
    t.set_error = &setError;
    t.request_str = &requestStr;
    t.request_int = &requestInt;
    t.request_header = &requestHeader;
    t.request_headers = &requestHeaders;
    t.request_parameter = &requestParameter;
    t.request_parameter_values = &requestParameterValues;
    t.request_parameters = &requestParameters;
    t.request_cookie = &requestCookie;
    t.request_cookies = &requestCookies;
    t.request_read = &requestRead;
    t.request_attribute = &requestAttribute;
    t.request_set_attribute = &requestSetAttribute;
    t.request_remove_attribute = &requestRemoveAttribute;
    t.request_context = &requestContext;
    t.response_set_status = &responseSetStatus;
    t.response_status = &responseStatus;
    t.response_set_header = &responseSetHeader;
    t.response_add_header = &responseAddHeader;
    t.response_header = &responseHeader;
    t.response_remove_header = &responseRemoveHeader;
    t.response_set_content_type = &responseSetContentType;
    t.response_set_content_length = &responseSetContentLength;
    t.response_add_cookie = &responseAddCookie;
    t.response_write = &responseWrite;
    t.response_flush = &responseFlush;
    t.response_is_committed = &responseIsCommitted;
    t.response_reset_buffer = &responseResetBuffer;
    t.response_send_error = &responseSendError;
    t.response_send_redirect = &responseSendRedirect;
    t.chain_do_filter = &chainDoFilter;
    t.config_name = &configName;
    t.config_init_parameter = &configInitParameter;
    t.config_init_parameters = &configInitParameters;
    t.config_context = &configContext;
    t.context_str = &contextStr;
    t.context_init_parameter = &contextInitParameter;
    t.context_init_parameters = &contextInitParameters;
    t.context_attribute = &contextAttribute;
    t.context_set_attribute = &contextSetAttribute;
    t.context_remove_attribute = &contextRemoveAttribute;
    t.context_real_path = &contextRealPath;
    t.context_log = &contextLog;
    t.request_parts = &requestParts;
    t.security_random = &securityRandom;
    t.security_hash_password = &securityHashPassword;
    t.security_verify_password = &securityVerifyPassword;
    t.context_sign = &contextSign;
    detail::fillDataSourceFunctions(t);
    t.request_session = &requestSession;
    t.session_id = &sessionId;
    t.session_creation_time = &sessionCreationTime;
    t.session_last_accessed = &sessionLastAccessed;
    t.session_get_max_inactive = &sessionGetMaxInactive;
    t.session_set_max_inactive = &sessionSetMaxInactive;
    t.session_is_new = &sessionIsNew;
    t.session_get_attribute = &sessionGetAttribute;
    t.session_set_attribute = &sessionSetAttribute;
    t.session_remove_attribute = &sessionRemoveAttribute;
    t.session_attribute_names = &sessionAttributeNames;
    t.session_invalidate = &sessionInvalidate;
    t.session_change_id = &sessionChangeId;
    addAsyncApi(t); // ABI 1.2: async + WebSocket (AsyncHostApi.cpp)
    return t;
}

} // namespace

const serval_host_api_t& hostApi() noexcept
{
    static const serval_host_api_t table = makeTable();
    return table;
}

void clearError() noexcept
{
    t_error.clear();
}

std::string failureMessage(serval_status_t status)
{
    if (!t_error.empty()) return t_error;
    return "failed with status " + std::to_string(status);
}

} // namespace serval::app
