#pragma once

#include "core/SessionAccess.h"
#include "session/SessionManager.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace serval::core {
class Context;
}

namespace serval::http {
class HttpRequest;
}

namespace serval::config {
struct WebAppConfig;
}

namespace serval::session {

/// One Context's sessions as the core sees them (core::SessionAccess): a SessionManager with the
/// Context's web.xml settings, and the way back to the Context's listeners for sessions the
/// sweep found expired.
///
/// OWNERSHIP: shared by the Context (from start to stop), every request handle it opened, and
/// (weakly) the SessionService that routes expiry notices. The store and the id generator
/// belong to the SessionService, which outlives every Context.
/// THREADS: open() on request threads; expired() on the sweep's thread; close() on the
/// Context's control thread.
class ContextSessions : public core::SessionAccess, public std::enable_shared_from_this<ContextSessions>
{
public:
    ContextSessions(core::Context& context, SessionStore& store, const SessionIdGenerator& ids,
                    SessionSettings settings);

    /// The settings web.xml gives a Context on `host` at `contextPath` (timeout, cookie).
    static SessionSettings settingsFor(const std::string& host, const std::string& contextPath,
                                       const config::WebAppConfig& webXml);

    std::unique_ptr<core::HttpSession> open(core::Request& request) override;
    void prefetch(const std::vector<http::HttpExchange*>& exchanges) noexcept override;
    /// How long a prefetched answer stands in for the request's own lookup: a request that
    /// first asks for its session later than this (it waited on something) looks it up again.
    static constexpr uint64_t kPrefetchFreshMicros = 100'000;
    void close() noexcept override;

    /// Sessions of this Context the sweep removed: tells its HttpSessionListeners (unless closed).
    void expired(const std::vector<ExpiredSession>& sessions) noexcept;

    const SessionManager& manager() const noexcept { return _manager; }
    /// The Context runs in worker processes (this is the server's shell of it): its listeners,
    /// and so the sweep of its scope, are in its worker.
    bool isolated() const noexcept { return _isolated; }
    /// Not yet closed: the Context is running.
    bool running() const noexcept;
    /// A held response became a 503 because its commit failed (its loop thread): the
    /// Context's rate-limited log line (Context::warnSessionStoreFailure), unless closed.
    void warnStoreFailure(const http::HttpRequest& request, std::string_view error) const noexcept;

private:
    SessionManager _manager;
    const bool _isolated;
    /// prefetch(): requests given answers, and those whose servlet then asked (open()).
    std::atomic<uint64_t> _prefetchOffered{0};
    std::atomic<uint64_t> _prefetchUsed{0};
    std::atomic<uint64_t> _prefetchSkipped{0};
    mutable std::mutex _mutex;
    core::Context* _context; ///< nullptr once closed
};

} // namespace serval::session
