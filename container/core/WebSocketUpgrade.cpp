#include "core/WebSocketUpgrade.h"

#include "connector/websocket/WebSocketHandshake.h"
#include "connector/websocket/WebSocketSession.h"
#include "core/Context.h"
#include "core/Request.h"
#include "core/Response.h"
#include "http/ExchangeControl.h"
#include "util/Strings.h"

#include <stdexcept>

namespace serval::core {
namespace {

constexpr std::string_view kPrefix = "websocket.";

[[noreturn]] void refuse(const std::string& name, const std::string& value, const char* expected)
{
    throw std::invalid_argument("init-param " + name + "=\"" + value + "\": expected " + expected);
}

size_t sizeParam(const std::string& name, const std::string& value)
{
    auto n = util::parseUnsigned(value);
    if (!n || *n == 0) refuse(name, value, "a positive number of bytes");
    return static_cast<size_t>(*n);
}

uint32_t millisParam(const std::string& name, const std::string& value)
{
    auto n = util::parseUnsigned(value);
    if (!n || *n > 86400000) refuse(name, value, "milliseconds, 0 to 86400000");
    return static_cast<uint32_t>(*n);
}

bool boolParam(const std::string& name, const std::string& value)
{
    if (value == "true") return true;
    if (value == "false") return false;
    refuse(name, value, "true or false");
}

std::vector<std::string> listParam(const std::string& value)
{
    std::vector<std::string> out;
    for (std::string_view item : util::splitList(value, ','))
        out.emplace_back(item);
    return out;
}

} // namespace

websocket::WebSocketConfig webSocketConfig(const std::map<std::string, std::string>& initParams)
{
    websocket::WebSocketConfig c;
    for (const auto& [name, value] : initParams) {
        if (!util::startsWith(name, kPrefix)) continue;
        std::string_view key = std::string_view(name).substr(kPrefix.size());
        if (key == "allowedOrigins")
            c.allowedOrigins = listParam(value);
        else if (key == "subprotocols")
            c.subprotocols = listParam(value);
        else if (key == "maxMessageSize")
            c.maxMessageSize = sizeParam(name, value);
        else if (key == "maxFrameSize")
            c.maxFrameSize = sizeParam(name, value);
        else if (key == "highWater")
            c.highWater = sizeParam(name, value);
        else if (key == "maxBackpressure")
            c.maxBackpressure = sizeParam(name, value);
        else if (key == "idleTimeout")
            c.idleTimeoutMs = millisParam(name, value);
        else if (key == "pingInterval")
            c.pingIntervalMs = millisParam(name, value);
        else if (key == "closeTimeout")
            c.closeTimeoutMs = millisParam(name, value);
        else if (key == "partialMessages")
            c.partialMessages = boolParam(name, value);
        else if (key == "permessageDeflate")
            c.permessageDeflate = boolParam(name, value);
        else if (key == "serverNoContextTakeover")
            c.serverNoContextTakeover = boolParam(name, value);
        else if (key == "deflateWindowBits") {
            auto n = util::parseUnsigned(value);
            if (!n || *n < 9 || *n > 15) refuse(name, value, "9 to 15");
            c.deflateWindowBits = static_cast<int>(*n);
        } else {
            throw std::invalid_argument("init-param " + name + ": unknown WebSocket setting");
        }
    }
    if (c.highWater > c.maxBackpressure)
        throw std::invalid_argument(
            "init-param websocket.highWater must not exceed websocket.maxBackpressure");
    return c;
}

bool upgradeToWebSocket(Request& request, Response& response, const websocket::WebSocketConfig& config,
                        std::unique_ptr<websocket::WebSocketEndpoint> endpoint)
{
    http::HttpExchange& exchange = request.exchange();
    websocket::Handshake h = websocket::negotiateHandshake(exchange.request, config);
    if (!h.accepted()) {
        response.sendError(h.status, h.error); // resets the headers: the version goes after
        if (h.status == 426) response.setHeader("Sec-WebSocket-Version", "13");
        return false;
    }
    if (exchange.control == nullptr || exchange.loop == nullptr) {
        response.sendError(500, "this connection cannot switch protocols");
        return false;
    }
    websocket::writeHandshakeResponse(h, response.http());
    exchange.control->upgrade(std::make_unique<websocket::WebSocketSession>(
        *exchange.loop, config, std::move(endpoint), std::move(h.subprotocol), h.deflate,
        request.context().webSockets()));
    return true;
}

} // namespace serval::core
