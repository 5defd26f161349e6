#include "manager/ManagerApi.h"

#include "compression/CompressionStats.h"
#include "manager/Assets.h"
#include "manager/ProcessStats.h"
#include "realm/Secrets.h"
#include "util/Log.h"
#include "util/Path.h"
#include "util/Strings.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace serval::manager {

using Poco::JSON::Array;
using Poco::JSON::Object;

namespace {

constexpr const char* ContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'";
constexpr const char* JsonType = "application/json; charset=utf-8";
constexpr size_t MaxLogBytes = 512 * 1024;

void securityHeaders(AdminResponse& response)
{
    response.headers.emplace_back("Content-Security-Policy", ContentSecurityPolicy);
    response.headers.emplace_back("X-Frame-Options", "DENY");
    response.headers.emplace_back("X-Content-Type-Options", "nosniff");
    response.headers.emplace_back("Referrer-Policy", "no-referrer");
    response.headers.emplace_back("Cache-Control", "no-store");
}

Object::Ptr newObject()
{
    return new Object(Poco::JSON_PRESERVE_KEY_ORDER);
}

/// A JSON array of `items`, each turned into a value by `toJson`.
template <typename Items, typename ToJson> Array::Ptr jsonArray(const Items& items, ToJson toJson)
{
    Array::Ptr list = new Array;
    for (const auto& item : items)
        list->add(toJson(item));
    return list;
}

template <typename Items> Array::Ptr jsonArray(const Items& items)
{
    return jsonArray(items, [](const auto& item) { return item; });
}

std::string stringify(const Poco::Dynamic::Var& value)
{
    std::ostringstream out;
    Poco::JSON::Stringifier::stringify(value, out);
    return out.str();
}

AdminResponse json(int status, const Poco::Dynamic::Var& value)
{
    AdminResponse response;
    response.status = status;
    securityHeaders(response);
    response.headers.emplace_back("Content-Type", JsonType);
    response.body = stringify(value);
    response.body.push_back('\n');
    return response;
}

AdminResponse error(int status, std::string_view code, std::string_view detail)
{
    auto body = newObject();
    body->set("error", std::string(code));
    body->set("detail", std::string(detail));
    return json(status, body);
}

AdminResponse text(int status, std::string body)
{
    AdminResponse response;
    response.status = status;
    securityHeaders(response);
    response.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
    response.body = std::move(body);
    return response;
}

constexpr const char* ReadOnly = "this endpoint is read-only; use GET";
/// GET /api/crashes answers at most this many records (the registry keeps 200 per app).
constexpr uint64_t MaxCrashes = 200;
constexpr const char* TokensUsage = "GET or POST /api/tokens, DELETE /api/tokens/<id>";
constexpr const char* BadContextPath = "path must be a context path such as /shop (\"/\" for ROOT)";

/// A route table pattern against the route below /api: exact, "/prefix/*" (the rest lands in
/// `tail`) or "*" (everything).
bool matchesPath(std::string_view pattern, std::string_view route, std::string_view& tail)
{
    if (pattern == "*") return true;
    if (util::endsWith(pattern, "/*")) {
        pattern.remove_suffix(1);
        if (!util::startsWith(route, pattern)) return false;
        tail = route.substr(pattern.size());
        return true;
    }
    return route == pattern;
}

/// `methods` is a space-separated list, or "*" for any.
bool hasMethod(std::string_view methods, std::string_view method)
{
    if (methods == "*") return true;
    for (auto name : util::splitList(methods, ' ')) {
        if (name == method) return true;
    }
    return false;
}

bool canRead(const Principal& who)
{
    return who.hasRole("manager-gui") || who.hasRole("manager-status") || who.hasRole("manager-script");
}

bool canAct(const Principal& who)
{
    return who.viaToken ? who.hasRole("manager-script") : who.hasRole("manager-gui");
}

/// Throws for a body that is not a JSON object.
Object::Ptr parseObject(const std::string& body)
{
    Poco::JSON::Parser parser;
    return parser.parse(body).extract<Object::Ptr>();
}

/// A backend action whose exception becomes a 500 (the control plane may throw; the manager
/// answers with the reason).
template <typename Run> ActionResult guarded(Run run)
{
    try {
        return run();
    } catch (const std::exception& e) {
        return ActionResult{false, 500, "internal", e.what(), std::nullopt};
    }
}

bool isStateChanging(std::string_view method)
{
    return method != "GET" && method != "HEAD" && method != "OPTIONS";
}

/// Decoded query parameters.
std::map<std::string, std::string> parseQuery(std::string_view query)
{
    std::map<std::string, std::string> out;
    for (auto piece : util::splitList(query, '&')) {
        auto eq = piece.find('=');
        auto name = util::percentDecode(piece.substr(0, eq), true);
        auto value = eq == std::string_view::npos ? std::optional<std::string>("")
                                                  : util::percentDecode(piece.substr(eq + 1), true);
        if (name && value && !out.count(*name)) out.emplace(*name, *value);
    }
    return out;
}

std::string get(const std::map<std::string, std::string>& params, const std::string& name)
{
    auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
}

std::string cookieValue(std::string_view header, std::string_view name)
{
    for (auto piece : util::splitList(header, ';')) {
        auto eq = piece.find('=');
        if (eq != std::string_view::npos && util::trim(piece.substr(0, eq)) == name) {
            return std::string(util::trim(piece.substr(eq + 1)));
        }
    }
    return {};
}

Object::Ptr dataSourceJson(const DataSourceInfo& d)
{
    auto o = newObject();
    o->set("host", d.host);
    o->set("path", d.path);
    o->set("name", d.name);
    o->set("type", d.type);
    o->set("url", d.url);
    o->set("maxConnections", d.maxConnections);
    o->set("open", d.open);
    o->set("inUse", d.inUse);
    o->set("waiting", d.waiting);
    o->set("acquires", d.acquires);
    o->set("waits", d.waits);
    o->set("timeouts", d.timeouts);
    o->set("connectFailures", d.connectFailures);
    o->set("errors", d.errors);
    o->set("queries", d.queries);
    o->set("p50Ms", d.p50Ms);
    o->set("p99Ms", d.p99Ms);
    return o;
}

Object::Ptr appJson(const AppInfo& app)
{
    auto o = newObject();
    o->set("host", app.host);
    o->set("path", app.path);
    o->set("version", app.version);
    o->set("displayName", app.displayName);
    o->set("state", app.state);
    o->set("requests", app.requests);
    o->set("errors5xx", app.errors5xx);
    o->set("p50Ms", app.p50Ms);
    o->set("p99Ms", app.p99Ms);
    o->set("deployedAt", app.deployedAt);
    o->set("checksum", app.checksum);
    o->set("failure", app.failure);
    o->set("mode", app.mode);
    if (app.processes) {
        const core::RemoteStatus& remote = *app.processes;
        auto isolation = newObject();
        isolation->set("state", remote.state);
        isolation->set("reason", remote.reason);
        isolation->set("processes", jsonArray(remote.processes, [](const core::RemoteStatus::Process& p) {
                           auto w = newObject();
                           w->set("pid", p.pid);
                           w->set("uptimeSeconds", p.uptimeSeconds);
                           w->set("residentBytes", p.residentBytes);
                           w->set("requests", p.requests);
                           w->set("state", p.state);
                           return w;
                       }));
        isolation->set("crashes", remote.crashes);
        auto restarts = newObject();
        for (size_t i = 0; i < remote.restarts.size(); ++i)
            restarts->set(core::RemoteStatus::kCauses[i], remote.restarts[i]);
        isolation->set("restarts", restarts);
        isolation->set("replayed", remote.replayed);
        isolation->set("failedByCrash", remote.failedByCrash);
        isolation->set("lastCrashId", remote.lastCrashId);
        o->set("isolation", isolation);
    }
    if (app.sessions >= 0) {
        o->set("sessions", app.sessions);
    } else {
        o->set("sessions", Poco::Dynamic::Var()); // null: the store did not answer
    }
    return o;
}

/// One crash record; `whole`: with its backtrace and the requests in flight.
Object::Ptr crashJson(const CrashInfo& c, bool whole)
{
    auto o = newObject();
    o->set("crashId", c.crashId);
    o->set("time", c.time);
    o->set("host", c.host);
    o->set("path", c.path);
    o->set("version", c.version);
    o->set("pid", c.pid);
    o->set("cause", c.cause);
    o->set("signal", c.signal);
    o->set("address", c.address);
    o->set("function", c.function);
    o->set("request", c.request);
    o->set("summary", c.summary);
    if (whole) {
        o->set("backtrace", c.backtrace);
        o->set("requests", c.requests);
    }
    return o;
}

Array::Ptr historyJson(const std::vector<HistoryEntry>& entries)
{
    return jsonArray(entries, [](const HistoryEntry& h) {
        auto o = newObject();
        o->set("time", h.time);
        o->set("host", h.host);
        o->set("path", h.path);
        o->set("version", h.version);
        o->set("event", h.event);
        o->set("detail", h.detail);
        return o;
    });
}

Array::Ptr componentsJson(const std::vector<ComponentInfo>& components)
{
    return jsonArray(components, [](const ComponentInfo& c) {
        auto o = newObject();
        o->set("name", c.name);
        o->set("className", c.className);
        o->set("mappings", jsonArray(c.mappings));
        return o;
    });
}

Object::Ptr sessionJson(const std::string& user, const std::vector<std::string>& roles,
                        const std::string& csrf)
{
    auto body = newObject();
    body->set("user", user);
    body->set("roles", jsonArray(roles));
    body->set("csrf", csrf);
    return body;
}

Object::Ptr tokenJson(const ApiToken& token)
{
    auto o = newObject();
    o->set("id", token.id);
    o->set("name", token.name);
    o->set("user", token.user);
    o->set("created", token.created);
    return o;
}

/// Reads at most the last `maxBytes` of a file.
std::string tailFile(const std::string& path, size_t maxBytes)
{
    std::string data;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return data;
    off_t size = ::lseek(fd, 0, SEEK_END);
    off_t start = size > static_cast<off_t>(maxBytes) ? size - static_cast<off_t>(maxBytes) : 0;
    data.resize(static_cast<size_t>(size - start));
    ssize_t n = size > start ? ::pread(fd, data.data(), data.size(), start) : 0;
    ::close(fd);
    data.resize(n > 0 ? static_cast<size_t>(n) : 0);
    if (start > 0) {
        auto newline = data.find('\n');
        data.erase(0, newline == std::string::npos ? data.size() : newline + 1);
    }
    return data;
}

bool validContextPath(const std::string& path)
{
    if (path.empty() || path[0] != '/' || path.size() > 512) return false;
    if (path.find("..") != std::string::npos || path.find("//") != std::string::npos) return false;
    for (char c : path) {
        if (static_cast<unsigned char>(c) < 0x21 || c == '\\' || c == '#' || c == '?' || c == '%')
            return false;
    }
    return true;
}

std::string metricLabel(std::string_view value)
{
    std::string out;
    for (char c : value) {
        if (c == '\\' || c == '"') out.push_back('\\');
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out.push_back(c);
    }
    return out;
}

std::string_view findHeader(const std::vector<std::pair<std::string, std::string>>& headers,
                            std::string_view name)
{
    for (const auto& [n, v] : headers) {
        if (util::equalsIgnoreCase(n, name)) return v;
    }
    return {};
}

} // namespace

