#pragma once

#include "http/MemoryBudget.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace serval::websocket {

/// The limits and options of one WebSocket endpoint (the app's mapping, web.xml or code), the
/// same for every connection to it. Plain data, copied into each session; read-only there.
struct WebSocketConfig
{
    /// Origins allowed to open a connection ("https://chat.example.com", exact, ASCII case
    /// insensitive). Empty: same origin only (the Origin's host[:port] equals Host; a request
    /// with no Origin, i.e. not from a browser, is allowed). "*": any origin.
    std::vector<std::string> allowedOrigins;
    /// Subprotocols the endpoint speaks, in its order of preference: the first the client
    /// also offers is chosen. A client that offers some but none of these gets no
    /// Sec-WebSocket-Protocol (RFC 6455 4.2.2: it may then fail the connection itself).
    std::vector<std::string> subprotocols;

    /// Whole messages up to this size (after inflation) reach onMessage once; a bigger one
    /// fails the connection with 1009. Ignored with partialMessages (then only maxFrameSize).
    size_t maxMessageSize = 1024 * 1024;
    /// One frame's payload on the wire; a bigger one fails the connection with 1009.
    size_t maxFrameSize = 1024 * 1024;
    /// True: onMessage gets each piece as it arrives (last = true on the final one), so a
    /// message of any size streams through in bounded memory.
    bool partialMessages = false;

    /// Outgoing bytes queued (framing included) above which a send returns Backpressure.
    size_t highWater = 64 * 1024;
    /// A send that would queue more than this is Dropped (not sent; the connection stays).
    size_t maxBackpressure = 1024 * 1024;

    /// No frame from the client for this long: close 1001 "idle timeout". 0: never.
    uint32_t idleTimeoutMs = 120000;
    /// No frame from the client for this long: send a ping (a live client's pong resets the
    /// idle clock). 0: never.
    uint32_t pingIntervalMs = 0;
    /// After the server's close frame, how long the client has to answer before the
    /// connection is dropped.
    uint32_t closeTimeoutMs = 5000;

    /// permessage-deflate (RFC 7692) when the client offers it.
    bool permessageDeflate = true;
    /// The server's compression window (9-15; an offer asking for less is declined) and
    /// zlib memLevel (1-9): per connection, deflate holds about 2^(bits+2) + 2^(memLevel+9)
    /// bytes once it has compressed a message.
    int deflateWindowBits = 15;
    int deflateMemLevel = 8;
    /// Ask for server_no_context_takeover even if the client did not: every message is
    /// compressed on its own (less memory kept between messages, worse ratio).
    bool serverNoContextTakeover = false;
    /// Messages shorter than this go out uncompressed even when deflate is on.
    size_t deflateThreshold = 64;
    /// What whole messages being assembled may hold, all sessions sharing it together (past it:
    /// 1013). nullptr: the process's one, 256 MiB (WebSocketSession.cpp). Tests give a small one.
    http::MemoryBudget* messageBudget = nullptr;
};

} // namespace serval::websocket
