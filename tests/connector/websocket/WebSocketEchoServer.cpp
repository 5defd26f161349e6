// websocket_echo_server: the Connector alone with a WebSocket echo endpoint at every path, for
// tests/perf/bench.py's websocket phase (the connector's share of the echo cost, before the
// ABI carries app endpoints). Usage:
//   build/tests/websocket_echo_server [port] [ioThreads]
// Prints "listening on ws://ADDR:PORT/" to stderr and runs until SIGINT/SIGTERM.
#include "connector/Connector.h"
#include "connector/websocket/WebSocket.h"
#include "connector/websocket/WebSocketHandshake.h"
#include "connector/websocket/WebSocketSession.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>

namespace {

using namespace serval;

class Echo final : public websocket::WebSocketEndpoint
{
public:
    void onOpen(const std::shared_ptr<websocket::WebSocket>& socket) noexcept override { _socket = socket; }
    void onMessage(websocket::MessageType type, std::string_view data, bool) noexcept override
    {
        if (type == websocket::MessageType::Text)
            _socket->sendText(data);
        else
            _socket->sendBinary(data);
    }

private:
    std::shared_ptr<websocket::WebSocket> _socket;
};

class EchoHandler : public http::HttpHandler
{
public:
    EchoHandler() { _config.idleTimeoutMs = 0; }
    http::HeadDecision onHead(http::HttpExchange&) noexcept override
    {
        http::HeadDecision d;
        d.dispatch = http::Dispatch::Inline;
        return d;
    }
    void service(http::HttpExchange& exchange) noexcept override
    {
        websocket::Handshake h = websocket::negotiateHandshake(exchange.request, _config);
        websocket::writeHandshakeResponse(h, exchange.response);
        if (!h.accepted()) return;
        exchange.control->upgrade(std::make_unique<websocket::WebSocketSession>(
            *exchange.loop, _config, std::make_unique<Echo>(), h.subprotocol, h.deflate));
    }
    void complete(http::HttpExchange&, uint64_t) noexcept override {}

private:
    websocket::WebSocketConfig _config;
};

} // namespace

int main(int argc, char** argv)
{
    connector::ConnectorConfig config;
    config.port = argc > 1 ? static_cast<uint16_t>(std::atoi(argv[1])) : 0;
    config.ioThreads = argc > 2 ? static_cast<uint32_t>(std::atoi(argv[2])) : 1;
    config.maxConnections = 100000;
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr); // threads inherit the mask; sigwait below
    EchoHandler handler;
    connector::Connector connector(config, handler);
    try {
        connector.start();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    std::fprintf(stderr, "listening on ws://%s:%u/\n", connector.boundAddress().c_str(),
                 connector.boundPort());
    int signal = 0;
    sigwait(&signals, &signal);
    connector.stop(std::chrono::seconds(2));
    return 0;
}