std::string_view AdminRequest::header(std::string_view name) const noexcept
{
    return findHeader(headers, name);
}

std::string_view AdminResponse::header(std::string_view name) const noexcept
{
    return findHeader(headers, name);
}

bool Principal::hasRole(std::string_view role) const noexcept
{
    for (const auto& r : roles) {
        if (r == role) return true;
    }
    return false;
}

ManagerApi::ManagerApi(ManagerConfig config, ManagerBackend& backend, std::shared_ptr<realm::Realm> realm,
                       AdminSessions::Clock clock)
    : _config(std::move(config)), _backend(backend), _realm(std::move(realm)),
      _sessions(_config.sessionTimeout, std::move(clock))
{
    std::string problem;
    if (!_allow.parse(_config.allow, problem)) {
        throw std::runtime_error("manager allow list: " + problem +
                                 "; use CIDR blocks such as 127.0.0.0/8,::1");
    }
    _tokens = std::make_unique<TokenStore>(_config.tokensDatabase);
}

std::string ManagerApi::cookieHeader(const std::string& value, bool secure, bool remove) const
{
    // "Path=/manager/": browsers send it to the manager's own URLs only, never to an app whose
    // path merely starts with the same letters ("/managerx"); the deployer keeps every app out
    // of the paths below it.
    std::string cookie = std::string(cookieName(secure)) + "=" + value + "; Path=" + _config.path +
                         "/; HttpOnly; SameSite=Strict";
    if (secure) cookie += "; Secure";
    if (remove) cookie += "; Max-Age=0";
    return cookie;
}

void ManagerApi::audit(const Principal& who, const AdminRequest& request, std::string action,
                       std::string target, std::string result)
{
    AuditEntry entry;
    entry.user = who.user.empty() ? "-" : who.user;
    if (who.viaToken) entry.user += " (token)";
    entry.action = std::move(action);
    entry.target = std::move(target);
    entry.address = request.remoteAddress;
    entry.result = std::move(result);
    LOG_INFO("manager", entry.user + " " + entry.action + " " + entry.target + " from " + entry.address +
                            ": " + entry.result);
    try {
        _backend.audit(entry);
    } catch (const std::exception& e) {
        LOG_ERROR("manager", std::string("cannot write the audit row: ") + e.what());
    }
}

std::optional<AdminResponse> ManagerApi::refuseAddress(const AdminRequest& request) const
{
    if (_allow.allows(request.remoteAddress)) return std::nullopt;
    LOG_WARN("manager", "refused " + request.method + " " + _config.path + request.path + " from " +
                            request.remoteAddress + " (not in the manager allow list)");
    return text(403, "403 Forbidden: the manager is not reachable from this address. An administrator can "
                     "add it to <Manager allow=\"...\"> in conf/server.xml.\n");
}

