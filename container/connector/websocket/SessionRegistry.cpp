#include "connector/websocket/SessionRegistry.h"

#include "connector/websocket/WebSocketSession.h"

#include <utility>
#include <vector>

namespace serval::websocket {

void SessionRegistry::add(WebSocketSession* session, http::Loop& loop)
{
    std::lock_guard<std::mutex> lock(_mutex);
    _open[session] = &loop;
}

void SessionRegistry::remove(WebSocketSession* session) noexcept
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_open.erase(session) > 0 && _open.empty()) _emptied.notify_all();
}

bool SessionRegistry::contains(WebSocketSession* session) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _open.count(session) > 0;
}

template <typename Action> void SessionRegistry::forEachOnItsLoop(Action action)
{
    std::vector<std::pair<WebSocketSession*, http::Loop*>> open;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        open.assign(_open.begin(), _open.end());
    }
    auto self = shared_from_this();
    for (auto [session, loop] : open) {
        // A loop that has ended refuses: its connections, this session's too, are gone with it.
        loop->post([self, session, action] {
            if (self->contains(session)) action(*session);
        });
    }
}

void SessionRegistry::goAway(const std::string& reason)
{
    forEachOnItsLoop([reason](WebSocketSession& session) { session.goAway(reason); });
}

void SessionRegistry::abortAll()
{
    forEachOnItsLoop([](WebSocketSession& session) { session.abortNow(); });
}

bool SessionRegistry::waitEmpty(std::chrono::steady_clock::time_point deadline)
{
    std::unique_lock<std::mutex> lock(_mutex);
    return _emptied.wait_until(lock, deadline, [this] { return _open.empty(); });
}

size_t SessionRegistry::size() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _open.size();
}

} // namespace serval::websocket
