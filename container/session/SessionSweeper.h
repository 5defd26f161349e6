#pragma once

#include "session/SessionStore.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace serval::session {

/// Removes expired sessions from one store every `interval` (Tomcat's backgroundProcess ->
/// processExpires), driven by the Server's background tick so tests can drive it too.
///
/// Every process and node may run one: the store reports each expired session to exactly one
/// sweeper, whose callback tells the app's HttpSessionListener and counts /metrics.
///
/// THREADS: tick() from one thread at a time (the background tick).
class SessionSweeper
{
public:
    using Expired = std::function<void(const std::vector<ExpiredSession>&)>;

    /// `scopes`: which scopes this sweeper removes sessions from (empty: every scope), so that
    /// an isolated app's sessions expire in its worker, where its listeners are.
    SessionSweeper(SessionStore& store, int64_t intervalMillis, Expired onExpired = {},
                   SessionStore::ScopeFilter scopes = {});

    /// Sweeps if `interval` passed since the last sweep (or none ran yet). A store failure is
    /// logged once until the store answers again; it never throws. Returns how many sessions
    /// this call removed.
    size_t tick(int64_t now) noexcept;

private:
    SessionStore& _store;
    int64_t _interval;
    Expired _onExpired;
    SessionStore::ScopeFilter _scopes;
    int64_t _lastSweep = 0;
    bool _failing = false;
};

} // namespace serval::session
