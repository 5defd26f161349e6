#include "connector/websocket/WebSocket.h"

#include "connector/websocket/WebSocketSession.h"

namespace serval::websocket {
namespace {

/// A queued message's share of the buffered amount: payload plus the longest header.
size_t framedSize(size_t payload) noexcept
{
    return payload + 10;
}

} // namespace

http::WriteStatus WebSocket::ping(std::string_view payload)
{
    if (payload.size() > 125) return http::WriteStatus::Dropped;
    return send(Opcode::Ping, payload);
}

http::WriteStatus WebSocket::send(Opcode opcode, std::string_view payload)
{
    std::unique_lock<std::mutex> lock(_mutex);
    if (_closing) return http::WriteStatus::Dropped;
    const size_t size = framedSize(payload.size());
    const size_t buffered = _pendingBytes + _wireBuffered.load(std::memory_order_relaxed);
    // One message bigger than the whole allowance still goes out when nothing is queued
    // (uWebSockets' rule): memory stays within max(maxBackpressure, one message).
    if (buffered > 0 && buffered + size > _maxBackpressure) {
        _wantWritable = true;
        return http::WriteStatus::Dropped;
    }
    // On the loop with nothing queued ahead: frame and write now (an echo from onMessage).
    if (_session != nullptr && _pending.empty() && _loop.isLoopThread()) {
        WebSocketSession* session = _session;
        lock.unlock();
        http::WriteStatus status = session->sendNow(opcode, payload);
        const size_t wire = session->_connection != nullptr ? session->_connection->bufferedAmount() : 0;
        lock.lock();
        _wireBuffered.store(wire, std::memory_order_relaxed);
        if (status == http::WriteStatus::Dropped) return status;
        if (_pendingBytes + wire > _highWater) {
            _wantWritable = true;
            return http::WriteStatus::Backpressure;
        }
        return http::WriteStatus::Ok;
    }
    try {
        _pending.push_back(Outgoing{opcode, std::string(payload), 0});
    } catch (const std::bad_alloc&) {
        return http::WriteStatus::Dropped;
    }
    _pendingBytes += size;
    if (_session != nullptr && !_posted) {
        _posted = true;
        auto self = shared_from_this();
        if (!_loop.post([self] { self->drain(); })) {
            _posted = false;
            _closing = true;
            return http::WriteStatus::Dropped;
        }
    }
    if (buffered + size > _highWater) {
        _wantWritable = true;
        return http::WriteStatus::Backpressure;
    }
    return http::WriteStatus::Ok;
}

bool WebSocket::close(uint16_t code, std::string_view reason)
{
    if (!CloseCode::validOnWire(code) || code == CloseCode::ProtocolError ||
        code == CloseCode::InvalidPayload)
        return false;
    std::unique_lock<std::mutex> lock(_mutex);
    if (_closing) return false;
    _closing = true;
    _pending.push_back(Outgoing{Opcode::Close, std::string(reason), code});
    if (_session != nullptr && !_posted) {
        _posted = true;
        auto self = shared_from_this();
        lock.unlock();
        _loop.post([self] { self->drain(); });
    }
    return true;
}

size_t WebSocket::bufferedAmount() const noexcept
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _pendingBytes + _wireBuffered.load(std::memory_order_relaxed);
}

bool WebSocket::isOpen() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return !_closing;
}

void WebSocket::drain() noexcept
{
    std::vector<Outgoing> batch;
    WebSocketSession* session;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _posted = false;
        batch.swap(_pending);
        session = _session;
    }
    size_t sent = 0;
    for (Outgoing& out : batch) {
        if (session == nullptr) break;
        if (out.opcode == Opcode::Close) {
            session->startClose(out.closeCode, out.payload);
        } else {
            session->sendNow(out.opcode, out.payload);
            sent += framedSize(out.payload.size());
        }
    }
    size_t wire =
        session != nullptr && session->_connection != nullptr ? session->_connection->bufferedAmount() : 0;
    bool fire;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _pendingBytes = session == nullptr ? 0 : _pendingBytes - std::min(_pendingBytes, sent);
        _wireBuffered.store(wire, std::memory_order_relaxed);
        fire = takeWritable(wire);
    }
    if (fire && session != nullptr) session->_endpoint->onWritable();
}

void WebSocket::attach(WebSocketSession* session) noexcept
{
    bool drainNow;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _session = session;
        drainNow = !_pending.empty();
    }
    // Messages sent before the connection opened go first.
    if (drainNow) drain();
}

void WebSocket::detach() noexcept
{
    std::lock_guard<std::mutex> lock(_mutex);
    _session = nullptr;
    _closing = true;
    _pending.clear();
    _pendingBytes = 0;
    _wireBuffered.store(0, std::memory_order_relaxed);
}

bool WebSocket::takeWritable(size_t wireBuffered) noexcept
{
    if (!_wantWritable || _pending.size() > 0 || _pendingBytes + wireBuffered > _highWater / 2) return false;
    _wantWritable = false;
    return true;
}

void WebSocket::wireChanged(size_t wireBuffered) noexcept
{
    bool fire;
    WebSocketSession* session;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _wireBuffered.store(wireBuffered, std::memory_order_relaxed);
        fire = takeWritable(wireBuffered);
        session = _session;
    }
    if (fire && session != nullptr) session->_endpoint->onWritable();
}

} // namespace serval::websocket
