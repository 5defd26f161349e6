#include "connector/websocket/FrameParser.h"

#include <algorithm>

namespace serval::websocket {
namespace {

/// Bytes the header needs given its first two bytes (2, 4 or 10, plus 4 for the mask).
size_t headerSizeFor(const uint8_t* header) noexcept
{
    size_t size = 2;
    uint8_t length7 = header[1] & 0x7F;
    if (length7 == 126) size += 2;
    if (length7 == 127) size += 8;
    if (header[1] & 0x80) size += 4;
    return size;
}

constexpr size_t kPieceSize = 64 * 1024; ///< unmasked at a time, bounding _scratch

} // namespace

Failure FrameParser::parseHeader() noexcept
{
    const uint8_t b0 = _header[0];
    const uint8_t b1 = _header[1];
    _frame.fin = (b0 & 0x80) != 0;
    _frame.rsv1 = (b0 & 0x40) != 0;
    const uint8_t op = b0 & 0x0F;
    if ((b0 & 0x30) != 0) return {CloseCode::ProtocolError, "reserved bits set"};
    if (_frame.rsv1 && !_allowRsv1) return {CloseCode::ProtocolError, "RSV1 set without an extension"};
    if ((op >= 0x3 && op <= 0x7) || op >= 0xB) return {CloseCode::ProtocolError, "reserved opcode"};
    _frame.opcode = static_cast<Opcode>(op);
    if ((b1 & 0x80) == 0) return {CloseCode::ProtocolError, "unmasked client frame"};
    uint64_t length = b1 & 0x7F;
    size_t at = 2;
    // RFC 6455 section 5.2: "the minimal number of bytes MUST be used to encode the length".
    if (length == 126) {
        length = (uint64_t{_header[2]} << 8) | _header[3];
        at = 4;
        if (length < 126) return {CloseCode::ProtocolError, "frame length not in its shortest form"};
    } else if (length == 127) {
        length = 0;
        for (int i = 0; i < 8; ++i)
            length = (length << 8) | _header[2 + i];
        at = 10;
        if (length >> 63) return {CloseCode::ProtocolError, "frame length has its top bit set"};
        if (length <= 0xFFFF) return {CloseCode::ProtocolError, "frame length not in its shortest form"};
    }
    if (isControl(_frame.opcode)) {
        if (!_frame.fin) return {CloseCode::ProtocolError, "fragmented control frame"};
        if (length > 125) return {CloseCode::ProtocolError, "control frame longer than 125 bytes"};
    }
    if (length > _maxFrameSize) return {CloseCode::MessageTooBig, "frame too big"};
    _frame.length = length;
    std::copy(_header + at, _header + at + 4, _mask);
    _payloadOffset = 0;
    return {};
}

Failure FrameParser::feed(std::string_view bytes, Sink& sink) noexcept
{
    while (true) {
        if (_state == State::Failed) return _failure;
        if (_state == State::Header) {
            if (bytes.empty()) return {};
            // The first two bytes decide how many more the header takes.
            size_t need = _headerSize < 2 ? 2 : headerSizeFor(_header);
            size_t take = std::min(need - _headerSize, bytes.size());
            std::copy(bytes.data(), bytes.data() + take, _header + _headerSize);
            _headerSize += take;
            bytes.remove_prefix(take);
            if (_headerSize < need) continue;
            if (need == 2 && headerSizeFor(_header) > 2) continue;
            if (Failure f = parseHeader()) return fail(f);
            _headerSize = 0;
            if (Failure f = sink.onFrameHeader(_frame)) return fail(f);
            _state = State::Payload;
        }
        // Payload (possibly empty).
        while (_payloadOffset < _frame.length && !bytes.empty()) {
            size_t take = static_cast<size_t>(std::min<uint64_t>(
                {_frame.length - _payloadOffset, static_cast<uint64_t>(bytes.size()), kPieceSize}));
            _scratch.assign(bytes.data(), take);
            unmask(_scratch.data(), take, _mask, _payloadOffset);
            _payloadOffset += take;
            bytes.remove_prefix(take);
            if (Failure f = sink.onFramePayload(_scratch)) return fail(f);
        }
        if (_payloadOffset < _frame.length) return {};
        _state = State::Header;
        if (Failure f = sink.onFrameEnd()) return fail(f);
    }
}

} // namespace serval::websocket
