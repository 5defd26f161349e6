#pragma once

#include "config/WebAppConfig.h"
#include "core/Servlet.h"
#include "http/HttpHandler.h"

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace serval::core {

class Context;

/// What the admin page, the JSON API and /metrics show of an isolated Context's processes.
struct RemoteStatus
{
    /// Why a worker was replaced, in this order: the /metrics label of restarts.
    static constexpr std::array<const char*, 4> kCauses = {"crash", "timeout", "memory", "recycle"};

    struct Process
    {
        int pid = 0;
        double uptimeSeconds = 0;
        uint64_t residentBytes = 0;
        uint64_t requests = 0;
        std::string state; ///< "starting", "running", "draining"
    };
    std::string
        state; ///< "running", "restarting", "quarantined", "starting", "stopping", "stopped", "failed"
    std::string reason; ///< why quarantined (or failed); "" otherwise
    std::vector<Process> processes;
    uint64_t crashes = 0;
    std::array<uint64_t, kCauses.size()> restarts{}; ///< by cause
    uint64_t replayed = 0;                           ///< requests sent again after their worker crashed
    uint64_t failedByCrash = 0;                      ///< requests answered 502 because their worker crashed
    std::string lastCrashId;
};

/// What RemoteApplication::forward() left running for one exchange: the Engine keeps it in the
/// exchange's state and calls ended() from HttpHandler::complete() (loop thread), exactly once,
/// whether the response went out or the client left first. After ended() the object is gone.
class RemoteExchange
{
public:
    virtual void ended() noexcept = 0;

protected:
    ~RemoteExchange() = default;
};

/// The code of an isolated Context (isolation="process") running outside the server: the
/// Context still maps every request (Engine -> Context -> Wrapper) and serves a static file
/// itself when no filter, listener or error page of the app needs to run around it; every
/// other request goes to forward(). Implemented by container/process (worker processes),
/// injected through ContextServices::remoteApplication, so core knows nothing of processes.
///
/// OWNERSHIP: owned by its Context, created at each start and destroyed after stop().
/// THREADS: start() and stop() on the Context's control thread; forward() on the I/O thread
/// of the exchange (Dispatch::Inline: it must not block; exchange.loop is that thread's loop).
class RemoteApplication
{
public:
    virtual ~RemoteApplication() = default;
    /// Starts the app's processes and waits until they are ready (the Context's start fails
    /// with the reason otherwise: throws std::runtime_error). Called before the Context builds
    /// its mapping: that needs declarations().
    virtual void start() = 0;
    /// What the app's libraries declare in code (core::codeDeclarations), as its workers
    /// reported once started: servlets, filters and listeners with their mappings. Valid after
    /// start(); the Context merges it under web.xml as an in-process Context merges its own.
    virtual config::WebAppConfig declarations() const = 0;
    /// Drains and ends them (the app's on_destroy runs there).
    virtual void stop() noexcept = 0;
    /// Serves one request the Context mapped (Engine::service, inside its last-resort catch):
    /// suspends the exchange and answers it later on the same loop with the app's response.
    /// The request (and its body) must stay as it is until ended() (a crash replays it).
    /// Returns what the Engine must end; nullptr if it answered at once.
    virtual RemoteExchange* forward(http::HttpExchange& exchange) noexcept = 0;

    /// Any thread (the admin page).
    virtual RemoteStatus status() const = 0;
    /// Replaces every process (new ones first): the admin page's "restart".
    virtual void restart() = 0;
    /// Ends a quarantine (the admin's start or reload): the processes start again.
    virtual void liftQuarantine() = 0;

    /// The classes an isolated Context builds its mapping with in the server: stand-ins for
    /// every servlet, filter and listener web.xml and `declared` (declarations()) name (any
    /// class name), which do nothing and are never called for a request (those are forwarded).
    /// The real ones are created in the workers, which proved at start that they exist.
    static std::shared_ptr<AppModule> standIns(config::WebAppConfig declared);
};

/// Creates the RemoteApplication of a Context about to start (startup wires container/process).
using RemoteApplicationFactory = std::function<std::unique_ptr<RemoteApplication>(const Context& context)>;

} // namespace serval::core