std::optional<AdminResponse> ManagerApi::refuseCrossSite(const AdminRequest& request) const
{
    if (!isStateChanging(request.method)) return std::nullopt;
    // Fetch Metadata, where the browser sends it, says who initiated the request; Origin is the
    // older signal (Tomcat's CSRF filter and OWASP check both). Scripts send neither.
    std::string_view site = request.header("Sec-Fetch-Site");
    std::string_view origin = request.header("Origin");
    bool crossSite = !site.empty() && !util::equalsIgnoreCase(site, "same-origin") &&
                     !util::equalsIgnoreCase(site, "none");
    if (!crossSite && !origin.empty()) {
        std::string self =
            std::string(request.secure ? "https://" : "http://") + std::string(request.header("Host"));
        crossSite = !util::equalsIgnoreCase(origin, self);
    }
    if (!crossSite) return std::nullopt;
    LOG_WARN("manager", "refused " + request.method + " " + _config.path + request.path + " from " +
                            request.remoteAddress +
                            ": sent by another site (Origin: " + std::string(origin.substr(0, 100)) +
                            ", Sec-Fetch-Site: " + std::string(site.substr(0, 20)) + ")");
    return error(403, "cross_site",
                 "state changes are accepted from the manager's own page only; this request came from "
                 "another site (Origin / Sec-Fetch-Site)");
}

std::optional<AdminResponse> ManagerApi::checkHead(const AdminRequest& head, bool bodyAnnounced,
                                                   uint64_t& maxBody)
{
    maxBody = MaxJsonBody;
    if (auto refused = refuseAddress(head)) return refused;
    if (auto refused = refuseCrossSite(head)) return refused;
    std::string_view path = head.path;
    if (!util::startsWith(path, "/api/")) return std::nullopt; // the page: read-only, answered by handle()
    std::string_view route = path.substr(4);
    RouteMatch found = matchRoute(head.method, route);
    if (found.byPath->handler == &ManagerApi::deploy) maxBody = _config.maxUploadSize;
    // Without a body a request costs nothing to hold: handle() decides it on a worker, where a
    // refusal is audited like any other. Login is the one route anyone may send a body to.
    if (!bodyAnnounced || found.byPath->access == Access::Anyone) return std::nullopt;
    auto authenticated = authenticate(head, route, true);
    if (auto* refused = std::get_if<AdminResponse>(&authenticated)) return std::move(*refused);
    if (auto refused = refuse(found.byPath->access, std::get<Principal>(authenticated))) return refused;
    if (!found.match) return error(405, "method_not_allowed", found.byPath->wrongMethod);
    return std::nullopt;
}

std::optional<AdminResponse> ManagerApi::checkMetricsHead(const AdminRequest& head, bool, uint64_t& maxBody)
{
    maxBody = MaxJsonBody;
    return refuseMetrics(head);
}

AdminResponse ManagerApi::handle(const AdminRequest& request)
{
    if (auto refused = refuseAddress(request)) return std::move(*refused);
    if (auto refused = refuseCrossSite(request)) return std::move(*refused);
    std::string_view path = request.path;
    if (path.empty()) {
        // The page loads its assets relative to "/manager/".
        AdminResponse response;
        response.status = 302;
        securityHeaders(response);
        response.headers.emplace_back("Location", _config.path + "/");
        return response;
    }
    if (util::startsWith(path, "/api/")) return api(request, path.substr(4));
    if (path == "/api") return error(404, "not_found", "no such API endpoint; see docs/manager-api.md");

    if (!(request.method == "GET" || request.method == "HEAD")) {
        auto response = error(405, "method_not_allowed", "the page is read-only; use the API under /api/");
        response.headers.emplace_back("Allow", "GET, HEAD");
        return response;
    }
    std::string_view name;
    if (path == "/" || path == "/index.html") {
        name = "index.html";
    } else if (util::startsWith(path, "/assets/")) {
        name = path.substr(8);
    }
    const Asset* asset = name.empty() || name.find('/') != std::string_view::npos ? nullptr : findAsset(name);
    if (!asset) return text(404, "404 Not Found\n");
    AdminResponse response;
    securityHeaders(response);
    response.headers.emplace_back("Content-Type", std::string(asset->contentType));
    response.body = std::string(asset->data);
    return response;
}

const std::vector<ManagerApi::Route>& ManagerApi::routes()
{
    // {methods, path below /api, access, handler, the 405 detail}; first match wins, so the
    // catch-all "*" (404 for GET, 405 otherwise) stays last.
    static const std::vector<Route> table = {
        {"POST", "/login", Access::Anyone, &ManagerApi::login, "log in with POST"},
        {"*", "/session", Access::Principal, &ManagerApi::session, ""},
        {"POST", "/logout", Access::Principal, &ManagerApi::logout, "log out with POST"},
        {"GET HEAD", "/tokens", Access::TokenAdmin, &ManagerApi::listTokens, TokensUsage},
        {"POST", "/tokens", Access::TokenAdmin, &ManagerApi::createToken, TokensUsage},
        {"DELETE POST", "/tokens/*", Access::TokenAdmin, &ManagerApi::revokeToken, TokensUsage},
        {"POST", "/undeploy", Access::Act, &ManagerApi::undeploy, "use POST"},
        {"POST", "/start", Access::Act, &ManagerApi::start, "use POST"},
        {"POST", "/stop", Access::Act, &ManagerApi::stop, "use POST"},
        {"POST", "/reload", Access::Act, &ManagerApi::reload, "use POST"},
        {"POST", "/restart-processes", Access::Act, &ManagerApi::restartProcesses, "use POST"},
        {"POST PUT", "/deploy", Access::Act, &ManagerApi::deploy, "use POST"},
        {"POST", "/backup", Access::Act, &ManagerApi::backup, "use POST"},
        {"GET HEAD", "/datasources", Access::Read, &ManagerApi::dataSources, ReadOnly},
        {"GET HEAD", "/apps", Access::Read, &ManagerApi::apps, ReadOnly},
        {"GET HEAD", "/app", Access::Read, &ManagerApi::app, ReadOnly},
        {"GET HEAD", "/status", Access::Read, &ManagerApi::status, ReadOnly},
        {"GET HEAD", "/history", Access::Read, &ManagerApi::history, ReadOnly},
        {"GET HEAD", "/crashes", Access::Read, &ManagerApi::crashes, ReadOnly},
        {"GET HEAD", "/crashes/*", Access::Read, &ManagerApi::crash, ReadOnly},
        {"GET HEAD", "/audit", Access::AuditLog, &ManagerApi::auditLog, ReadOnly},
        {"GET HEAD", "/logs", Access::Read, &ManagerApi::logs, ReadOnly},
        {"GET HEAD", "/sessions", Access::Read, &ManagerApi::listSessions, ReadOnly},
        {"POST", "/sessions/invalidate", Access::Act, &ManagerApi::invalidateSessions, "use POST"},
        {"GET HEAD", "*", Access::Read, &ManagerApi::notFound, ReadOnly},
    };
    return table;
}

