#pragma once

#include "http/Loop.h"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace serval::websocket {

class WebSocketSession;

/// The WebSocket sessions one application (a Context) has open, so that before its code goes
/// away (undeploy, the old version of a redeploy, a worker's drain) it can say goodbye to them
/// with a close 1001, as Tomcat's WsServerContainer does, and wait until none of them can call
/// its endpoints any more: a session leaves the registry when it is destroyed, with its
/// endpoint. Without it an in-process app's library was unloaded under its open WebSockets and
/// the next message ran unmapped code.
///
/// THREADS: any. Each session adds and removes itself on its loop thread; goAway() and
/// abortAll() post to those loops, where the session is checked to be still registered before
/// it is touched (it is destroyed only on that thread, so it cannot go away meanwhile).
/// OWNERSHIP: shared by the Context and its sessions (the posted tasks hold it too).
class SessionRegistry : public std::enable_shared_from_this<SessionRegistry>
{
public:
    /// Loop thread of `session`, once it is open.
    void add(WebSocketSession* session, http::Loop& loop);
    /// Loop thread of `session`, when it is destroyed (a session never added is ignored).
    void remove(WebSocketSession* session) noexcept;

    /// Any thread: every open session starts its close handshake with 1001 and `reason`
    /// (WebSocketSession::goAway); each closes once the client answered or its close timeout
    /// passed. Returns at once.
    void goAway(const std::string& reason);
    /// Any thread: every open session's connection is cut now (onClose follows on its loop).
    void abortAll();
    /// Any thread: waits until no session is registered, or `deadline`; true if none is.
    bool waitEmpty(std::chrono::steady_clock::time_point deadline);
    size_t size() const;

private:
    /// Runs `action` on each registered session, on its loop.
    template <typename Action> void forEachOnItsLoop(Action action);
    bool contains(WebSocketSession* session) const;

    mutable std::mutex _mutex;
    std::condition_variable _emptied;
    std::unordered_map<WebSocketSession*, http::Loop*> _open;
};

} // namespace serval::websocket
