#pragma once

#include "http/HttpResponse.h"
#include "manager/AddressAllowList.h"
#include "manager/AdminSessions.h"
#include "manager/ManagerBackend.h"
#include "manager/ManagerConfig.h"
#include "manager/TokenStore.h"
#include "realm/Realm.h"

#include <Poco/JSON/Object.h>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace serval::manager {

/// One request to the manager, independent of the transport (ManagerServlet fills it from a
/// core::Request; unit tests build it directly).
struct AdminRequest
{
    std::string method;
    std::string path; ///< inside the manager's context path, still percent-encoded: "/api/apps"
    std::string query;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    /// An upload staged on disk instead of `body` (ManagerHeadCheck's StagedUpload): a readable
    /// descriptor owned by the exchange, valid during handle(); -1 when the body is in `body`.
    int stagedBody = -1;
    uint64_t stagedSize = 0;
    std::string remoteAddress;
    bool secure = false;

    std::string_view header(std::string_view name) const noexcept;
};

struct AdminResponse
{
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    /// Sent instead of `body` when set (the connector streams it with sendfile): `fileLength`
    /// bytes from offset 0. A backup download, never read into memory.
    std::shared_ptr<http::FileBody> file;
    uint64_t fileLength = 0;

    std::string_view header(std::string_view name) const noexcept;
};

/// Who is calling, once authenticated.
struct Principal
{
    std::string user;
    std::vector<std::string> roles;
    bool viaToken = false;
    std::string sessionId; ///< cookie sessions only
    std::string csrf;      ///< cookie sessions only

    bool hasRole(std::string_view role) const noexcept;
};

/// The manager: admin page, JSON API (/api/...) and Prometheus metrics, behind the address
/// allow list, the Realm, admin sessions with CSRF tokens and bearer tokens.
///
/// THREADS: handle() and metrics() are called on worker threads, concurrently; all state is
/// behind the Realm's, AdminSessions' and TokenStore's own locks.
/// OWNERSHIP: the backend is owned by whoever wires the manager (container/startup) and must
/// outlive it.
class ManagerApi
{
public:
    /// The session cookie over plain HTTP. Over TLS it is SecureCookieName: the `__Secure-`
    /// prefix makes browsers refuse it unless it was set over TLS with Secure. (`__Host-` would
    /// force `Path=/`, handing the cookie to every app on the host.)
    static constexpr const char* CookieName = "SERVAL_MANAGER";
    static constexpr const char* SecureCookieName = "__Secure-SERVAL_MANAGER";
    static const char* cookieName(bool secure) noexcept { return secure ? SecureCookieName : CookieName; }
    /// Largest body of every route but /api/deploy (their bodies are small JSON objects).
    static constexpr uint64_t MaxJsonBody = 64 * 1024;

    /// Throws std::runtime_error for a bad allow list or an unusable token database.
    ManagerApi(ManagerConfig config, ManagerBackend& backend, std::shared_ptr<realm::Realm> realm,
               AdminSessions::Clock clock = {});

    AdminResponse handle(const AdminRequest& request);
    /// GET /metrics (Prometheus text), same allow list, optional bearer token; other methods 405.
    AdminResponse metrics(const AdminRequest& request);

    /// The decision on a request head (`head` has no body yet), before one body byte is read:
    /// the allow list, Origin and Sec-Fetch-Site on state changes, and, when a body is announced,
    /// the caller (session cookie and CSRF token, or bearer token), its role and the method, for
    /// every route but login. Sets `maxBody` to what the route takes. Returns the refusal, or
    /// nullopt to read the body and handle() the request.
    /// THREADS: I/O threads (ManagerHeadCheck). Reads memory and the token table only; the one
    /// write is the audit row of a CSRF refusal, which needs a live session.
    std::optional<AdminResponse> checkHead(const AdminRequest& head, bool bodyAnnounced, uint64_t& maxBody);
    /// The same for /metrics: the allow list and the method; no body is read.
    std::optional<AdminResponse> checkMetricsHead(const AdminRequest& head, bool bodyAnnounced,
                                                  uint64_t& maxBody);

    const ManagerConfig& config() const noexcept { return _config; }
    realm::Realm& realm() noexcept { return *_realm; }
    TokenStore& tokens() noexcept { return *_tokens; }

private:
    /// Who may call a route. Checked before the method: a manager-status user who sends
    /// GET /api/stop hears 403, not 405.
    enum class Access
    {
        Anyone,     ///< no authentication: /login only
        Principal,  ///< any authenticated caller
        Read,       ///< manager-gui, manager-status or manager-script
        Act,        ///< Read, and manager-gui with the cookie or manager-script with a token
        AuditLog,   ///< Read, and manager-gui or manager-script
        TokenAdmin, ///< manager-gui with the cookie; a token never manages tokens
    };

