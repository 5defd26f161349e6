#pragma once

#include "manager/AddressAllowList.h"
#include "manager/AdminSessions.h"
#include "manager/ManagerBackend.h"
#include "manager/ManagerConfig.h"
#include "manager/TokenStore.h"
#include "realm/Realm.h"

#include <memory>
#include <string>
#include <string_view>
#include <utility>
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
    std::string remoteAddress;
    bool secure = false;

    std::string_view header(std::string_view name) const noexcept;
};

struct AdminResponse
{
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

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
    static constexpr const char* CookieName = "SERVAL_MANAGER";

    /// Throws std::runtime_error for a bad allow list or an unusable token database.
    ManagerApi(ManagerConfig config, ManagerBackend& backend, std::shared_ptr<realm::Realm> realm,
               AdminSessions::Clock clock = {});

    AdminResponse handle(const AdminRequest& request);
    /// GET /metrics (Prometheus text), same allow list, optional bearer token.
    AdminResponse metrics(const AdminRequest& request);

    const ManagerConfig& config() const noexcept { return _config; }
    realm::Realm& realm() noexcept { return *_realm; }
    TokenStore& tokens() noexcept { return *_tokens; }

private:
    AdminResponse api(const AdminRequest& request, std::string_view route);
    AdminResponse login(const AdminRequest& request);
    AdminResponse action(const AdminRequest& request, const Principal& who, std::string_view name);
    AdminResponse deploy(const AdminRequest& request, const Principal& who);
    AdminResponse tokensEndpoint(const AdminRequest& request, const Principal& who, std::string_view rest);
    AdminResponse logs(const AdminRequest& request);
    AdminResponse statusJson();
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
