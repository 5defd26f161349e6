#include "session/SessionManager.h"

#include "session/Session.h"

namespace serval::session {

SessionManager::SessionManager(SessionStore& store, const SessionIdGenerator& ids, SessionSettings settings,
                               Clock clock)
    : _store(store), _ids(ids), _settings(std::move(settings)), _clock(std::move(clock))
{
    if (!_clock) _clock = &wallClockMillis;
}

std::unique_ptr<Session> SessionManager::forRequest(std::vector<std::string> cookieValues) const
{
    return std::make_unique<Session>(*this, std::move(cookieValues));
}

void SessionManager::commit(std::vector<SessionOp> ops, SessionStore::CommitCallback done) const noexcept
{
    _store.commit(_settings.scope, std::move(ops), std::move(done));
}

} // namespace serval::session
