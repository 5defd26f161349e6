#include "connector/websocket/Frame.h"

#include <cstring>

namespace serval::websocket {

void appendFrameHeader(std::string& out, Opcode op, uint64_t length, bool fin, bool rsv1)
{
    char header[10];
    size_t size = 2;
    header[0] = static_cast<char>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | static_cast<uint8_t>(op));
    if (length < 126) {
        header[1] = static_cast<char>(length);
    } else if (length <= 0xFFFF) {
        header[1] = 126;
        header[2] = static_cast<char>(length >> 8);
        header[3] = static_cast<char>(length);
        size = 4;
    } else {
        header[1] = 127;
        for (int i = 0; i < 8; ++i)
            header[2 + i] = static_cast<char>(length >> (56 - 8 * i));
        size = 10;
    }
    out.append(header, size);
}

std::string encodeFrame(Opcode op, std::string_view payload, bool rsv1)
{
    std::string out;
    out.reserve(payload.size() + 10);
    appendFrameHeader(out, op, payload.size(), true, rsv1);
    out.append(payload);
    return out;
}

std::string closePayload(uint16_t code, std::string_view reason)
{
    if (code == CloseCode::NoStatus) return {};
    std::string out;
    out.push_back(static_cast<char>(code >> 8));
    out.push_back(static_cast<char>(code & 0xFF));
    size_t size = reason.size() > 123 ? 123 : reason.size();
    // Do not cut a code point: back up over continuation bytes.
    if (size < reason.size())
        while (size > 0 && (static_cast<unsigned char>(reason[size]) & 0xC0) == 0x80)
            --size;
    out.append(reason.substr(0, size));
    return out;
}

void unmask(char* bytes, size_t size, const uint8_t mask[4], uint64_t offset) noexcept
{
    size_t i = 0;
    // Rotate the mask to the payload offset, then XOR eight bytes at a time.
    uint8_t rotated[8];
    for (int k = 0; k < 8; ++k)
        rotated[k] = mask[(offset + static_cast<uint64_t>(k)) & 3];
    uint64_t wide;
    std::memcpy(&wide, rotated, 8);
    for (; i + 8 <= size; i += 8) {
        uint64_t chunk;
        std::memcpy(&chunk, bytes + i, 8);
        chunk ^= wide;
        std::memcpy(bytes + i, &chunk, 8);
    }
    for (; i < size; ++i)
        bytes[i] = static_cast<char>(bytes[i] ^ rotated[i & 7]);
}

} // namespace serval::websocket
