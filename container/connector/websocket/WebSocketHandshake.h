#pragma once

#include "connector/websocket/PerMessageDeflate.h"
#include "connector/websocket/WebSocketConfig.h"
#include "http/HttpRequest.h"
#include "http/HttpResponse.h"

#include <optional>
#include <string>
#include <string_view>

namespace serval::websocket {

/// The server side of the opening handshake (RFC 6455 4.2), decided on the upgrade request
/// alone: the caller (a servlet's mapping, after its filter chain) answers with
/// writeHandshakeResponse() and, if accepted, attaches a WebSocketSession to the exchange.
struct Handshake
{
    /// 0: accepted (answer 101). Otherwise the HTTP status to answer: 400 (not a valid
    /// upgrade request), 403 (Origin not allowed), 426 (an unsupported Sec-WebSocket-Version).
    int status = 0;
    std::string error;       ///< why it was refused, for the log and the response body
    std::string accept;      ///< Sec-WebSocket-Accept
    std::string subprotocol; ///< chosen, or empty
    std::optional<DeflateParams> deflate;

    bool accepted() const noexcept { return status == 0; }
};

/// Checks method GET over HTTP/1.1, `Connection: upgrade`, `Upgrade: websocket`, a
/// Sec-WebSocket-Key of 16 base64 bytes, Sec-WebSocket-Version 13 and the Origin against the
/// config; picks the subprotocol and permessage-deflate parameters.
/// THREADS: any (pure). The request is only read during the call.
Handshake negotiateHandshake(const http::HttpRequest& request, const WebSocketConfig& config);
/// Accepted: 101 with Upgrade, Sec-WebSocket-Accept and the agreed protocol/extensions (the
/// connector adds Connection: Upgrade). Refused: the status with a one-line text body (426
/// also names the version we speak).
void writeHandshakeResponse(const Handshake& handshake, http::HttpResponse& response);
/// base64(SHA-1(key + the RFC 6455 GUID)).
std::string acceptKey(std::string_view key);
/// The Origin rule of WebSocketConfig::allowedOrigins for this request.
bool originAllowed(const http::HttpRequest& request, const WebSocketConfig& config);

} // namespace serval::websocket
