#pragma once

#include "config/ServerConfig.h"
#include "config/WebAppConfig.h"
#include "connector/Connector.h"
#include "connector/WorkerPool.h"
#include "core/Engine.h"
#include "core/Lifecycle.h"
#include "deployer/ServerDeployment.h"
#include "manager/Manager.h"
#include "process/ProcessManager.h"
#include "session/SessionService.h"
#include "startup/ManagerSessions.h"
#include "valves/AccessLog.h"

#include <map>
#include <memory>
#include <vector>

namespace serval::startup {

/// The running process (Tomcat's StandardServer): the top Lifecycle. start() opens the logs,
/// reads conf/web.xml, builds the Engine and its Hosts, deploys the applications found in each
/// appBase, then opens the Connectors; stop() closes them in reverse order (Connectors first,
/// so in-flight requests drain while the apps are still running).
///
/// OWNERSHIP: owned by main(); owns everything below it.
/// THREADS: start()/stop() on the main thread; engine() may be used by control threads while
/// started.
class Server : public core::Lifecycle
{
public:
    explicit Server(config::ServerConfig config);
    ~Server() override;

    const config::ServerConfig& config() const noexcept { return _config; }
    /// conf/web.xml: the defaults merged under every app's WEB-INF/web.xml.
    const config::WebAppConfig& webXmlDefaults() const noexcept { return _webXmlDefaults; }
    /// Valid between start() and stop().
    core::Engine& engine() noexcept { return *_engine; }
    /// The Deployer and the registry (admin page, API). Valid between start() and stop().
    deployer::Deployer& deployer() noexcept { return _deployment->deployer(); }
    registry::Registry& registry() noexcept { return _deployment->registry(); }
    const std::vector<std::unique_ptr<connector::Connector>>& connectors() const noexcept
    {
        return _connectors;
    }

    /// What the last stop() left running past the Connectors' drain deadline (empty: nothing).
    /// Not empty: those handlers still run on abandoned threads, stop() kept (leaked) the
    /// Engine, the apps and everything else they may use, and main() should exit the process
    /// at once without running destructors.
    const connector::DrainReport& drainReport() const noexcept { return _drainReport; }

    /// Every I/O loop of every Connector, ordered by http::Loop::index() (0..N-1). Fixed while
    /// started: the process manager attaches its per-loop rings to these.
    std::vector<http::Loop*> loops() const;

    /// The services every Context gets: the app loader (container/app), the DefaultServlet
    /// (container/servlets), when given sessions (container/session), and the signing secret.
    /// Exposed for the deployer and the admin page.
    static core::ContextServices contextServices(core::SessionAccessFactory sessions = {},
                                                 std::string signingSecret = {});
    /// The stores, the ids and the expiry sweep. Valid between start() and stop().
    session::SessionService& sessions() noexcept { return *_sessions; }
    /// The server's secret, data/serval.key (32 random bytes, mode 0600), created on the first
    /// start: what the host keys the signatures it makes for apps with (ABI context_sign), so
    /// signed cookies hold across restarts and app versions. Throws one actionable line if the
    /// file cannot be read or created.
    static std::string readOrCreateSecret(const std::string& path);
    /// Reads `base`/conf/web.xml if present (throws config::ConfigError with "conf/web.xml:LINE").
    static config::WebAppConfig readWebXmlDefaults(const std::string& base);

protected:
    void startInternal() override;
    void stopInternal() noexcept override;
    std::string lifecycleName() const override { return "server"; }

private:
    void openLogs();
    /// The AccessLog writing `path`, opened on first use (nullptr for "").
    valves::AccessLog* accessLog(const std::string& path);
    /// Starts the Deployer: reconciliation, start-up deployment, the appBase watcher.
    void deployApplications();
    /// Mounts the manager and /metrics on the default host (<Manager> in server.xml).
    void installManager();

    config::ServerConfig _config;
    config::WebAppConfig _webXmlDefaults;
    /// One AccessLog per distinct file (hosts may share one); outlives the Engine's last complete().
    std::map<std::string, std::unique_ptr<valves::AccessLog>> _accessLogs;
    /// Isolated apps' worker processes (issue 11): before the Engine, so it outlives every
    /// Context that holds workers; its supervisor runs while they stop.
    std::unique_ptr<process::ProcessManager> _processes;
    /// Before _engine: every Context's sessions point into its stores, so it is destroyed last.
    std::unique_ptr<session::SessionService> _sessions;
    std::unique_ptr<ManagerSessions> _managerSessions; ///< the manager's view of _sessions
    std::unique_ptr<core::Engine> _engine;
    std::unique_ptr<deployer::ServerDeployment> _deployment; ///< after _engine: destroyed before it
    /// The admin page, JSON API and /metrics (container/manager); its Contexts live in the
    /// Engine, its backend reads the Deployer and the Connectors.
    std::unique_ptr<manager::Manager> _manager;
    std::vector<std::unique_ptr<connector::Connector>> _connectors;
    /// The manager's and /metrics' own threads (DESIGN wave 2, section 3): no app can take
    /// them, so the admin page answers while every app hangs. Outlives the Engine's Contexts.
    std::unique_ptr<connector::WorkerPool> _adminPool;
    connector::DrainReport _drainReport;
};

/// "http://127.0.0.1:8080/" or "http://[::1]:8080/"; "https://..." for a TLS connector.
std::string listeningUrl(const std::string& address, uint16_t port, bool tls = false);

} // namespace serval::startup
