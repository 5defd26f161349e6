#pragma once

#include "connector/websocket/Frame.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace serval::websocket {

/// One frame's header as a client sent it (RFC 6455 5.2).
struct FrameHeader
{
    bool fin = false;
    bool rsv1 = false; ///< "compressed" on a data message's first frame (RFC 7692 6)
    Opcode opcode = Opcode::Continuation;
    uint64_t length = 0;
};

/// Why the parser (or the session behind it) fails the connection: the close code to send
/// and a short reason for the log and the close frame. code 0 = no failure.
struct Failure
{
    uint16_t code = 0;
    const char* reason = "";
    explicit operator bool() const noexcept { return code != 0; }
};

/// Strict, incremental framing of client-to-server bytes: a frame's header may arrive a byte
/// at a time and its payload in any number of pieces; nothing is buffered but the 14 header
/// bytes and the current piece, unmasked.
///
/// Frame-level rules checked here (RFC 6455 5.2, 5.5): the client masks every frame (1002),
/// RSV2/RSV3 are zero and RSV1 only with permessage-deflate (1002), no reserved opcode (1002),
/// control frames have FIN and at most 125 bytes (1002), the 64-bit length's top bit is zero
/// (1002), and no frame is longer than maxFrameSize (1009). Message-level rules (continuation
/// order, RSV1 placement, UTF-8, close payloads) are the Sink's.
/// THREADS: one owner (the session's loop thread).
class FrameParser
{
public:
    /// What the frames go to. Each call may return a Failure to stop the parser (it stays
    /// failed: feed() returns that Failure again).
    class Sink
    {
    public:
        virtual Failure onFrameHeader(const FrameHeader& header) noexcept = 0;
        /// Unmasked payload bytes of the current frame, in order (never empty); valid during the call.
        virtual Failure onFramePayload(std::string_view bytes) noexcept = 0;
        /// The current frame's last payload byte has been delivered (also for empty frames).
        virtual Failure onFrameEnd() noexcept = 0;

    protected:
        ~Sink() = default;
    };

    FrameParser(uint64_t maxFrameSize, bool allowRsv1) noexcept
        : _maxFrameSize(maxFrameSize), _allowRsv1(allowRsv1)
    {}

    /// Parses `bytes` (the next bytes from the client), calling `sink` as frames go by.
    /// A Failure stops the parser for good.
    Failure feed(std::string_view bytes, Sink& sink) noexcept;
    /// True if no frame is in progress (header or payload).
    bool atFrameBoundary() const noexcept { return _state == State::Header && _headerSize == 0; }

private:
    enum class State
    {
        Header,
        Payload,
        Failed
    };
    Failure parseHeader() noexcept;
    Failure fail(Failure failure) noexcept
    {
        _state = State::Failed;
        _failure = failure;
        return failure;
    }

    uint64_t _maxFrameSize;
    bool _allowRsv1;
    State _state = State::Header;
    Failure _failure;
    uint8_t _header[14] = {};
    size_t _headerSize = 0;
    FrameHeader _frame;
    uint8_t _mask[4] = {};
    uint64_t _payloadOffset = 0;
    std::string _scratch; ///< the current piece, unmasked
};

} // namespace serval::websocket
