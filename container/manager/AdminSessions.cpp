#include "manager/AdminSessions.h"

#include "realm/Secrets.h"

namespace serval::manager {

AdminSessions::AdminSessions(std::chrono::seconds idleTimeout, Clock clock, size_t maxSessions)
    : _idleTimeout(idleTimeout), _clock(std::move(clock)), _maxSessions(maxSessions)
{}

AdminSession AdminSessions::create(const std::string& user, std::vector<std::string> roles)
{
    AdminSession session;
    session.id = realm::randomToken(32);
    session.csrf = realm::randomToken(32);
    session.user = user;
    session.roles = std::move(roles);
    std::lock_guard<std::mutex> lock(_mutex);
    auto t = now();
    session.lastSeen = t;
    for (auto it = _sessions.begin(); it != _sessions.end();) {
        it = it->second.lastSeen + _idleTimeout <= t ? _sessions.erase(it) : std::next(it);
    }
    if (_sessions.size() >= _maxSessions) {
        auto oldest = _sessions.begin();
        for (auto it = _sessions.begin(); it != _sessions.end(); ++it) {
            if (it->second.lastSeen < oldest->second.lastSeen) oldest = it;
        }
        _sessions.erase(oldest);
    }
    _sessions[session.id] = session;
    return session;
}

std::optional<AdminSession> AdminSessions::find(const std::string& id)
{
    std::lock_guard<std::mutex> lock(_mutex);
    auto it = _sessions.find(id);
    if (it == _sessions.end()) return std::nullopt;
    auto t = now();
    if (it->second.lastSeen + _idleTimeout <= t) {
        _sessions.erase(it);
        return std::nullopt;
    }
    it->second.lastSeen = t;
    return it->second;
}

void AdminSessions::remove(const std::string& id)
{
    std::lock_guard<std::mutex> lock(_mutex);
    _sessions.erase(id);
}

} // namespace serval::manager
