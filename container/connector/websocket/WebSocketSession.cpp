#include "connector/websocket/WebSocketSession.h"

#include <algorithm>

namespace serval::websocket {
namespace {

constexpr uint64_t kMillis = 1000000;
/// Room above maxBackpressure for the frames the session itself sends (pong, close): the
/// socket queue's hard cap, so a client that pings and never reads is closed, not buffered.
constexpr size_t kControlSlack = 64 * 1024;

} // namespace

WebSocketSession::WebSocketSession(http::Loop& loop, const WebSocketConfig& config,
                                   std::unique_ptr<WebSocketEndpoint> endpoint, std::string subprotocol,
                                   std::optional<DeflateParams> deflate,
                                   std::shared_ptr<SessionRegistry> registry)
    : _loop(loop), _config(config), _registry(std::move(registry)), _messageShare(budgetFor(config)),
      _endpoint(std::move(endpoint)),
      _socket(std::make_shared<WebSocket>(loop, config.highWater, config.maxBackpressure,
                                          std::move(subprotocol))),
      _parser(config.maxFrameSize, deflate.has_value())
{
    if (deflate) {
        _inflater = std::make_unique<Inflater>(deflate->clientNoContextTakeover);
        _deflater = std::make_unique<Deflater>(deflate->serverMaxWindowBits, _config.deflateMemLevel,
                                               deflate->serverNoContextTakeover);
    }
}

WebSocketSession::~WebSocketSession()
{
    // Without onOpen (the 101 never went out) the handle still learns it is dead.
    _socket->detach();
    _endpoint.reset(); // the app's code, before the registry says none runs any more
    if (_registry) _registry->remove(this);
}

void WebSocketSession::onOpen(http::UpgradedConnection& connection) noexcept
{
    _connection = &connection;
    _state = State::Open;
    // The socket fires onWritable at half its high-water mark: a quarter of ours, so an app
    // told Backpressure (above ours) always hears back (WebSocket::wireChanged).
    _hardCap = _config.maxBackpressure + kControlSlack;
    connection.setLimits(http::OutputLimits{std::max<size_t>(_config.highWater / 2, 1), _hardCap});
    _lastActivity = _loop.now();
    _socket->attach(this);
    if (_registry) _registry->add(this, _loop);
    _endpoint->onOpen(_socket);
    armTimer();
}

void WebSocketSession::onDrain() noexcept
{
    goAway("the server is stopping");
}

void WebSocketSession::goAway(std::string_view reason) noexcept
{
    startClose(CloseCode::GoingAway, reason);
}

void WebSocketSession::abortNow() noexcept
{
    if (_connection != nullptr && _state != State::Closed) _connection->abort();
}

void WebSocketSession::onData(std::string_view bytes) noexcept
{
    if (_state == State::Closed) return;
    _lastActivity = _loop.now();
    _pingSent = false;
    if (Failure f = _parser.feed(bytes, *this)) fail(f);
}

void WebSocketSession::onWritable() noexcept
{
    _socket->wireChanged(_connection->bufferedAmount());
}

void WebSocketSession::onClose() noexcept
{
    if (_timer) _loop.cancelTimer(_timer);
    _timer = {};
    _state = State::Closed;
    _socket->detach();
    _endpoint->onClose(_closeCode, _closeReason);
    _connection = nullptr;
}

Failure WebSocketSession::onFrameHeader(const FrameHeader& header) noexcept
{
    _frame = header;
    if (isControl(header.opcode)) {
        if (header.rsv1) return {CloseCode::ProtocolError, "RSV1 on a control frame"};
        _control.clear();
        return {};
    }
    if (header.opcode == Opcode::Continuation) {
        if (!_inMessage) return {CloseCode::ProtocolError, "continuation frame without a message"};
        if (header.rsv1) return {CloseCode::ProtocolError, "RSV1 on a continuation frame"};
    } else {
        if (_inMessage) return {CloseCode::ProtocolError, "a new message inside a fragmented one"};
        _inMessage = true;
        _compressed = header.rsv1;
        _messageType = header.opcode == Opcode::Text ? MessageType::Text : MessageType::Binary;
        _messageSize = 0;
        _utf8.reset();
        _message.clear();
    }
    // Uncompressed, the wire length is the message length: refuse before reading it.
    if (!_compressed && !_config.partialMessages && _messageSize + header.length > _config.maxMessageSize)
        return {CloseCode::MessageTooBig, "message too big"};
    return {};
}

Failure WebSocketSession::onFramePayload(std::string_view bytes) noexcept
{
    if (isControl(_frame.opcode)) {
        _control.append(bytes);
        return {};
    }
    if (_compressed) return _inflater->feed(bytes, *this);
    return deliver(bytes);
}

Failure WebSocketSession::onInflated(std::string_view bytes) noexcept
{
    return deliver(bytes);
}

namespace {

/// Whole messages being assembled, every WebSocket of the process together: maxMessageSize (1 MiB)
/// bounds one, this bounds them all. Clients that start large messages and never finish them
/// made the process hold maxMessageSize each (200 connections: +315 MiB in a worker); past the
/// budget a message is refused with 1013 "try again later" (RFC 6455 7.4.1).
constexpr uint64_t kMessageBudget = 256ull * 1024 * 1024;

http::MemoryBudget& messageBudget() noexcept
{
    static http::MemoryBudget budget(
        kMessageBudget, "WebSocket messages being assembled reached their budget",
        "new large messages are closed with 1013 (try again later) until some finish; "
        "lower websocket.maxMessageSize or use partial messages");
    return budget;
}

} // namespace

http::MemoryBudget* WebSocketSession::budgetFor(const WebSocketConfig& config) noexcept
{
    return config.messageBudget != nullptr ? config.messageBudget : &messageBudget();
}

Failure WebSocketSession::deliver(std::string_view bytes) noexcept
{
    if (_messageType == MessageType::Text && !_utf8.feed(bytes))
        return {CloseCode::InvalidPayload, "text message is not UTF-8"};
    _messageSize += bytes.size();
    if (_state != State::Open) return {}; // closing: read on for the client's close frame
    if (_config.partialMessages) {
        _endpoint->onMessage(_messageType, bytes, false);
        return {};
    }
    if (_messageSize > _config.maxMessageSize) return {CloseCode::MessageTooBig, "message too big"};
    if (!_messageShare.take(bytes.size(), _loop.now()))
        return {CloseCode::TryAgainLater, "server busy: too many large messages at once"};
    _message.append(bytes);
    return {};
}

Failure WebSocketSession::onFrameEnd() noexcept
{
    if (isControl(_frame.opcode)) return onControlFrame();
    if (!_frame.fin) return {};
    return endMessage();
}

Failure WebSocketSession::endMessage() noexcept
{
    if (_compressed)
        if (Failure f = _inflater->finish(*this)) return f;
    if (_messageType == MessageType::Text && !_utf8.complete())
        return {CloseCode::InvalidPayload, "text message ends inside a UTF-8 sequence"};
    _inMessage = false;
    if (_state != State::Open) return {};
    if (_config.partialMessages) {
        _endpoint->onMessage(_messageType, {}, true);
    } else {
        // Assembled: its share of the budget (which bounds unfinished messages) goes back before
        // the app sees it, so a reply the app sends cannot reach a client before the budget
        // has room again.
        _messageShare.release();
        _endpoint->onMessage(_messageType, _message, true);
        // Keep a reasonable buffer for the next message; give back a big one.
        if (_message.capacity() > 64 * 1024) std::string().swap(_message);
        _message.clear();
    }
    return {};
}

Failure WebSocketSession::onControlFrame() noexcept
{
    switch (_frame.opcode) {
    case Opcode::Ping:
        if (_state == State::Open) sendNow(Opcode::Pong, _control);
        return {};
    case Opcode::Pong:
        if (_state == State::Open) _endpoint->onPong(_control);
        return {};
    case Opcode::Close:
        break;
    default:
        return {CloseCode::ProtocolError, "reserved control opcode"};
    }
    // The client's close frame (RFC 6455 5.5.1): empty, or a valid code and a UTF-8 reason.
    uint16_t code = CloseCode::NoStatus;
    std::string_view reason;
    if (_control.size() == 1) return {CloseCode::ProtocolError, "close frame with a 1-byte payload"};
    if (_control.size() >= 2) {
        code = static_cast<uint16_t>((static_cast<uint8_t>(_control[0]) << 8) |
                                     static_cast<uint8_t>(_control[1]));
        if (!CloseCode::validOnWire(code)) return {CloseCode::ProtocolError, "invalid close code"};
        reason = std::string_view(_control).substr(2);
        Utf8Validator check;
        if (!check.feed(reason) || !check.complete())
            return {CloseCode::InvalidPayload, "close reason is not UTF-8"};
    }
    if (_state == State::Open) {
        _closeCode = code;
        _closeReason = std::string(reason);
        // Echo the code (RFC 6455 5.5.1), then the server closes the TCP connection first (7.1.1).
        sendNow(Opcode::Close, closePayload(code, {}));
        _closeSent = true;
    }
    _state = State::Closed;
    _connection->close();
    return {};
}

http::WriteStatus WebSocketSession::sendNow(Opcode opcode, std::string_view payload) noexcept
{
    if (_connection == nullptr || _closeSent) return http::WriteStatus::Dropped;
    bool compress = _deflater && !isControl(opcode) && payload.size() >= _config.deflateThreshold;
    std::string_view body = payload;
    _scratch.clear();
    try {
        if (compress) {
            // The frame header goes in front once the compressed length is known.
            std::string compressed;
            if (_deflater->compress(payload, compressed)) {
                appendFrameHeader(_scratch, opcode, compressed.size(), true, true);
                _scratch.append(compressed);
                body = {};
            }
        }
        if (_scratch.empty()) {
            appendFrameHeader(_scratch, opcode, payload.size());
            if (payload.size() <= 4096) {
                _scratch.append(payload);
                body = {};
            }
        }
    } catch (const std::bad_alloc&) {
        return http::WriteStatus::Dropped;
    }
    // The socket queue's hard cap follows the biggest message let in (WebSocket::send).
    const size_t needed = _connection->bufferedAmount() + _scratch.size() + body.size() + kControlSlack;
    if (needed > _hardCap) {
        _hardCap = needed;
        _connection->setLimits(http::OutputLimits{std::max<size_t>(_config.highWater / 2, 1), _hardCap});
    }
    http::WriteStatus status = _connection->write(_scratch);
    if (!body.empty() && status != http::WriteStatus::Dropped) status = _connection->write(body);
    if (_scratch.capacity() > 64 * 1024) std::string().swap(_scratch);
    return status;
}

void WebSocketSession::startClose(uint16_t code, std::string_view reason) noexcept
{
    if (_state != State::Open || _closeSent) return;
    sendNow(Opcode::Close, closePayload(code, reason));
    _closeSent = true;
    _closeCode = code;
    _closeReason = std::string(reason);
    _state = State::Closing;
    _closeDeadline = _loop.now() + uint64_t{_config.closeTimeoutMs} * kMillis;
    armTimer();
}

void WebSocketSession::fail(Failure failure) noexcept
{
    if (_state == State::Closed || _connection == nullptr) return;
    if (_state == State::Open) {
        _endpoint->onError(failure.code, failure.reason);
        sendNow(Opcode::Close, closePayload(failure.code, failure.reason));
        _closeSent = true;
        _closeCode = failure.code;
        _closeReason = failure.reason;
    }
    _state = State::Closed;
    _connection->close();
}

void WebSocketSession::armTimer() noexcept
{
    if (_timer) _loop.cancelTimer(_timer);
    _timer = {};
    uint64_t deadline = 0;
    auto consider = [&deadline](uint64_t at) {
        if (at != 0 && (deadline == 0 || at < deadline)) deadline = at;
    };
    if (_state == State::Closing) consider(_closeDeadline);
    if (_state == State::Open) {
        if (_config.idleTimeoutMs) consider(_lastActivity + uint64_t{_config.idleTimeoutMs} * kMillis);
        if (_config.pingIntervalMs && !_pingSent)
            consider(_lastActivity + uint64_t{_config.pingIntervalMs} * kMillis);
    }
    if (deadline == 0) return;
    try {
        _timer = _loop.addTimer(deadline, [this] {
            _timer = {};
            onTimer();
        });
    } catch (const std::bad_alloc&) {
        fail({CloseCode::InternalError, "out of memory"});
    }
}

void WebSocketSession::onTimer() noexcept
{
    const uint64_t now = _loop.now();
    if (_state == State::Closing) {
        if (now >= _closeDeadline) {
            _state = State::Closed;
            _connection->abort();
            return;
        }
    } else if (_state == State::Open) {
        if (_config.idleTimeoutMs && now >= _lastActivity + uint64_t{_config.idleTimeoutMs} * kMillis) {
            _endpoint->onError(CloseCode::GoingAway, "idle timeout");
            startClose(CloseCode::GoingAway, "idle timeout");
            return;
        }
        if (_config.pingIntervalMs && !_pingSent &&
            now >= _lastActivity + uint64_t{_config.pingIntervalMs} * kMillis) {
            sendNow(Opcode::Ping, {});
            _pingSent = true;
        }
    }
    armTimer();
}

} // namespace serval::websocket