ManagerApi::RouteMatch ManagerApi::matchRoute(std::string_view method, std::string_view route)
{
    RouteMatch found;
    for (const Route& row : routes()) {
        if (found.byPath && row.path != found.byPath->path) break; // a path's rows are adjacent
        if (!found.byPath && !matchesPath(row.path, route, found.tail)) continue;
        if (!found.byPath) found.byPath = &row;
        if (hasMethod(row.methods, method)) {
            found.match = &row;
            break;
        }
    }
    return found; // the last row's "*" matches every route, so byPath is always set
}

AdminResponse ManagerApi::api(const AdminRequest& request, std::string_view route)
{
    auto [byPath, match, tail] = matchRoute(request.method, route);
    Principal who;
    if (byPath->access != Access::Anyone) {
        auto authenticated = authenticate(request, route);
        if (auto* refused = std::get_if<AdminResponse>(&authenticated)) return std::move(*refused);
        who = std::move(std::get<Principal>(authenticated));
        if (auto refused = refuse(byPath->access, who)) return std::move(*refused);
    }
    if (!match) return error(405, "method_not_allowed", byPath->wrongMethod);
    ApiCall call{request, who, parseQuery(request.query), tail};
    return (this->*match->handler)(call);
}

std::variant<Principal, AdminResponse> ManagerApi::authenticate(const AdminRequest& request,
                                                                std::string_view route, bool atHead)
{
    // A bearer token, or the page's session cookie (never both kinds of role).
    Principal who;
    std::string_view authorization = request.header("Authorization");
    if (!authorization.empty()) {
        if (!util::startsWithIgnoreCase(authorization, "Bearer ")) {
            return error(401, "unauthorized",
                         "use Authorization: Bearer <token> (create tokens in the manager page)");
        }
        std::string secret(util::trim(authorization.substr(7)));
        auto token = atHead ? _tokens->find(secret) : _tokens->verify(secret);
        if (!token) {
            auto response = error(401, "invalid_token", "the token is unknown or revoked");
            response.headers.emplace_back("WWW-Authenticate", "Bearer");
            return response;
        }
        who.user = token->user;
        who.viaToken = true;
        for (const auto& role : _realm->roles(token->user)) {
            if (role == "manager-script" || role == "manager-status") who.roles.push_back(role);
        }
        if (who.roles.empty()) {
            return error(403, "forbidden",
                         "the token's user " + token->user + " no longer has the manager-script role");
        }
        return who;
    }
    std::string id = cookieValue(request.header("Cookie"), cookieName(request.secure));
    auto session = id.empty() ? std::nullopt : _sessions.find(id);
    if (!session) {
        auto response = error(401, "unauthorized", "log in first (the session is missing or expired)");
        if (!id.empty()) response.headers.emplace_back("Set-Cookie", cookieHeader("", request.secure, true));
        return response;
    }
    who.user = session->user;
    who.roles = session->roles;
    who.sessionId = session->id;
    who.csrf = session->csrf;
    if (isStateChanging(request.method) &&
        !realm::constantTimeEquals(request.header("X-CSRF-Token"), session->csrf)) {
        audit(who, request, request.method, std::string(route), "refused: missing or wrong CSRF token");
        return error(403, "csrf", "missing or wrong X-CSRF-Token header; reload the page");
    }
    return who;
}

std::optional<AdminResponse> ManagerApi::refuse(Access access, const Principal& who) const
{
    switch (access) {
    case Access::Anyone:
    case Access::Principal:
        return std::nullopt;
    case Access::TokenAdmin:
        if (who.viaToken || !who.hasRole("manager-gui")) {
            return error(403, "forbidden",
                         "API tokens are managed in the manager page by a manager-gui user");
        }
        return std::nullopt;
    case Access::Read:
    case Access::Act:
    case Access::AuditLog:
        break;
    }
    if (!canRead(who)) return error(403, "forbidden", "user " + who.user + " may not read the manager");
    if (access == Access::Act && !canAct(who)) {
        return error(403, "forbidden", "user " + who.user + " has read-only access");
    }
    if (access == Access::AuditLog && !(who.hasRole("manager-gui") || who.hasRole("manager-script"))) {
        return error(403, "forbidden", "the audit log needs manager-gui or manager-script");
    }
    return std::nullopt;
}

AdminResponse ManagerApi::login(const ApiCall& call)
{
    const AdminRequest& request = call.request;
    // A JSON body forces a CORS preflight for cross-site senders, which (with SameSite=Strict)
    // rules out login CSRF before any token exists.
    if (!util::startsWithIgnoreCase(request.header("Content-Type"), "application/json")) {
        return error(415, "unsupported_media_type",
                     "send {\"user\": ..., \"password\": ...} as application/json");
    }
    std::string user;
    std::string password;
    try {
        auto body = parseObject(request.body);
        user = body->optValue<std::string>("user", "");
        password = body->optValue<std::string>("password", "");
    } catch (const std::exception&) {
        return error(400, "bad_request", "the body must be JSON {\"user\": ..., \"password\": ...}");
    }
    if (user.empty() || password.empty() || user.size() > 64 || password.size() > 1024) {
        return error(400, "bad_request", "user and password are required");
    }
    Principal who;
    who.user = user;
    _realm->reloadIfChanged();
    auto result = _realm->authenticate(user, password, request.remoteAddress);
    switch (result.status) {
    case realm::AuthStatus::Ok:
        break;
    case realm::AuthStatus::BadCredentials:
        audit(who, request, "login", user, "bad credentials");
        return error(401, "bad_credentials", "wrong user name or password");
    case realm::AuthStatus::LockedOut:
    case realm::AuthStatus::RateLimited: {
        bool locked = result.status == realm::AuthStatus::LockedOut;
        std::string retryAfter = std::to_string(result.retryAfter.count());
        audit(who, request, "login", user, locked ? "locked out" : "rate limited");
        auto response = error(429, locked ? "locked_out" : "rate_limited",
                              std::string(locked ? "too many failed logins for this user"
                                                 : "too many failed logins from this address") +
                                  "; try again in " + retryAfter + " s");
        response.headers.emplace_back("Retry-After", retryAfter);
        return response;
    }
    }
    // The page's cookie carries manager-gui and manager-status only: manager-script is for
    // bearer tokens and never combined with cookie authentication (Tomcat's rule).
    std::vector<std::string> roles;
    for (const auto& role : result.roles) {
        if (role == "manager-gui" || role == "manager-status") roles.push_back(role);
    }
    who.user = result.user;
    if (roles.empty()) {
        audit(who, request, "login", result.user, "refused: no manager-gui or manager-status role");
        return error(403, "forbidden",
                     "user " + result.user +
                         " has no manager-gui or manager-status role; scripts use API tokens");
    }
    // A fresh id at every login; an old cookie, if any, is dropped.
    std::string old = cookieValue(request.header("Cookie"), cookieName(request.secure));
    if (!old.empty()) _sessions.remove(old);
    auto session = _sessions.create(result.user, roles);
    audit(who, request, "login", result.user, "ok");
    auto body = sessionJson(session.user, session.roles, session.csrf);
    body->set("deployRoots", jsonArray(_config.deployRoots));
    auto response = json(200, body);
    response.headers.emplace_back("Set-Cookie", cookieHeader(session.id, request.secure, false));
    return response;
}

