#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace serval::manager {

/// A logged-in manager user (cookie authentication).
struct AdminSession
{
    std::string id;   ///< 256-bit random, base64url; the cookie value
    std::string csrf; ///< 256-bit random; required in X-CSRF-Token on every state change
    std::string user;
    std::vector<std::string> roles;
    std::chrono::steady_clock::time_point lastSeen;
};

/// The manager's own sessions, in memory: a restart logs everyone out, which is the safe
/// default for an admin console. A new id at every login (no fixation), an idle timeout,
/// a cap on the number of live sessions (oldest evicted).
///
/// THREADS: all methods are safe from any thread.
class AdminSessions
{
public:
    using Clock = std::function<std::chrono::steady_clock::time_point()>;

    explicit AdminSessions(std::chrono::seconds idleTimeout = std::chrono::minutes(30), Clock clock = {},
                           size_t maxSessions = 1000);

    AdminSession create(const std::string& user, std::vector<std::string> roles);
    /// The live session for a cookie value (touching it), or nullopt if unknown or idle too long.
    std::optional<AdminSession> find(const std::string& id);
    void remove(const std::string& id);
    std::chrono::seconds idleTimeout() const noexcept { return _idleTimeout; }

private:
    std::chrono::steady_clock::time_point now() const
    {
        return _clock ? _clock() : std::chrono::steady_clock::now();
    }

    std::chrono::seconds _idleTimeout;
    Clock _clock;
    size_t _maxSessions;
    std::mutex _mutex;
    std::map<std::string, AdminSession> _sessions;
};

} // namespace serval::manager
