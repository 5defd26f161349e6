#include "connector/websocket/Utf8Validator.h"

namespace serval::websocket {
namespace {

// Höhrmann's tables (http://bjoern.hoehrmann.de/utf-8/decoder/dfa/, MIT): byte -> class,
// then (state + class) -> state, states being multiples of 12.
struct ClassTable
{
    uint8_t value[256] = {};
};
constexpr ClassTable makeClasses()
{
    ClassTable t;
    auto set = [&t](int from, int to, uint8_t c) {
        for (int b = from; b <= to; ++b)
            t.value[b] = c;
    };
    set(0x80, 0x8F, 1);
    set(0x90, 0x9F, 9);
    set(0xA0, 0xBF, 7);
    set(0xC0, 0xC1, 8);
    set(0xC2, 0xDF, 2);
    set(0xE0, 0xE0, 10);
    set(0xE1, 0xEC, 3);
    set(0xED, 0xED, 4);
    set(0xEE, 0xEF, 3);
    set(0xF0, 0xF0, 11);
    set(0xF1, 0xF3, 6);
    set(0xF4, 0xF4, 5);
    set(0xF5, 0xFF, 8);
    return t;
}
constexpr ClassTable kClass = makeClasses();
constexpr uint8_t kTransition[108] = {
    0,  12, 24, 36, 60, 96, 84, 12, 12, 12, 48, 72, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
    12, 12, 12, 0,  12, 12, 12, 12, 12, 0,  12, 0,  12, 12, 12, 24, 12, 12, 12, 12, 12, 24,
    12, 24, 12, 12, 12, 12, 12, 12, 12, 12, 12, 24, 12, 12, 12, 12, 12, 24, 12, 12, 12, 12,
    12, 12, 12, 24, 12, 12, 12, 12, 12, 12, 12, 12, 12, 36, 12, 36, 12, 12, 12, 36, 12, 12,
    12, 12, 12, 36, 12, 36, 12, 12, 12, 36, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
};

} // namespace

bool Utf8Validator::feed(std::string_view bytes) noexcept
{
    uint8_t state = _state;
    for (char c : bytes) {
        // Fast path: ASCII in the accept state.
        if (state == Accept && static_cast<unsigned char>(c) < 0x80) continue;
        state = kTransition[state + kClass.value[static_cast<unsigned char>(c)]];
        if (state == Reject) break;
    }
    _state = state;
    return state != Reject;
}

} // namespace serval::websocket