AdminResponse ManagerApi::session(const ApiCall& call)
{
    const Principal& who = call.who;
    if (who.viaToken) return error(400, "bad_request", "sessions are for the page; tokens need none");
    auto body = sessionJson(who.user, who.roles, who.csrf);
    body->set("canAct", canAct(who));
    body->set("deployRoots", jsonArray(_config.deployRoots));
    return json(200, body);
}

AdminResponse ManagerApi::logout(const ApiCall& call)
{
    if (!call.who.sessionId.empty()) _sessions.remove(call.who.sessionId);
    audit(call.who, call.request, "logout", call.who.user, "ok");
    auto response = json(200, newObject());
    response.headers.emplace_back("Set-Cookie", cookieHeader("", call.request.secure, true));
    return response;
}

AdminResponse ManagerApi::listTokens(const ApiCall&)
{
    auto body = newObject();
    body->set("tokens", jsonArray(_tokens->list(), [](const ApiToken& t) {
                  auto o = tokenJson(t);
                  o->set("lastUsed", t.lastUsed);
                  return o;
              }));
    return json(200, body);
}

AdminResponse ManagerApi::createToken(const ApiCall& call)
{
    std::string name;
    try {
        name = parseObject(call.request.body)->optValue<std::string>("name", "");
    } catch (const std::exception&) {
        return error(400, "bad_request", "the body must be JSON {\"name\": ...}");
    }
    name = std::string(util::trim(name));
    if (name.empty() || name.size() > 100)
        return error(400, "bad_request", "a token needs a name (1-100 characters)");
    ApiToken created;
    std::string secret = _tokens->create(name, call.who.user, &created);
    audit(call.who, call.request, "token.create", name, "ok");
    auto body = tokenJson(created);
    body->set("token", secret);
    bool script = false;
    for (const auto& role : _realm->roles(call.who.user))
        script = script || role == "manager-script";
    body->set("usable", script);
    return json(201, body);
}

AdminResponse ManagerApi::revokeToken(const ApiCall& call)
{
    auto id = util::parseUnsigned(call.tail);
    if (!id) return error(400, "bad_request", "revoke with DELETE /api/tokens/<id>");
    bool removed = _tokens->revoke(static_cast<long long>(*id));
    audit(call.who, call.request, "token.revoke", std::to_string(*id), removed ? "ok" : "not found");
    if (!removed) return error(404, "not_found", "no token with id " + std::to_string(*id));
    auto body = newObject();
    body->set("ok", true);
    return json(200, body);
}

AdminResponse ManagerApi::undeploy(const ApiCall& call)
{
    return action(call, "undeploy", &ManagerBackend::undeploy);
}

AdminResponse ManagerApi::start(const ApiCall& call)
{
    return action(call, "start", &ManagerBackend::start);
}

AdminResponse ManagerApi::stop(const ApiCall& call)
{
    return action(call, "stop", &ManagerBackend::stop);
}

AdminResponse ManagerApi::reload(const ApiCall& call)
{
    return action(call, "reload", &ManagerBackend::reload);
}

AdminResponse ManagerApi::restartProcesses(const ApiCall& call)
{
    return action(call, "restart-processes", &ManagerBackend::restartProcesses);
}

std::string ManagerApi::hostParam(const ApiCall& call)
{
    std::string host = get(call.params, "host");
    return host.empty() ? _backend.defaultHost() : host;
}

AdminResponse ManagerApi::action(const ApiCall& call, std::string_view name,
                                 ActionResult (ManagerBackend::*run)(const std::string& host,
                                                                     const std::string& path))
{
    std::string host = hostParam(call);
    std::string path = get(call.params, "path");
    if (!validContextPath(path)) return error(400, "bad_request", BadContextPath);
    auto result = guarded([&] { return (_backend.*run)(host, path); });
    auto fields = newObject();
    fields->set("host", host);
    fields->set("path", path);
    return finishAction(call, name, host + path, result, fields);
}

AdminResponse ManagerApi::deploy(const ApiCall& call)
{
    const AdminRequest& request = call.request;
    std::string host = hostParam(call);
    std::string path = get(call.params, "path");
    std::string update = get(call.params, "update");
    bool replace = update == "true" || update == "1" || update == "yes";
    std::string serverPath = get(call.params, "serverPath");
    std::string fileName = get(call.params, "file");
    if (fileName.empty()) fileName = std::string(request.header("X-File-Name"));
    if (!path.empty() && !validContextPath(path)) return error(400, "bad_request", BadContextPath);
    std::string target = host + path + " <- ";
    ActionResult result;
    if (!serverPath.empty()) {
        if (serverPath[0] != '/')
            return error(400, "bad_request", "serverPath must be an absolute path on the server");
        target += serverPath;
        if (_config.deployRoots.empty()) {
            audit(call.who, request, "deploy", target, "refused: deploy by server path is off");
            return error(403, "forbidden",
                         "deploy by server path is off; an administrator can list the directories it may "
                         "read in <Manager deployRoots=\"...\"> in conf/server.xml");
        }
        // Opened here, within the roots and following no link; the deployer gets the descriptor.
        util::FileDescriptor source = util::openWithin(_config.deployRoots, serverPath);
        if (!source) {
            int why = errno;
            std::string roots;
            for (const std::string& root : _config.deployRoots)
                roots += (roots.empty() ? "" : ", ") + root;
            std::string detail =
                why == EACCES   ? serverPath + " is outside <Manager deployRoots> (" + roots + ")"
                : why == ELOOP  ? serverPath + " is or passes through a symbolic link; name the file itself"
                : why == EINVAL ? "serverPath must be a plain absolute path (no \".\", \"..\" or \"//\")"
                                : serverPath + ": " + std::strerror(why);
            audit(call.who, request, "deploy", target, "refused: " + detail);
            return error(why == ENOENT   ? 404
                         : why == EINVAL ? 400
                                         : 403,
                         why == ENOENT   ? "not_found"
                         : why == EINVAL ? "bad_request"
                                         : "forbidden",
                         detail);
        }
        result = guarded([&] {
            return _backend.deployPath(host, path, serverPath, std::move(source), _config.maxUploadSize,
                                       replace);
        });
    } else {
        if (request.body.empty() && request.stagedSize == 0) {
            return error(400, "bad_request", "send the bundle as the request body, or name serverPath=");
        }
        if (path.empty() && fileName.empty()) {
            return error(400, "bad_request", "give path= or file= (the bundle's name, e.g. shop.sar)");
        }
        auto slash = fileName.find_last_of('/');
        if (slash != std::string::npos) fileName.erase(0, slash + 1);
        target += fileName.empty() ? path : fileName;
        if (request.stagedBody >= 0) {
            // Copied from the staged file's start (the exchange keeps its own descriptor).
            util::FileDescriptor staged(::fcntl(request.stagedBody, F_DUPFD_CLOEXEC, 0));
            if (!staged || ::lseek(staged.get(), 0, SEEK_SET) != 0)
                return error(500, "io_error",
                             std::string("cannot read the staged upload: ") + std::strerror(errno));
            result = guarded([&] {
                return _backend.deployStaged(host, path, fileName, std::move(staged), _config.maxUploadSize,
                                             replace);
            });
        } else {
            result =
                guarded([&] { return _backend.deployUpload(host, path, fileName, request.body, replace); });
        }
    }
    return finishAction(call, "deploy", target, result, newObject());
}

