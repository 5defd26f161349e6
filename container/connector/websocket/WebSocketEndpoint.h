#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

namespace serval::websocket {

class WebSocket;

enum class MessageType
{
    Text, ///< valid UTF-8 (checked before delivery: whole messages entirely, pieces so far)
    Binary
};

/// What an application implements for one WebSocket connection (Jakarta's Endpoint, with
/// uWebSockets' back-pressure): made by the endpoint's factory at the handshake, owned by the
/// WebSocketSession, destroyed on the loop thread right after onClose().
///
/// THREADS: every call on the connection's loop thread, one at a time. None may block (the
/// loop serves many connections): hand slow work to another thread and send from there
/// through the WebSocket handle. Calls are noexcept: an implementation catches its own.
class WebSocketEndpoint
{
public:
    virtual ~WebSocketEndpoint() = default;

    /// The handshake is done. `socket` is the any-thread handle: keep a copy to send later.
    virtual void onOpen(const std::shared_ptr<WebSocket>& socket) noexcept { (void)socket; }
    /// A message, or with WebSocketConfig::partialMessages a piece of one (`last` on the
    /// final piece, which may be empty). `data` is valid only during the call.
    virtual void onMessage(MessageType type, std::string_view data, bool last) noexcept = 0;
    /// A pong from the client (an answer to WebSocket::ping or the keep-alive ping).
    virtual void onPong(std::string_view payload) noexcept { (void)payload; }
    /// After a send returned Backpressure or Dropped: the queue is down to half the
    /// high-water mark; sending again is worth it.
    virtual void onWritable() noexcept {}
    /// The connection is being failed (RFC 6455 7.1.7) with `code`: a protocol error by the
    /// client (1002), invalid UTF-8 (1007), a limit (1009), the idle timeout (1001). onClose
    /// follows.
    virtual void onError(uint16_t code, std::string_view reason) noexcept
    {
        (void)code;
        (void)reason;
    }
    /// Once, last: the connection is closed. `code` is the client's close code (1005 if its
    /// close frame had none), the code the server failed the connection with, or 1006 if the
    /// connection dropped without a close frame.
    virtual void onClose(uint16_t code, std::string_view reason) noexcept
    {
        (void)code;
        (void)reason;
    }
};

} // namespace serval::websocket
