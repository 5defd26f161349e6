#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace serval::websocket {

/// RFC 6455 5.2 opcodes.
enum class Opcode : uint8_t
{
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA
};

inline bool isControl(Opcode op) noexcept
{
    return (static_cast<uint8_t>(op) & 0x8) != 0;
}

/// RFC 6455 7.4.1 status codes the server sends, and the rule for those a peer may send.
namespace CloseCode {
constexpr uint16_t Normal = 1000;
constexpr uint16_t GoingAway = 1001;
constexpr uint16_t ProtocolError = 1002;
constexpr uint16_t UnsupportedData = 1003;
constexpr uint16_t NoStatus = 1005; ///< never on the wire: a close frame without a code
constexpr uint16_t Abnormal = 1006; ///< never on the wire: the connection dropped with no close frame
constexpr uint16_t InvalidPayload = 1007;
constexpr uint16_t PolicyViolation = 1008;
constexpr uint16_t MessageTooBig = 1009;
constexpr uint16_t TryAgainLater = 1013;
constexpr uint16_t InternalError = 1011;

/// True for a code a close frame may carry: RFC 6455 7.4's 1000-1003 and 1007-1011, IANA's
/// later 1012-1014 (restart, try again later, bad gateway), and 3000-4999 (registered / private).
inline bool validOnWire(uint16_t code) noexcept
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}
} // namespace CloseCode

/// A server frame's header (never masked, RFC 6455 5.1) appended to `out`: FIN + RSV1 (a
/// compressed message's first frame, RFC 7692) + opcode, then the shortest length form.
void appendFrameHeader(std::string& out, Opcode op, uint64_t length, bool fin = true, bool rsv1 = false);
/// A whole unfragmented server frame.
std::string encodeFrame(Opcode op, std::string_view payload, bool rsv1 = false);
/// A close frame's payload: the code (big-endian) and a reason cut to fit 123 bytes on a UTF-8
/// boundary. Code 1005 gives an empty payload.
std::string closePayload(uint16_t code, std::string_view reason);

/// XORs `bytes` with the 4-byte mask, `offset` bytes into the frame's payload.
void unmask(char* bytes, size_t size, const uint8_t mask[4], uint64_t offset) noexcept;

} // namespace serval::websocket
