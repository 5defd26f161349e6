#include "session/SessionSweeper.h"

#include "util/Log.h"

namespace serval::session {

SessionSweeper::SessionSweeper(SessionStore& store, int64_t intervalMillis, Expired onExpired,
                               SessionStore::ScopeFilter scopes)
    : _store(store), _interval(intervalMillis), _onExpired(std::move(onExpired)), _scopes(std::move(scopes))
{}

size_t SessionSweeper::tick(int64_t now) noexcept
{
    if (_lastSweep != 0 && now - _lastSweep < _interval) return 0;
    _lastSweep = now;
    size_t removed = 0;
    try {
        // A bounded batch per call keeps each write transaction short; a backlog (after a long
        // outage) drains over the following ticks.
        std::vector<ExpiredSession> expired = _store.sweepExpired(now, 1000, _scopes);
        removed = expired.size();
        if (_failing) LOG_INFO("session", _store.describe() + ": the expiry sweep works again");
        _failing = false;
        if (!expired.empty() && _onExpired) _onExpired(expired);
        if (removed > 0) {
            LOG_DEBUG("session",
                      _store.describe() + ": " + std::to_string(removed) + " expired session(s) removed");
        }
    } catch (const std::exception& e) {
        if (!_failing) {
            LOG_WARN("session", std::string("expired sessions were not removed: ") + e.what() +
                                    "; retrying every sweep interval");
        }
        _failing = true;
    }
    return removed;
}

} // namespace serval::session
