#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace serval::manager {

/// The manager's settings: conf/server.xml `<Manager path="/manager" allow="127.0.0.0/8,::1"
/// sessionTimeout="1800" metricsToken=""/>` inside <Server>; every attribute is optional.
struct ManagerConfig
{
    bool enabled = true;
    std::string path = "/manager";             ///< context path of the page and the API
    std::string allow = "127.0.0.0/8,::1";     ///< CIDR list of clients that may reach it
    std::chrono::seconds sessionTimeout{1800}; ///< idle timeout of an admin session
    /// If set, /metrics also requires `Authorization: Bearer <metricsToken>` (Prometheus'
    /// `authorization` / `bearer_token` setting). The allow list always applies.
    std::string metricsToken;
    /// Largest bundle upload (POST /api/deploy body), and largest file a deploy by server path
    /// copies; every other route takes JSON bodies up to ManagerApi::MaxJsonBody.
    uint64_t maxUploadSize = 268435456;
    /// Directories (absolute, resolved) a deploy by server path may read from; empty: deploy by
    /// server path is off.
    std::vector<std::string> deployRoots;
    std::string usersFile;      ///< BASE/conf/users.xml
    std::string tokensDatabase; ///< BASE/data/serval.db
    std::string logFile;        ///< BASE/logs/serval.log (the Logs tab tails it)
};

} // namespace serval::manager