    /// One authenticated API call: what a route's handler sees.
    struct ApiCall
    {
        const AdminRequest& request;
        const Principal& who;
        std::map<std::string, std::string> params; ///< the decoded query
        std::string_view tail;                     ///< what a pattern's "*" matched
    };
    using Handler = AdminResponse (ManagerApi::*)(const ApiCall& call);

    /// One row of the API's route table (routes() in ManagerApi.cpp), in the style of nginx's
    /// directive tables: adding an endpoint is one row. The first row whose path matches and
    /// whose methods include the request's answers; a path that matches only with other
    /// methods answers 405 with `wrongMethod`. Rows sharing a path are adjacent and share their
    /// access.
    struct Route
    {
        std::string_view methods; ///< "GET HEAD", or "*" for any
        std::string_view path;    ///< below /api: exact ("/apps"), "/tokens/*" or "*"
        Access access;
        Handler handler;
        std::string_view wrongMethod; ///< the 405 detail
    };
    static const std::vector<Route>& routes();

    /// The route table's answer for a route below /api: the first row whose path matches
    /// (`byPath`, never null: the last row matches everything) and the one whose methods include
    /// the request's (`match`, null: 405).
    struct RouteMatch
    {
        const Route* byPath = nullptr;
        const Route* match = nullptr;
        std::string_view tail;
    };
    static RouteMatch matchRoute(std::string_view method, std::string_view route);

    AdminResponse api(const AdminRequest& request, std::string_view route);
    /// 405, 403 (allow list) or 401 (metricsToken) for a /metrics request, or nullopt.
    std::optional<AdminResponse> refuseMetrics(const AdminRequest& request) const;
    /// 403 for a client outside the allow list.
    std::optional<AdminResponse> refuseAddress(const AdminRequest& request) const;
    /// 403 for a state change another site's page sent (Origin or Sec-Fetch-Site say so).
    std::optional<AdminResponse> refuseCrossSite(const AdminRequest& request) const;
    /// The caller behind a bearer token or the page's cookie (and its CSRF token), or the
    /// 401/403 answer that refuses it. `atHead`: a token is only looked up (its last use is
    /// recorded when the request is handled).
    std::variant<Principal, AdminResponse> authenticate(const AdminRequest& request, std::string_view route,
                                                        bool atHead = false);
    std::optional<AdminResponse> refuse(Access access, const Principal& who) const;

    AdminResponse login(const ApiCall& call);
    AdminResponse session(const ApiCall& call);
    AdminResponse logout(const ApiCall& call);
    AdminResponse listTokens(const ApiCall& call);
    AdminResponse createToken(const ApiCall& call);
    AdminResponse revokeToken(const ApiCall& call);
    AdminResponse undeploy(const ApiCall& call);
    AdminResponse start(const ApiCall& call);
    AdminResponse stop(const ApiCall& call);
    AdminResponse reload(const ApiCall& call);
    AdminResponse restartProcesses(const ApiCall& call);
    AdminResponse action(const ApiCall& call, std::string_view name,
                         ActionResult (ManagerBackend::*run)(const std::string& host,
                                                             const std::string& path));
    AdminResponse deploy(const ApiCall& call);
    AdminResponse apps(const ApiCall& call);
    AdminResponse dataSources(const ApiCall& call);
    AdminResponse backup(const ApiCall& call);
    /// The application's HttpSessions (GET /sessions) and invalidating one or all of them.
    AdminResponse listSessions(const ApiCall& call);
    AdminResponse invalidateSessions(const ApiCall& call);
    AdminResponse app(const ApiCall& call);
    AdminResponse status(const ApiCall& call);
    AdminResponse history(const ApiCall& call);
    AdminResponse crashes(const ApiCall& call);
    AdminResponse crash(const ApiCall& call);
    AdminResponse auditLog(const ApiCall& call);
    AdminResponse logs(const ApiCall& call);
    AdminResponse notFound(const ApiCall& call);

    /// Records a backend action's result in the audit log and answers it: the error, or 200
    /// with `fields` and the app.
    AdminResponse finishAction(const ApiCall& call, std::string_view name, const std::string& target,
                               const ActionResult& result, Poco::JSON::Object::Ptr fields);
    std::string hostParam(const ApiCall& call);
    void audit(const Principal& who, const AdminRequest& request, std::string action, std::string target,
               std::string result);
    std::string cookieHeader(const std::string& value, bool secure, bool remove) const;

    ManagerConfig _config;
    ManagerBackend& _backend;
    std::shared_ptr<realm::Realm> _realm;
    AddressAllowList _allow;
    AdminSessions _sessions;
    std::unique_ptr<TokenStore> _tokens;
};

} // namespace serval::manager