AdminResponse ManagerApi::finishAction(const ApiCall& call, std::string_view name, const std::string& target,
                                       const ActionResult& result, Object::Ptr fields)
{
    audit(call.who, call.request, std::string(name), target, result.ok ? "ok" : result.detail);
    if (!result.ok) return error(result.status >= 400 ? result.status : 500, result.error, result.detail);
    auto body = newObject();
    body->set("ok", true);
    body->set("action", std::string(name));
    for (const auto& [key, value] : *fields)
        body->set(key, value);
    if (result.app) body->set("app", appJson(*result.app));
    return json(200, body);
}

AdminResponse ManagerApi::dataSources(const ApiCall& call)
{
    auto body = newObject();
    body->set("dataSources", jsonArray(_backend.dataSources(get(call.params, "host")), dataSourceJson));
    return json(200, body);
}

AdminResponse ManagerApi::backup(const ApiCall& call)
{
    std::string host = hostParam(call);
    std::string path = get(call.params, "path");
    std::string name = get(call.params, "name");
    if (!validContextPath(path)) return error(400, "bad_request", BadContextPath);
    if (name.empty()) return error(400, "bad_request", "name the data source: backup?path=/shop&name=main");
    util::FileDescriptor copy;
    ActionResult result = guarded([&] { return _backend.backup(host, path, name, copy); });
    std::string target = host + (path.empty() ? "/" : path) + " " + name;
    audit(call.who, call.request, "backup", target, result.ok ? "ok" : result.detail);
    if (!result.ok) return error(result.status >= 400 ? result.status : 500, result.error, result.detail);
    // The database file itself, as a download: a standalone SQLite file (docs/datasource.md).
    AdminResponse response;
    securityHeaders(response);
    response.headers.emplace_back("Content-Type", "application/vnd.sqlite3");
    std::string app = path.empty() || path == "/" ? std::string("ROOT") : path.substr(1);
    for (char& c : app) {
        if (c == '/') c = '#';
    }
    response.headers.emplace_back("Content-Disposition",
                                  "attachment; filename=\"" + app + "-" + name + ".db\"");
    struct stat st;
    if (::fstat(copy.get(), &st) != 0) return error(500, "backup_failed", "cannot read the copy's size");
    response.fileLength = static_cast<uint64_t>(st.st_size);
    response.file = std::make_shared<http::FileBody>(copy.release());
    return response;
}

AdminResponse ManagerApi::apps(const ApiCall&)
{
    auto body = newObject();
    body->set("defaultHost", _backend.defaultHost());
    body->set("apps", jsonArray(_backend.apps(), appJson));
    return json(200, body);
}

AdminResponse ManagerApi::listSessions(const ApiCall& call)
{
    std::string host = hostParam(call);
    std::string path = get(call.params, "path");
    if (!validContextPath(path)) return error(400, "bad_request", BadContextPath);
    SessionDirectory* directory = _backend.sessions();
    if (directory == nullptr) return error(503, "unavailable", "this server keeps no application sessions");
    size_t limit = 100;
    if (auto n = util::parseUnsigned(get(call.params, "limit")); n && *n > 0)
        limit = std::min<uint64_t>(*n, 1000);
    std::vector<SessionRow> rows;
    try {
        rows = directory->list(host, path, limit);
    } catch (const std::exception& e) {
        return error(503, "store_unavailable", e.what());
    }
    auto body = newObject();
    body->set("host", host);
    body->set("path", path);
    body->set("sessions", jsonArray(rows, [](const SessionRow& row) {
                  auto o = newObject();
                  o->set("id", row.idPrefix);
                  o->set("created", row.created);
                  o->set("lastAccessed", row.lastAccessed);
                  o->set("maxInactive", row.maxInactive);
                  o->set("attributes", row.attributes);
                  o->set("bytes", row.bytes);
                  return o;
              }));
    return json(200, body);
}

AdminResponse ManagerApi::invalidateSessions(const ApiCall& call)
{
    std::string host = hostParam(call);
    std::string path = get(call.params, "path");
    std::string id = get(call.params, "id");
    bool all = get(call.params, "all") == "true";
    if (!validContextPath(path)) return error(400, "bad_request", BadContextPath);
    if (all == !id.empty()) return error(400, "bad_request", "give id=<the listed id prefix> or all=true");
    if (!all && (id.size() < 8 || id.find_first_not_of("0123456789abcdef") != std::string::npos)) {
        return error(400, "bad_request", "id must be at least 8 of the listed hex digits");
    }
    SessionDirectory* directory = _backend.sessions();
    if (directory == nullptr) return error(503, "unavailable", "this server keeps no application sessions");
    std::string target = host + path + (all ? " (all sessions)" : " session " + id);
    uint64_t ended = 0;
    try {
        ended = directory->invalidate(host, path, all ? std::string() : id);
    } catch (const std::invalid_argument& e) {
        audit(call.who, call.request, "sessions.invalidate", target, e.what());
        return error(409, "ambiguous", e.what());
    } catch (const std::exception& e) {
        audit(call.who, call.request, "sessions.invalidate", target, e.what());
        return error(503, "store_unavailable", e.what());
    }
    if (!all && ended == 0) {
        audit(call.who, call.request, "sessions.invalidate", target, "not found");
        return error(404, "not_found", "no live session of " + host + path + " has an id starting " + id);
    }
    audit(call.who, call.request, "sessions.invalidate", target, "ok");
    auto body = newObject();
    body->set("ok", true);
    body->set("invalidated", ended);
    return json(200, body);
}

AdminResponse ManagerApi::app(const ApiCall& call)
{
    std::string host = hostParam(call);
    std::string path = get(call.params, "path");
    auto detail = _backend.app(host, path);
    if (!detail) return error(404, "not_found", "no application at " + host + path);
    auto body = appJson(detail->info);
    body->set("servlets", componentsJson(detail->servlets));
    body->set("filters", componentsJson(detail->filters));
    body->set("listeners", jsonArray(detail->listeners));
    auto contextParams = newObject();
    for (const auto& [k, v] : detail->contextParams)
        contextParams->set(k, v);
    body->set("contextParams", contextParams);
    auto files = newObject();
    files->set("count", detail->fileCount);
    files->set("bytes", detail->fileBytes);
    body->set("files", files);
    body->set("libraries", detail->libraries);
    body->set("libraryStayedMapped", detail->libraryStayedMapped);
    std::vector<DataSourceInfo> sources;
    for (DataSourceInfo& d : _backend.dataSources(host)) {
        if (d.path == (path.empty() ? "/" : path)) sources.push_back(std::move(d));
    }
    body->set("dataSources", jsonArray(sources, dataSourceJson));
    body->set("recentFailures", historyJson(detail->recentFailures));
    body->set("history", historyJson(detail->history));
    return json(200, body);
}

