#pragma once

#include <cstdint>

namespace serval::http2 {

/// The per-connection budget of HTTP/2 protocol "glitches": frames a correct client seldom
/// sends and a hostile one sends by the thousand to cost the server work for nothing (client
/// resets, empty DATA, needless SETTINGS / PING / WINDOW_UPDATE, PRIORITY floods, header
/// blocks refused). A token bucket: `capacity` glitches at once, refilled at `ratePerSecond`;
/// spend() returns false once it is empty, and the session answers GOAWAY(ENHANCE_YOUR_CALM)
/// (the idea of nginx's and h2o's "glitch" counters after CVE-2023-44487).
///
/// THREADS: the session's loop thread only. OWNERSHIP: a member of Http2Session.
class GlitchBudget
{
public:
    GlitchBudget(uint32_t capacity, uint32_t ratePerSecond) noexcept
        : _capacity(capacity), _rate(ratePerSecond), _level(capacity)
    {}

    /// One glitch at `nowNanos` (CLOCK_MONOTONIC): false when the budget is spent.
    bool spend(uint64_t nowNanos) noexcept
    {
        if (_last != 0 && nowNanos > _last && _rate != 0) {
            const uint64_t refill = (nowNanos - _last) * _rate / 1000000000ull;
            if (refill > 0) {
                _level = refill >= _capacity - _level ? _capacity : _level + static_cast<uint32_t>(refill);
                _last = nowNanos;
            }
        } else if (_last == 0) {
            _last = nowNanos;
        }
        if (_level == 0) return false;
        --_level;
        return true;
    }
    uint32_t remaining() const noexcept { return _level; }

private:
    uint32_t _capacity;
    uint32_t _rate;
    uint32_t _level;
    uint64_t _last = 0;
};

} // namespace serval::http2
