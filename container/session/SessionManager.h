#pragma once

#include "session/SessionIdGenerator.h"
#include "session/SessionStore.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace serval::session {

class Session;

/// How one Context's sessions behave: web.xml <session-config> merged with the defaults, and
/// where they belong. Plain data.
struct SessionSettings
{
    std::string scope;                  ///< sessionScope(host, contextPath)
    int32_t maxInactiveInterval = 1800; ///< seconds for new sessions; <= 0: never expire
    std::string cookieName = "SERVALSESSION";
    std::string cookiePath = "/"; ///< the context path by default ("/" for ROOT)
    bool httpOnly = true;
    std::optional<bool> secure;   ///< nullopt: Secure exactly when the request is secure
    std::string sameSite = "Lax"; ///< "Strict", "Lax", "None" or "" (not sent)
};

/// What the response must say about the session cookie: set it (a new session, a changed id) or
/// delete it (invalidated). The caller turns it into a Set-Cookie header with its own writer.
struct SessionCookie
{
    std::string name;
    std::string value; ///< the id with this node's route; "" when deleting
    std::string path;
    int64_t maxAge = -1; ///< -1: a browser-session cookie; 0: delete it
    bool httpOnly = true;
    bool secure = false;
    std::string sameSite;
};

/// Tomcat's Manager for one Context: finds and creates the sessions of its requests through a
/// SessionStore shared with the other Contexts (and processes, and nodes), and issues ids.
///
/// OWNERSHIP: owned by whoever runs the Context (in the server or in a worker process); refers
/// to the store and the id generator, which outlive it.
/// THREADS: any thread; immutable after construction. Each request gets its own Session.
class SessionManager
{
public:
    using Clock = std::function<int64_t()>; ///< milliseconds since the epoch

    SessionManager(SessionStore& store, const SessionIdGenerator& ids, SessionSettings settings,
                   Clock clock = {});

    /// A request's handle on its session. `cookieValues`: every value of the session cookie
    /// (cookieName) the request carried, in order; nothing is looked up until the app asks.
    std::unique_ptr<Session> forRequest(std::vector<std::string> cookieValues) const;

    /// Commits a request's writes (Session::prepareFlush) before its response head leaves.
    void commit(std::vector<SessionOp> ops, SessionStore::CommitCallback done) const noexcept;

    const SessionSettings& settings() const noexcept { return _settings; }
    SessionStore& store() const noexcept { return _store; }
    const SessionIdGenerator& ids() const noexcept { return _ids; }
    int64_t now() const { return _clock(); }

private:
    SessionStore& _store;
    const SessionIdGenerator& _ids;
    SessionSettings _settings;
    Clock _clock;
};

} // namespace serval::session
