#pragma once

#include "connector/websocket/Frame.h"
#include "http/AsyncResponse.h"
#include "http/Loop.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace serval::websocket {

class WebSocketSession;

/// The any-thread handle of one WebSocket connection: what an application keeps to send
/// (uWebSockets' send() contract: Ok, Backpressure or Dropped, and the buffered amount).
///
/// A send on the loop thread with nothing queued writes at once; from any other thread it
/// queues the message and posts to the loop, which frames (and compresses) it in order. The
/// buffered amount is what is queued here plus what the socket has not taken yet (framing
/// included; a message to be compressed counts at its uncompressed size).
///   - Ok: queued, the buffered amount is at or below WebSocketConfig::highWater;
///   - Backpressure: queued, but above highWater: stop until WebSocketEndpoint::onWritable;
///   - Dropped: not queued: something is queued already and this would pass maxBackpressure
///     (the connection stays; onWritable follows), or the connection is closing or closed. A
///     message bigger than maxBackpressure on its own goes out once the queue is empty.
///
/// THREADS: every call from any thread, concurrently (one mutex inside).
/// OWNERSHIP: shared by the session (until onClose) and the application; outlives the
/// connection harmlessly (every send is then Dropped).
class WebSocket : public std::enable_shared_from_this<WebSocket>
{
public:
    WebSocket(http::Loop& loop, size_t highWater, size_t maxBackpressure, std::string subprotocol)
        : _loop(loop), _highWater(highWater), _maxBackpressure(maxBackpressure),
          _subprotocol(std::move(subprotocol))
    {}

    http::WriteStatus sendText(std::string_view text) { return send(Opcode::Text, text); }
    http::WriteStatus sendBinary(std::string_view bytes) { return send(Opcode::Binary, bytes); }
    /// A ping with up to 125 bytes of payload (longer is Dropped); the pong reaches onPong.
    http::WriteStatus ping(std::string_view payload = {});
    /// Starts the close handshake with `code` (1000, 1001, 1008, 1011, 3000-4999) and a
    /// reason (cut to 123 bytes); later sends are Dropped. False if already closing or closed,
    /// or the code may not be sent.
    bool close(uint16_t code = CloseCode::Normal, std::string_view reason = {});

    size_t bufferedAmount() const noexcept;
    /// False once the close handshake started or the connection closed.
    bool isOpen() const;
    /// The subprotocol chosen at the handshake, or empty.
    const std::string& subprotocol() const noexcept { return _subprotocol; }
    /// The connection's loop (valid while the connector runs): post here to run code next to it.
    http::Loop& loop() const noexcept { return _loop; }

private:
    friend class WebSocketSession;

    struct Outgoing
    {
        Opcode opcode;
        std::string payload;
        uint16_t closeCode; ///< Close only
    };

    http::WriteStatus send(Opcode opcode, std::string_view payload);
    /// Loop thread (posted): hands everything queued to the session in order.
    void drain() noexcept;
    /// Loop thread: the session calls these.
    void attach(WebSocketSession* session) noexcept;
    void detach() noexcept;
    /// Loop thread: the socket's queue changed; fires onWritable if an app waits for it.
    void wireChanged(size_t wireBuffered) noexcept;
    bool takeWritable(size_t wireBuffered) noexcept;

    http::Loop& _loop;
    const size_t _highWater;
    const size_t _maxBackpressure;
    const std::string _subprotocol;

    mutable std::mutex _mutex;
    WebSocketSession* _session = nullptr; ///< dereferenced on the loop thread only; null once closed
    std::vector<Outgoing> _pending;
    size_t _pendingBytes = 0;
    std::atomic<size_t> _wireBuffered{0}; ///< the socket queue, as the loop last saw it
    bool _posted = false;
    bool _closing = false; ///< close() queued, or the session is closing/closed
    bool _wantWritable = false;
};

} // namespace serval::websocket
