#pragma once

#include "config/ServerConfig.h"
#include "http/DispatchLane.h"
#include "manager/EngineBackend.h"
#include "manager/ManagerApi.h"

#include <memory>
#include <string>

namespace serval::core {
class Context;
class Engine;
class HeadCheck;
class Servlet;
} // namespace serval::core

namespace serval::manager {

/// Wires the manager into a running Engine (called once by container/startup after the
/// Engine started): the Realm from conf/users.xml, the API tokens table, the admin page and
/// JSON API as a container-provided Context at <Manager path> on the default host, and
/// /metrics as a second one.
///
/// OWNERSHIP: owned by the Server for its whole life; the Engine must outlive it, and the
/// Contexts it adds hold the ManagerApi through their servlets.
/// THREADS: install() on the start-up thread; the rest on request threads.
class Manager
{
public:
    Manager(core::Engine& engine, const config::ServerConfig& server, std::string version);
    ~Manager();

    /// Builds, starts and routes the two Contexts. Throws std::runtime_error with one
    /// actionable line (bad allow list, unusable database, path already taken).
    void install();

    /// The pool the two Contexts run their requests on (startup's admin pool, which no app can
    /// take, so the page and /metrics answer while apps hang). Before install(); `lane` outlives
    /// the Contexts. Not called: they take a share of the shared pool like an app.
    void setDispatchLane(http::DispatchLane& lane) noexcept { _lane = &lane; }

    EngineBackend& backend() noexcept { return *_backend; }
    ManagerApi& api() noexcept { return *_api; }

private:
    std::shared_ptr<core::Context> makeContext(const std::string& name, const std::string& path,
                                               std::unique_ptr<core::Servlet> servlet,
                                               std::shared_ptr<core::HeadCheck> headCheck, uint64_t maxBody);

    core::Engine& _engine;
    config::ServerConfig _server;
    std::unique_ptr<EngineBackend> _backend;
    std::shared_ptr<realm::Realm> _realm;
    std::shared_ptr<ManagerApi> _api;
    http::DispatchLane* _lane = nullptr;
};

} // namespace serval::manager