AdminResponse ManagerApi::status(const ApiCall&)
{
    auto status = _backend.status();
    auto process = ProcessStats::read();
    auto body = newObject();
    body->set("version", status.version);
    body->set("uptimeSeconds", status.uptimeSeconds);
    Array::Ptr connectors = new Array;
    uint64_t requests = 0;
    for (const auto& c : status.connectors) {
        auto o = newObject();
        o->set("address", c.address);
        o->set("port", c.port);
        o->set("openConnections", c.openConnections);
        o->set("requests", c.requests);
        o->set("bytesIn", c.bytesIn);
        o->set("bytesOut", c.bytesOut);
        o->set("tls", c.tls);
        if (c.tls) {
            Array::Ptr certificates = new Array;
            for (const CertificateStatus& certificate : c.certificates) {
                auto item = newObject();
                item->set("where", certificate.where);
                item->set("certificateFile", certificate.certificateFile);
                Array::Ptr hostNames = new Array;
                for (const std::string& name : certificate.hostNames)
                    hostNames->add(name);
                item->set("hostNames", hostNames);
                item->set("subject", certificate.subject);
                Array::Ptr names = new Array;
                for (const std::string& name : certificate.subjectAltNames)
                    names->add(name);
                item->set("subjectAltNames", names);
                item->set("keyType", certificate.keyType);
                item->set("notAfter", certificate.notAfter);
                item->set("lastError", certificate.lastError);
                certificates->add(item);
            }
            o->set("certificates", certificates);
        }
        requests += c.requests;
        connectors->add(o);
    }
    body->set("connectors", connectors);
    body->set("requests", requests);
    auto workers = newObject();
    workers->set("threads", status.workerThreads);
    workers->set("busy", status.workersBusy);
    workers->set("queued", status.workQueued);
    body->set("workers", workers);
    body->set("rssBytes", process.residentBytes);
    body->set("openFds", process.openFds);
    body->set("threads", process.threads);
    body->set("deploys", status.deploys);
    body->set("failedDeploys", status.failedDeploys);
    return json(200, body);
}

AdminResponse ManagerApi::history(const ApiCall& call)
{
    auto limit = std::min<uint64_t>(util::parseUnsigned(get(call.params, "limit")).value_or(100), 1000);
    auto body = newObject();
    body->set("history",
              historyJson(_backend.history(get(call.params, "host"), get(call.params, "path"), limit)));
    return json(200, body);
}

AdminResponse ManagerApi::crashes(const ApiCall& call)
{
    std::string host = hostParam(call);
    std::string path = get(call.params, "path");
    if (!validContextPath(path)) return error(400, "bad_request", BadContextPath);
    auto limit = std::min<uint64_t>(util::parseUnsigned(get(call.params, "limit")).value_or(50), MaxCrashes);
    // The list leaves out backtraces (a few KiB each): GET /api/crashes/<id> has the whole record.
    auto list = jsonArray(_backend.crashes(host, path, limit),
                          [](const CrashInfo& c) { return crashJson(c, false); });
    auto body = newObject();
    body->set("host", host);
    body->set("path", path);
    body->set("crashes", list);
    return json(200, body);
}

AdminResponse ManagerApi::crash(const ApiCall& call)
{
    std::string id(call.tail);
    if (id.empty() || id.size() > 64)
        return error(400, "bad_request", "name a crash: GET /api/crashes/<crash id>");
    auto found = _backend.crash(id);
    if (!found)
        return error(404, "not_found",
                     "no crash record " + id + " (the registry keeps an app's newest ones)");
    return json(200, crashJson(*found, true));
}

AdminResponse ManagerApi::auditLog(const ApiCall& call)
{
    auto limit = std::min<uint64_t>(util::parseUnsigned(get(call.params, "limit")).value_or(100), 1000);
    auto list = jsonArray(_backend.auditLog(limit), [](const AuditEntry& a) {
        auto o = newObject();
        o->set("time", a.time);
        o->set("user", a.user);
        o->set("action", a.action);
        o->set("target", a.target);
        o->set("address", a.address);
        o->set("result", a.result);
        return o;
    });
    auto body = newObject();
    body->set("audit", list);
    return json(200, body);
}

AdminResponse ManagerApi::logs(const ApiCall& call)
{
    util::LogLevel minimum = util::LogLevel::Debug;
    std::string levelText = get(call.params, "level");
    if (!levelText.empty() && !util::parseLogLevel(levelText, minimum)) {
        return error(400, "bad_request", "level must be debug, info, warn or error");
    }
    std::string app = get(call.params, "app");
    size_t limit = std::min<uint64_t>(util::parseUnsigned(get(call.params, "lines")).value_or(200), 2000);
    std::string path = _config.logFile.empty() ? util::Log::filePath() : _config.logFile;
    std::string text = tailFile(path, MaxLogBytes);

    // Lines look like "2026-11-25T20:55:01.123Z INFO  [source] message" (util/Log.h).
    std::vector<Object::Ptr> matched;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        auto firstSpace = line.find(' ');
        if (firstSpace == std::string::npos) continue;
        auto levelEnd = line.find(' ', firstSpace + 1);
        if (levelEnd == std::string::npos) continue;
        std::string levelName = line.substr(firstSpace + 1, levelEnd - firstSpace - 1);
        util::LogLevel level;
        if (!util::parseLogLevel(levelName, level)) continue;
        if (level < minimum) continue;
        auto open = line.find('[', levelEnd);
        auto close = open == std::string::npos ? std::string::npos : line.find(']', open);
        std::string source = close == std::string::npos ? "" : line.substr(open + 1, close - open - 1);
        std::string message = close == std::string::npos ? line.substr(levelEnd) : line.substr(close + 1);
        message = std::string(util::trim(message));
        if (!app.empty() && source != "app:" + app && message.find(app) == std::string::npos) continue;
        auto o = newObject();
        o->set("time", line.substr(0, firstSpace));
        o->set("level", util::toLower(levelName));
        o->set("source", source);
        o->set("message", message);
        matched.push_back(o);
    }
    Array::Ptr list = new Array;
    size_t begin = matched.size() > limit ? matched.size() - limit : 0;
    for (size_t i = begin; i < matched.size(); ++i)
        list->add(matched[i]);
    auto body = newObject();
    body->set("file", path);
    body->set("lines", list);
    return json(200, body);
}

AdminResponse ManagerApi::notFound(const ApiCall&)
{
    return error(404, "not_found", "no such API endpoint; see docs/manager-api.md");
}

std::optional<AdminResponse> ManagerApi::refuseMetrics(const AdminRequest& request) const
{
    if (request.method != "GET" && request.method != "HEAD") {
        AdminResponse response;
        response.status = 405;
        response.headers.emplace_back("Allow", "GET, HEAD");
        return response;
    }
    if (!_allow.allows(request.remoteAddress))
        return error(403, "forbidden", "this address may not read /metrics");
    if (!_config.metricsToken.empty()) {
        std::string expected = "Bearer " + _config.metricsToken;
        if (!realm::constantTimeEquals(request.header("Authorization"), expected)) {
            auto response = error(401, "unauthorized", "/metrics needs Authorization: Bearer <metricsToken>");
            response.headers.emplace_back("WWW-Authenticate", "Bearer");
            return response;
        }
    }
    return std::nullopt;
}

