#include "core/Request.h"

#include "core/Context.h"
#include "core/Response.h"
#include "util/Strings.h"

#include <algorithm>
#include <cstring>

namespace serval::core {
namespace {

/// Appends the pairs of an application/x-www-form-urlencoded string ("a=1&b=x+y").
/// A pair with a malformed escape is skipped (as Tomcat does), never half-decoded.
void parseUrlEncoded(std::string_view text, std::vector<std::pair<std::string, std::string>>& out)
{
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('&', start);
        if (end == std::string_view::npos) end = text.size();
        std::string_view pair = text.substr(start, end - start);
        start = end + 1;
        if (pair.empty()) continue;
        size_t eq = pair.find('=');
        std::string_view rawName = pair.substr(0, eq);
        std::string_view rawValue = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
        auto name = util::percentDecode(rawName, true);
        auto value = util::percentDecode(rawValue, true);
        if (!name || !value || name->empty()) continue;
        out.emplace_back(std::move(*name), std::move(*value));
    }
}

bool isFormBody(const http::HttpRequest& request)
{
    if (request.method != "POST") return false;
    std::string_view type = util::trim(request.header("Content-Type"));
    size_t semicolon = type.find(';');
    if (semicolon != std::string_view::npos) type = util::trim(type.substr(0, semicolon));
    return util::equalsIgnoreCase(type, "application/x-www-form-urlencoded");
}

} // namespace

std::string_view Request::protocol() const noexcept
{
    if (_exchange.request.versionMajor == 2) return "HTTP/2.0"; // Tomcat's name for h2 and h2c
    return _exchange.request.isHttp10() ? std::string_view("HTTP/1.0") : std::string_view("HTTP/1.1");
}

Request::Parsed& Request::parsed()
{
    if (!_parsed) _parsed = std::make_unique<Parsed>();
    return *_parsed;
}

const std::vector<std::pair<std::string, std::string>>& Request::parameters()
{
    Parsed& p = parsed();
    if (p.parameters) return p.parameterList;
    p.parameters = true;
    parseUrlEncoded(_exchange.request.query, p.parameterList);
    if (isFormBody(_exchange.request)) {
        parseUrlEncoded(_exchange.request.body, p.parameterList);
    } else {
        for (const Part& part : parts()) {
            if (!part.isFile) p.parameterList.emplace_back(part.name, std::string(part.content));
        }
    }
    return p.parameterList;
}

const std::vector<Part>& Request::parts()
{
    Parsed& p = parsed();
    if (p.parts) return p.partList;
    p.parts = true;
    std::optional<std::string> boundary = multipartBoundary(_exchange.request.header("Content-Type"));
    if (!boundary) return p.partList;
    MultipartLimits limits;
    if (Wrapper* w = wrapper()) limits = w->multipartLimits();
    p.partsResult = parseMultipart(_exchange.request.body, *boundary, limits, p.partList, p.partsError);
    return p.partList;
}

MultipartResult Request::partsResult()
{
    parts();
    return _parsed->partsResult;
}

std::string Request::partsError()
{
    parts();
    return _parsed->partsError;
}

const std::string* Request::parameter(std::string_view name)
{
    for (const auto& [key, value] : parameters()) {
        if (key == name) return &value;
    }
    return nullptr;
}

HttpSession* Request::session(bool create)
{
    if (!_session) {
        SessionAccess* access = _context->sessionAccess();
        if (access == nullptr) {
            _sessionStatus = HttpSession::Status::NotFound;
            return nullptr;
        }
        _session = access->open(*this);
        if (_response != nullptr) _response->attachSession(_session.get());
    }
    bool had = _session->valid();
    _sessionStatus = _session->resolve(create);
    if (_sessionStatus != HttpSession::Status::Ok) return nullptr;
    if (!had && _session->isNew()) _context->sessionCreated(*_session);
    return _session.get();
}

void Request::invalidateSession()
{
    if (!_session || !_session->valid()) return;
    _context->sessionDestroyed(*_session);
    _session->invalidate();
}

const std::vector<std::pair<std::string, std::string>>& Request::cookies()
{
    Parsed& p = parsed();
    if (p.cookies) return p.cookieList;
    p.cookies = true;
    parseCookies(_exchange.request, p.cookieList);
    return p.cookieList;
}

void Request::parseCookies(const http::HttpRequest& request,
                           std::vector<std::pair<std::string, std::string>>& out)
{
    // RFC 6265 section 5.4: "a=1; b=2", possibly in several Cookie headers. Values may be
    // quoted; malformed pieces (no '=', empty name) are skipped.
    for (const http::Header& header : request.headers) {
        if (!util::equalsIgnoreCase(header.name, "Cookie")) continue;
        for (std::string_view piece : util::splitList(header.value, ';')) {
            size_t eq = piece.find('=');
            if (eq == std::string_view::npos) continue;
            std::string_view name = util::trim(piece.substr(0, eq));
            std::string_view value = util::trim(piece.substr(eq + 1));
            if (name.empty()) continue;
            if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
                value = value.substr(1, value.size() - 2);
            }
            out.emplace_back(std::string(name), std::string(value));
        }
    }
}

const std::string* Request::cookie(std::string_view name)
{
    for (const auto& [key, value] : cookies()) {
        if (key == name) return &value;
    }
    return nullptr;
}

const std::string* Request::attribute(std::string_view name) const
{
    auto it = _attributes.find(name);
    return it == _attributes.end() ? nullptr : &it->second;
}

void Request::setAttribute(std::string_view name, std::string_view value)
{
    auto it = _attributes.find(name);
    if (it != _attributes.end()) {
        it->second.assign(value);
    } else {
        _attributes.emplace(std::string(name), std::string(value));
    }
}

void Request::removeAttribute(std::string_view name)
{
    auto it = _attributes.find(name);
    if (it != _attributes.end()) _attributes.erase(it);
}

size_t Request::readBody(char* buffer, size_t capacity) noexcept
{
    const std::string& body = _exchange.request.body;
    if (_bodyOffset >= body.size() || capacity == 0) return 0;
    size_t n = std::min(capacity, body.size() - _bodyOffset);
    std::memcpy(buffer, body.data() + _bodyOffset, n);
    _bodyOffset += n;
    return n;
}

void Request::setMapping(std::string_view decodedUri, std::string_view contextPath,
                         const mapper::ServletMatch& match, const ServletMapping& mapping) noexcept
{
    _decodedUri = decodedUri;
    _contextPath = contextPath;
    _servletPath = match.servletPath;
    _pathInfo = match.pathInfo;
    _pathInContext = match.path;
    _mapping = &mapping;
}

} // namespace serval::core
