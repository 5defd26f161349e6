#pragma once

// The real Connector with WebSocket endpoints behind it (one config per path), for the session
// tests and the Python conformance harness. Every endpoint echoes; a few text commands drive
// the cases that need the server to act (close, flood).
#include "connector/TestServer.h"
#include "connector/websocket/WebSocket.h"
#include "connector/websocket/WebSocketHandshake.h"
#include "connector/websocket/WebSocketSession.h"
#include "util/Strings.h"

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace serval::test {

/// What the endpoints saw, shared with the test (endpoints die with their connection).
struct WebSocketRecord
{
    std::atomic<int> opened{0};
    std::atomic<int> closed{0};
    std::atomic<int> errors{0};
    std::atomic<int> pongs{0};
    std::atomic<int> writables{0};
    std::atomic<int> lastErrorCode{0};
    std::atomic<int> lastCloseCode{0};
    std::atomic<size_t> biggestPiece{0};
    std::atomic<size_t> maxBuffered{0};
    std::mutex mutex;
    std::vector<std::shared_ptr<websocket::WebSocket>> sockets; ///< in open order
    std::vector<http::WriteStatus> floodStatuses;
    std::vector<std::thread> threads; ///< joined by the server's destructor

    std::shared_ptr<websocket::WebSocket> socket(size_t i)
    {
        std::lock_guard<std::mutex> lock(mutex);
        return i < sockets.size() ? sockets[i] : nullptr;
    }
};

/// Echoes each message with its type. Text commands: "close" (server-initiated close 1000),
/// "flood" (another thread sends 64 KiB binaries until one is Dropped, never reading).
class EchoEndpoint final : public websocket::WebSocketEndpoint
{
public:
    explicit EchoEndpoint(std::shared_ptr<WebSocketRecord> record) : _record(std::move(record)) {}

    void onOpen(const std::shared_ptr<websocket::WebSocket>& socket) noexcept override
    {
        _socket = socket;
        {
            std::lock_guard<std::mutex> lock(_record->mutex);
            _record->sockets.push_back(socket);
        }
        ++_record->opened;
    }
    void onMessage(websocket::MessageType type, std::string_view data, bool last) noexcept override
    {
        if (data.size() > _record->biggestPiece) _record->biggestPiece = data.size();
        _message.append(data);
        if (!last) return;
        std::string message;
        message.swap(_message);
        if (type == websocket::MessageType::Text && message == "close") {
            _socket->close(websocket::CloseCode::Normal, "bye");
            return;
        }
        if (type == websocket::MessageType::Text && message == "flood") {
            std::lock_guard<std::mutex> lock(_record->mutex);
            _record->threads.emplace_back([socket = _socket, record = _record] {
                std::string block(64 * 1024, 'f');
                for (int i = 0; i < 1000; ++i) {
                    http::WriteStatus s = socket->sendBinary(block);
                    size_t buffered = socket->bufferedAmount();
                    if (buffered > record->maxBuffered) record->maxBuffered = buffered;
                    std::lock_guard<std::mutex> lock(record->mutex);
                    record->floodStatuses.push_back(s);
                    if (s == http::WriteStatus::Dropped) break;
                }
            });
            return;
        }
        if (type == websocket::MessageType::Text)
            _socket->sendText(message);
        else
            _socket->sendBinary(message);
    }
    void onPong(std::string_view) noexcept override { ++_record->pongs; }
    void onWritable() noexcept override { ++_record->writables; }
    void onError(uint16_t code, std::string_view) noexcept override
    {
        _record->lastErrorCode = code;
        ++_record->errors;
    }
    void onClose(uint16_t code, std::string_view) noexcept override
    {
        _record->lastCloseCode = code;
        ++_record->closed;
    }

private:
    std::shared_ptr<WebSocketRecord> _record;
    std::shared_ptr<websocket::WebSocket> _socket;
    std::string _message;
};

/// TestHandler plus WebSocket endpoints under /ws/ (see configFor).
class WebSocketTestHandler : public TestHandler
{
public:
    std::shared_ptr<WebSocketRecord> record = std::make_shared<WebSocketRecord>();

    static websocket::WebSocketConfig configFor(std::string_view path)
    {
        websocket::WebSocketConfig c;
        c.maxMessageSize = c.maxFrameSize = 16 * 1024 * 1024; // Autobahn 9.x sends up to 16 MiB
        if (path == "/ws/partial") c.partialMessages = true;
        if (path == "/ws/small") c.maxMessageSize = c.maxFrameSize = 1024;
        if (path == "/ws/budgeted") { // all its sessions' unfinished messages share 100 KiB
            static http::MemoryBudget budget(100 * 1024);
            c.maxMessageSize = c.maxFrameSize = 64 * 1024;
            c.messageBudget = &budget;
        }
        if (path == "/ws/origin") c.allowedOrigins = {"https://ok.example"};
        if (path == "/ws/proto") c.subprotocols = {"chat.v2", "chat.v1"};
        if (path == "/ws/idle") c.idleTimeoutMs = 300;
        if (path == "/ws/ping") {
            c.pingIntervalMs = 100;
            c.idleTimeoutMs = 10000;
        }
        if (path == "/ws/nodeflate") c.permessageDeflate = false;
        if (path == "/ws/notakeover") c.serverNoContextTakeover = true;
        return c;
    }

    http::HeadDecision onHead(http::HttpExchange& exchange) noexcept override
    {
        if (!util::startsWith(exchange.request.path, "/ws/")) return TestHandler::onHead(exchange);
        http::HeadDecision d;
        d.dispatch = exchange.request.header("X-Dispatch") == "worker" ? http::Dispatch::Worker
                                                                       : http::Dispatch::Inline;
        return d;
    }
    void service(http::HttpExchange& exchange) noexcept override
    {
        if (!util::startsWith(exchange.request.path, "/ws/")) return TestHandler::service(exchange);
        websocket::WebSocketConfig config = configFor(exchange.request.path);
        websocket::Handshake h = websocket::negotiateHandshake(exchange.request, config);
        websocket::writeHandshakeResponse(h, exchange.response);
        if (!h.accepted()) return;
        exchange.control->upgrade(std::make_unique<websocket::WebSocketSession>(
            *exchange.loop, config, std::make_unique<EchoEndpoint>(record), h.subprotocol, h.deflate));
    }
};

struct WebSocketServer
{
    WebSocketServer()
    {
        connector = std::make_unique<connector::Connector>(testConfig(), handler);
        connector->start();
    }
    ~WebSocketServer()
    {
        connector->stop(std::chrono::milliseconds(2000));
        std::vector<std::thread> threads;
        {
            std::lock_guard<std::mutex> lock(handler.record->mutex);
            threads.swap(handler.record->threads);
        }
        for (auto& t : threads)
            t.join();
    }
    uint16_t port() const { return connector->boundPort(); }
    WebSocketTestHandler handler;
    std::unique_ptr<connector::Connector> connector;
};

} // namespace serval::test
