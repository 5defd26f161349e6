#pragma once

#include "config/ServerConfig.h"
#include "core/Context.h"
#include "core/Lifecycle.h"
#include "http/HttpHandler.h"

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace serval::core {

class Engine;

/// Writes one access log line for a completed exchange (valves::AccessLog::log, wired by
/// startup). Called on the thread that completed the exchange; must be thread-safe.
using AccessLogFn = std::function<void(const http::HttpExchange& exchange, uint64_t bytesSent)>;

/// A virtual host (Tomcat's StandardHost): a name, aliases, an appBase, and the Contexts
/// deployed on it.
///
/// OWNERSHIP: held by the Engine (shared_ptr) and pinned by routing snapshots.
/// THREADS: add/remove/find on control threads (deployer, admin), serialised by a mutex; every
/// change publishes a new routing snapshot through the Engine, so request threads never lock.
class Host : public Lifecycle
{
public:
    explicit Host(config::HostConfig config);
    ~Host() override;

    const std::string& name() const noexcept { return _config.name; }
    const std::vector<std::string>& aliases() const noexcept { return _config.aliases; }
    const std::string& appBase() const noexcept { return _config.appBase; }
    const config::HostConfig& config() const noexcept { return _config; }

    /// Puts `context` into routing at its path, atomically replacing the Context there, and
    /// returns the replaced one (nullptr if none). Does not start or stop anything: the
    /// deployer starts the new Context first, then calls this, then drains (inFlight() == 0)
    /// and stops the old one.
    std::shared_ptr<Context> addContext(std::shared_ptr<Context> context);
    /// Takes the Context at `path` ("" for ROOT) out of routing and returns it (nullptr if
    /// none). The caller drains and stops it.
    std::shared_ptr<Context> removeContext(const std::string& path);
    std::shared_ptr<Context> findContext(const std::string& path) const;
    /// Every Context, ordered by path.
    std::vector<std::shared_ptr<Context>> contexts() const;

    /// Before start: where this host's access log lines go (none if unset).
    void setAccessLog(AccessLogFn accessLog) { _accessLog = std::move(accessLog); }
    const AccessLogFn& accessLog() const noexcept { return _accessLog; }

    /// Called by Engine::addHost().
    void attach(Engine* engine) noexcept { _engine = engine; }

protected:
    /// Starts every Context that is New (failures are logged; the Context stays Failed and
    /// answers 503 with its reason); stops them in reverse order.
    void startInternal() override;
    void stopInternal() noexcept override;
    std::string lifecycleName() const override { return "host " + _config.name; }

private:
    void publish();

    config::HostConfig _config;
    Engine* _engine = nullptr;
    AccessLogFn _accessLog;
    mutable std::mutex _mutex;
    std::vector<std::shared_ptr<Context>> _contexts; ///< ordered by path
};

} // namespace serval::core
