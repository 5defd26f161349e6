#pragma once

// A minimal blocking WebSocket client over RawConnection for the session tests: the handshake,
// masked frames out, server frames in (checked to be unmasked).
#include "connector/websocket/WebSocketFrames.h"
#include "support/HttpClient.h"

#include <memory>
#include <optional>

namespace serval::test {

struct ServerFrame
{
    bool fin = false;
    bool rsv1 = false;
    uint8_t opcode = 0;
    std::string payload;
    uint16_t closeCode() const
    {
        return payload.size() >= 2 ? static_cast<uint16_t>((uint8_t(payload[0]) << 8) | uint8_t(payload[1]))
                                   : 1005;
    }
};

inline std::string handshakeRequest(const std::string& path, const std::string& extra = "")
{
    return "GET " + path +
           " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
           extra + "\r\n";
}

class WebSocketClient
{
public:
    /// Connects and completes the handshake; the reply is in `reply` (status 101 on success).
    bool open(uint16_t port, const std::string& path, const std::string& extra = "")
    {
        if (!connection.connect("127.0.0.1", port)) return false;
        if (!connection.send(handshakeRequest(path, extra))) return false;
        reply = connection.readResponse(true);
        return reply && reply->status == 101;
    }
    bool send(const std::string& wire) { return connection.send(wire); }
    bool sendText(std::string_view text) { return send(clientText(text)); }
    /// The next server frame, or nullopt on timeout/close.
    std::optional<ServerFrame> read(std::chrono::milliseconds deadline = std::chrono::seconds(5))
    {
        auto head = connection.readBytes(2, deadline);
        if (!head) return std::nullopt;
        ServerFrame f;
        uint8_t b0 = uint8_t((*head)[0]), b1 = uint8_t((*head)[1]);
        f.fin = b0 & 0x80;
        f.rsv1 = b0 & 0x40;
        f.opcode = b0 & 0x0F;
        if (b1 & 0x80) return std::nullopt; // a server never masks
        uint64_t length = b1 & 0x7F;
        if (length >= 126) {
            auto ext = connection.readBytes(length == 126 ? 2 : 8, deadline);
            if (!ext) return std::nullopt;
            length = 0;
            for (char c : *ext)
                length = (length << 8) | uint8_t(c);
        }
        if (length > 0) {
            auto payload = connection.readBytes(static_cast<size_t>(length), deadline);
            if (!payload) return std::nullopt;
            f.payload = std::move(*payload);
        }
        return f;
    }
    std::optional<HttpReply> reply;
    RawConnection connection;
};

} // namespace serval::test
