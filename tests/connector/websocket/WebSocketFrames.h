#pragma once

// Client-side frame building for the WebSocket tests: masked (or, for hostile cases, not)
// frames byte for byte as a client would send them.
#include "connector/websocket/Frame.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace serval::test {

struct ClientFrame
{
    uint8_t opcode = 0x1;
    std::string payload;
    bool fin = true;
    bool rsv1 = false;
    bool rsv2 = false;
    bool rsv3 = false;
    bool masked = true;
    /// Replaces the real length in the header (huge-length cases); the payload is still sent.
    uint64_t claimedLength = UINT64_MAX;
};

inline std::string encodeClientFrame(const ClientFrame& f)
{
    std::string out;
    out.push_back(static_cast<char>((f.fin ? 0x80 : 0) | (f.rsv1 ? 0x40 : 0) | (f.rsv2 ? 0x20 : 0) |
                                    (f.rsv3 ? 0x10 : 0) | (f.opcode & 0x0F)));
    const uint64_t length = f.claimedLength != UINT64_MAX ? f.claimedLength : f.payload.size();
    const char maskBit = f.masked ? static_cast<char>(0x80) : 0;
    if (length < 126) {
        out.push_back(static_cast<char>(maskBit | static_cast<char>(length)));
    } else if (length <= 0xFFFF) {
        out.push_back(static_cast<char>(maskBit | 126));
        out.push_back(static_cast<char>(length >> 8));
        out.push_back(static_cast<char>(length));
    } else {
        out.push_back(static_cast<char>(maskBit | 127));
        for (int i = 0; i < 8; ++i)
            out.push_back(static_cast<char>(length >> (56 - 8 * i)));
    }
    const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    std::string payload = f.payload;
    if (f.masked) {
        out.append(reinterpret_cast<const char*>(mask), 4);
        for (size_t i = 0; i < payload.size(); ++i)
            payload[i] = static_cast<char>(payload[i] ^ mask[i & 3]);
    }
    out.append(payload);
    return out;
}

inline std::string clientText(std::string_view text, bool fin = true)
{
    ClientFrame f;
    f.payload = std::string(text);
    f.fin = fin;
    return encodeClientFrame(f);
}

inline std::string clientFrame(uint8_t opcode, std::string_view payload, bool fin = true)
{
    ClientFrame f;
    f.opcode = opcode;
    f.payload = std::string(payload);
    f.fin = fin;
    return encodeClientFrame(f);
}

inline std::string closeBody(uint16_t code, std::string_view reason = {})
{
    std::string out;
    out.push_back(static_cast<char>(code >> 8));
    out.push_back(static_cast<char>(code & 0xFF));
    out.append(reason);
    return out;
}

} // namespace serval::test