AdminResponse ManagerApi::metrics(const AdminRequest& request)
{
    if (auto refused = refuseMetrics(request)) return std::move(*refused);
    auto status = _backend.status();
    auto process = ProcessStats::read();
    auto apps = _backend.apps();
    std::ostringstream out;
    auto family = [&](const char* name, const char* type, const char* help) {
        out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
    };
    auto scalar = [&](const char* name, const char* type, const char* help, auto value) {
        family(name, type, help);
        out << name << " " << value << "\n";
    };
    auto perConnector = [&](const char* name, const char* type, const char* help, auto field) {
        family(name, type, help);
        for (const auto& c : status.connectors) {
            out << name << "{address=\"" << metricLabel(c.address) << "\",port=\"" << c.port << "\"} "
                << field(c) << "\n";
        }
    };
    auto perApp = [&](const char* name, const char* help, auto field, const char* type = "counter") {
        family(name, type, help);
        for (const auto& app : apps) {
            out << name << "{host=\"" << metricLabel(app.host) << "\",context=\"" << metricLabel(app.path)
                << "\"} " << field(app) << "\n";
        }
    };
    scalar("serval_up", "gauge", "1 while the server runs.", 1);
    scalar("serval_uptime_seconds", "gauge", "Seconds since start.", status.uptimeSeconds);
    scalar("serval_process_resident_memory_bytes", "gauge", "Resident set size.", process.residentBytes);
    scalar("serval_process_open_fds", "gauge", "Open file descriptors.", process.openFds);
    perConnector("serval_connector_open_connections", "gauge", "Open client connections.",
                 [](const ConnectorInfo& c) { return c.openConnections; });
    perConnector("serval_connector_requests_total", "counter", "Requests received.",
                 [](const ConnectorInfo& c) { return c.requests; });
    perConnector("serval_received_bytes_total", "counter", "Bytes received from clients.",
                 [](const ConnectorInfo& c) { return c.bytesIn; });
    perConnector("serval_sent_bytes_total", "counter", "Bytes sent to clients.",
                 [](const ConnectorInfo& c) { return c.bytesOut; });
    family("serval_tls_certificate_expiry_seconds", "gauge",
           "Seconds until a TLS certificate expires (negative: expired), per <Certificate>.");
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    for (const auto& c : status.connectors) {
        for (const CertificateStatus& certificate : c.certificates) {
            out << "serval_tls_certificate_expiry_seconds{address=\"" << metricLabel(c.address)
                << "\",port=\"" << c.port << "\",certificate=\"" << metricLabel(certificate.where)
                << "\",subject=\"" << metricLabel(certificate.subject) << "\"} "
                << (certificate.notAfter - now) << "\n";
        }
    }
    const compression::CompressionStats& compressed = compression::CompressionStats::instance();
    family("serval_compressed_responses_total", "counter",
           "Responses compressed per request (dynamic bodies), by content coding.");
    out << "serval_compressed_responses_total{coding=\"gzip\"} " << compressed.dynamicGzip.load() << "\n";
    out << "serval_compressed_responses_total{coding=\"br\"} " << compressed.dynamicBrotli.load() << "\n";
    scalar("serval_static_compressed_hits_total", "counter",
           "Static files served from the compressed-variant cache.", compressed.staticHits.load());
    scalar("serval_static_compressed_fills_total", "counter",
           "Compressed variants of static files made (off the I/O loops).", compressed.staticFills.load());
    scalar("serval_worker_threads", "gauge", "Worker pool size.", status.workerThreads);
    scalar("serval_worker_busy", "gauge", "Workers running a request.", status.workersBusy);
    scalar("serval_worker_queued", "gauge", "Requests waiting for a worker.", status.workQueued);
    scalar("serval_deploys_total", "counter", "Deployments attempted.", status.deploys);
    scalar("serval_deploys_failed_total", "counter", "Deployments that failed.", status.failedDeploys);
    std::map<std::string, unsigned> states{{"running", 0}, {"stopped", 0}, {"failed", 0}, {"deploying", 0}};
    for (const auto& app : apps)
        ++states[app.state];
    family("serval_apps", "gauge", "Deployed applications by state.");
    for (const auto& [state, count] : states)
        out << "serval_apps{state=\"" << metricLabel(state) << "\"} " << count << "\n";
    perApp("serval_app_requests_total", "Requests per application.",
           [](const AppInfo& a) { return a.requests; });
    perApp("serval_app_errors_5xx_total", "5xx responses per application.",
           [](const AppInfo& a) { return a.errors5xx; });
    perApp(
        "serval_app_workers_busy", "Requests on the application's share of the worker pool.",
        [](const AppInfo& a) { return a.running; }, "gauge");
    perApp(
        "serval_app_queued", "Requests waiting for the application's share of the worker pool.",
        [](const AppInfo& a) { return a.queued; }, "gauge");
    perApp("serval_app_rejected_total",
           "Requests refused with 503: the application's share and queue were full.",
           [](const AppInfo& a) { return a.rejected; });
    // Isolated apps (issue 11): their worker processes and what happened to them.
    std::vector<const AppInfo*> isolated;
    for (const auto& app : apps)
        if (app.processes) isolated.push_back(&app);
    auto perIsolated = [&](const char* name, const char* type, const char* help, auto field) {
        family(name, type, help);
        for (const AppInfo* app : isolated) {
            out << name << "{host=\"" << metricLabel(app->host) << "\",context=\"" << metricLabel(app->path)
                << "\"} " << field(*app->processes) << "\n";
        }
    };
    perIsolated("serval_app_processes", "gauge", "Worker processes per isolated application.",
                [](const core::RemoteStatus& r) { return r.processes.size(); });
    family("serval_app_restarts_total", "counter", "Worker processes replaced, by cause.");
    for (const AppInfo* app : isolated) {
        for (size_t i = 0; i < app->processes->restarts.size(); ++i) {
            out << "serval_app_restarts_total{host=\"" << metricLabel(app->host) << "\",context=\""
                << metricLabel(app->path) << "\",cause=\"" << core::RemoteStatus::kCauses[i] << "\"} "
                << app->processes->restarts[i] << "\n";
        }
    }
    perIsolated("serval_app_replayed_requests_total", "counter",
                "Requests sent again after their worker crashed.",
                [](const core::RemoteStatus& r) { return r.replayed; });
    perIsolated("serval_app_crash_failed_requests_total", "counter",
                "Requests answered 502 because their worker crashed.",
                [](const core::RemoteStatus& r) { return r.failedByCrash; });
    perIsolated("serval_app_quarantined", "gauge", "1 while the application is quarantined.",
                [](const core::RemoteStatus& r) { return r.state == "quarantined" ? 1 : 0; });
    out << _backend.metrics();

    AdminResponse response;
    response.status = 200;
    response.headers.emplace_back("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    response.headers.emplace_back("Cache-Control", "no-store");
    response.headers.emplace_back("X-Content-Type-Options", "nosniff");
    response.body = out.str();
    return response;
}

} // namespace serval::manager
