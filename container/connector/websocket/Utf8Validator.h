#pragma once

#include <cstdint>
#include <string_view>

namespace serval::websocket {

/// Incremental UTF-8 validation (RFC 3629: no overlongs, no surrogates, nothing above
/// U+10FFFF), for WebSocket text messages whose code points may be split across frames and
/// across reads (RFC 6455 8.1: the connection fails as soon as the bytes cannot be UTF-8, not
/// only at the end of the message). Björn Höhrmann's DFA, byte by byte, no allocation.
/// THREADS: one owner (the session's loop thread). Cheap to copy.
class Utf8Validator
{
public:
    /// False as soon as `bytes` make the text so far invalid (it stays false until reset()).
    bool feed(std::string_view bytes) noexcept;
    /// True if the text so far ends on a code point boundary (a message may end here).
    bool complete() const noexcept { return _state == Accept; }
    void reset() noexcept { _state = Accept; }

private:
    static constexpr uint8_t Accept = 0;
    static constexpr uint8_t Reject = 12;
    uint8_t _state = Accept;
};

} // namespace serval::websocket
