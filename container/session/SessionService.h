#pragma once

#include "core/SessionAccess.h"
#include "session/SessionIdGenerator.h"
#include "session/SessionStore.h"
#include "session/SessionSweeper.h"

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace serval::config {
struct ServerConfig;
}

namespace serval::session {

class ContextSessions;

/// Which expired sessions one process's sweep removes (docs/sessions.md "Expiry"): the sweep
/// that removes a session tells the listeners it can reach, so an isolated app's sessions must
/// expire in its worker, where its listeners are.
enum class SweepScopes
{
    /// The server: every scope except those of running isolated Contexts (their workers sweep
    /// them), including the scopes of apps no longer deployed.
    AllButIsolated,
    /// A worker: only the scopes of its own Contexts (the app it runs).
    OwnOnly
};

/// The sessions of one process (what startup wires into every Context, and what a worker wires
/// into its app's Context): one store per distinct <Host><Manager> (hosts that name the same
/// file or Redis share it, so one SQLite file has one writer per process), the id generator
/// with the Engine's jvmRoute, and the expiry sweep on its own thread, whose findings go back
/// to the listeners of the Context that owns them.
///
/// OWNERSHIP: owned by the Server, created before the Engine and destroyed after it (every
/// Context's sessions point into its stores).
/// THREADS: factory() products run on control threads; the lookups below from any thread;
/// start()/stop() on the main thread.
class SessionService
{
public:
    /// Opens the stores (creating data/ for the SQLite file). Throws SessionStoreError or
    /// std::invalid_argument (jvmRoute) with one actionable line.
    explicit SessionService(const config::ServerConfig& config,
                            SweepScopes sweep = SweepScopes::AllButIsolated);
    ~SessionService();
    SessionService(const SessionService&) = delete;
    SessionService& operator=(const SessionService&) = delete;

    /// For core::ContextServices::sessions.
    core::SessionAccessFactory factory();

    /// Starts / stops the sweep thread (one tick per second; each store sweeps per its interval).
    void start();
    void stop() noexcept;
    /// One sweep of every store at `now`, on the caller's thread (tests drive the clock).
    void sweep(int64_t now) noexcept;

    /// The store holding `host`'s sessions; nullptr for an unknown host.
    SessionStore* storeFor(const std::string& host) const noexcept;
    /// Every distinct store, for /metrics.
    std::vector<SessionStore*> stores() const;
    const SessionIdGenerator& ids() const noexcept { return _ids; }

    // ---- the manager's view (any thread) -----------------------------------------------------
    /// Live sessions per scope across every store; nullopt when a store cannot answer.
    std::optional<std::map<std::string, uint64_t>> countByScope(int64_t now) noexcept;
    /// Up to `limit` live sessions of one application. Throws SessionStoreError.
    std::vector<SessionSummary> list(const std::string& host, const std::string& contextPath, size_t limit,
                                     int64_t now);
    /// Ends the one live session whose id starts with `idPrefix`, or all of the application's
    /// when it is empty; its listeners hear sessionDestroyed (in-process: here, at once; an
    /// isolated app: the sessions are marked expired, SessionOp::Expire, and its workers' sweep
    /// tells the listeners within a sweep interval). Returns how many ended. Throws
    /// std::invalid_argument when the prefix matches several, SessionStoreError on failure.
    uint64_t invalidate(const std::string& host, const std::string& contextPath, const std::string& idPrefix,
                        int64_t now);

private:
    struct StoreEntry
    {
        std::string key; ///< what makes two <Manager>s the same store
        std::unique_ptr<SessionStore> store;
        std::unique_ptr<SessionSweeper> sweeper;
    };

    void expired(const std::vector<ExpiredSession>& sessions) noexcept;
    /// The sweep's filter (SweepScopes), on the sweep's thread.
    bool sweepsScope(std::string_view scope) noexcept;
    std::shared_ptr<ContextSessions> owner(std::string_view scope) noexcept;
    void sweepLoop();

    SweepScopes _sweep;
    SessionIdGenerator _ids;
    std::vector<StoreEntry> _stores;
    std::map<std::string, SessionStore*> _byHost;

    std::mutex _contextsMutex;
    std::map<std::string, std::weak_ptr<ContextSessions>> _contexts; ///< by scope: the running version

    std::mutex _sweepMutex;
    std::condition_variable _sweepWake;
    bool _stopping = false;
    std::thread _sweepThread;
};

} // namespace serval::session
