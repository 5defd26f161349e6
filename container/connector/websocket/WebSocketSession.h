#pragma once

#include "connector/websocket/FrameParser.h"
#include "connector/websocket/PerMessageDeflate.h"
#include "connector/websocket/SessionRegistry.h"
#include "connector/websocket/Utf8Validator.h"
#include "connector/websocket/WebSocket.h"
#include "connector/websocket/WebSocketConfig.h"
#include "connector/websocket/WebSocketEndpoint.h"
#include "http/MemoryBudget.h"
#include "http/Upgrade.h"

#include <memory>
#include <optional>
#include <string>

namespace serval::websocket {

/// One RFC 6455 connection after its 101: the http::UpgradeHandler the connector drives. It
/// parses the client's frames strictly (FrameParser), assembles messages (UTF-8 checked
/// across fragments, permessage-deflate inflated in bounded pieces, size limits), answers
/// pings, runs the close handshake, the idle timeout and the keep-alive ping, and frames what
/// the application sends through its WebSocket handle.
///
/// Failing the connection (RFC 6455 7.1.7): onError, a close frame with the code, then the
/// connection closes once the frame is written; onClose reaches the endpoint exactly once,
/// from UpgradeHandler::onClose.
/// THREADS: the connection's loop thread only (as every UpgradeHandler).
/// OWNERSHIP: owned by the connection (ExchangeControl::upgrade); owns the endpoint.
class WebSocketSession final : public http::UpgradeHandler, FrameParser::Sink, Inflater::Sink
{
public:
    /// `loop`: the exchange's loop (HttpExchange::loop), where the connection will live.
    /// `registry`: the application's open sessions (Context::webSockets), joined at onOpen and
    /// left at destruction; may be null.
    WebSocketSession(http::Loop& loop, const WebSocketConfig& config,
                     std::unique_ptr<WebSocketEndpoint> endpoint, std::string subprotocol,
                     std::optional<DeflateParams> deflate, std::shared_ptr<SessionRegistry> registry = {});
    ~WebSocketSession() override;

    /// The handle the application sends through (valid before onOpen: sends queue until then).
    const std::shared_ptr<WebSocket>& socket() const noexcept { return _socket; }

    // http::UpgradeHandler
    void onOpen(http::UpgradedConnection& connection) noexcept override;
    void onData(std::string_view bytes) noexcept override;
    void onWritable() noexcept override;
    void onClose() noexcept override;
    /// The server drains (Connector::stop): goAway("the server is stopping").
    void onDrain() noexcept override;

    /// Loop thread: the application or the server goes away: the close handshake with 1001 and
    /// `reason` (the endpoint's onClose follows when it ends). Nothing if already closing.
    void goAway(std::string_view reason) noexcept;
    /// Loop thread: cuts the connection now (onClose follows).
    void abortNow() noexcept;

private:
    friend class WebSocket;
    enum class State
    {
        Connecting, ///< before onOpen
        Open,
        Closing, ///< our close frame is out; waiting for the client's
        Closed   ///< the close handshake is over, or the connection failed: no more input
    };

    // FrameParser::Sink
    Failure onFrameHeader(const FrameHeader& header) noexcept override;
    Failure onFramePayload(std::string_view bytes) noexcept override;
    Failure onFrameEnd() noexcept override;
    // Inflater::Sink
    Failure onInflated(std::string_view bytes) noexcept override;

    /// A data message's (uncompressed) bytes: UTF-8, limits, then buffered or delivered.
    Failure deliver(std::string_view bytes) noexcept;
    Failure endMessage() noexcept;
    Failure onControlFrame() noexcept;

    /// Loop thread, from the WebSocket handle (or the session itself): one frame out now.
    http::WriteStatus sendNow(Opcode opcode, std::string_view payload) noexcept;
    /// Sends our close frame and waits closeTimeoutMs for the client's.
    void startClose(uint16_t code, std::string_view reason) noexcept;
    void fail(Failure failure) noexcept;
    void armTimer() noexcept;
    void onTimer() noexcept;

    http::Loop& _loop;
    WebSocketConfig _config;
    std::shared_ptr<SessionRegistry> _registry;
    /// _message's part of the messages' budget (the config's, else the process's 256 MiB).
    http::BudgetShare _messageShare;
    static http::MemoryBudget* budgetFor(const WebSocketConfig& config) noexcept;
    std::unique_ptr<WebSocketEndpoint> _endpoint;
    std::shared_ptr<WebSocket> _socket;
    http::UpgradedConnection* _connection = nullptr;
    State _state = State::Connecting;

    FrameParser _parser;
    std::unique_ptr<Inflater> _inflater;
    std::unique_ptr<Deflater> _deflater;

    // The frame being parsed.
    FrameHeader _frame;
    std::string _control; ///< a control frame's payload (at most 125 bytes)
    // The data message being assembled.
    bool _inMessage = false;
    bool _compressed = false;
    MessageType _messageType = MessageType::Binary;
    Utf8Validator _utf8;
    std::string _message; ///< whole-message mode

    size_t _messageSize = 0;

    // Closing.
    uint16_t _closeCode = CloseCode::Abnormal;
    std::string _closeReason;
    bool _closeSent = false;

    // Timers: one armed at a time, at the nearest deadline.
    http::TimerId _timer;
    uint64_t _lastActivity = 0;
    uint64_t _closeDeadline = 0;
    bool _pingSent = false; ///< a keep-alive ping is out since the last activity
    std::string _scratch;   ///< the frame being written, reused
    size_t _hardCap = 0;    ///< the socket queue's hard cap as last set
};

} // namespace serval::websocket
