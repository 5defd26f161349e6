#pragma once

#include "connector/websocket/WebSocketConfig.h"
#include "connector/websocket/WebSocketEndpoint.h"

#include <map>
#include <memory>
#include <string>

namespace serval::core {

class Request;
class Response;

/// A WebSocket endpoint's settings from its servlet's init-params (web.xml `<init-param>` or
/// Context::addServlet), Tomcat-style names under "websocket.":
///   allowedOrigins (comma list; empty: same origin; "*": any), subprotocols (comma list, in
///   preference order), maxMessageSize, maxFrameSize, highWater, maxBackpressure (bytes),
///   idleTimeout, pingInterval, closeTimeout (ms), partialMessages, permessageDeflate,
///   serverNoContextTakeover (true/false), deflateWindowBits (9-15).
/// Throws std::invalid_argument naming the parameter and the value; the servlet's init()
/// lets it through, so the Context refuses to start with that sentence. Unknown "websocket."
/// names are refused the same way (a typo must not silently keep a default).
websocket::WebSocketConfig webSocketConfig(const std::map<std::string, std::string>& initParams);

/// During a servlet's service(), after the filter chain (so authentication filters have
/// decided): checks the handshake on `request` (RFC 6455 4.2) and either answers 101 and
/// hands the connection, once the 101 is written, to a WebSocketSession running `endpoint`,
/// or answers the refusal (400, 403 for an Origin outside the allow-list, 426 with
/// Sec-WebSocket-Version) through Response::sendError, so the Context's error pages apply.
/// Returns true if the connection will switch. Any request thread; `endpoint` is destroyed
/// unused on a refusal.
bool upgradeToWebSocket(Request& request, Response& response, const websocket::WebSocketConfig& config,
                        std::unique_ptr<websocket::WebSocketEndpoint> endpoint);

} // namespace serval::core
