#include "compression/BrotliEncoder.h"

#include <new>

namespace serval::compression {

BrotliEncoder::BrotliEncoder(int quality, size_t sizeHint)
    : _state(BrotliEncoderCreateInstance(nullptr, nullptr, nullptr))
{
    if (_state == nullptr) throw std::bad_alloc();
    BrotliEncoderSetParameter(_state, BROTLI_PARAM_QUALITY, static_cast<uint32_t>(quality));
    // A 4 MiB window (lgwin 22, the default) buys nothing on web pages and costs memory per
    // stream; 1 MiB keeps the ratio for bodies up to that size.
    BrotliEncoderSetParameter(_state, BROTLI_PARAM_LGWIN, 20);
    BrotliEncoderSetParameter(_state, BROTLI_PARAM_MODE, BROTLI_MODE_TEXT);
    if (sizeHint > 0 && sizeHint < (1u << 30))
        BrotliEncoderSetParameter(_state, BROTLI_PARAM_SIZE_HINT, static_cast<uint32_t>(sizeHint));
}

BrotliEncoder::~BrotliEncoder()
{
    BrotliEncoderDestroyInstance(_state);
}

bool BrotliEncoder::encode(std::string_view input, Flush flush, std::string& out) noexcept
{
    if (BrotliEncoderIsFinished(_state)) return false;
    const BrotliEncoderOperation op = flush == Flush::Finish ? BROTLI_OPERATION_FINISH
                                      : flush == Flush::Sync ? BROTLI_OPERATION_FLUSH
                                                             : BROTLI_OPERATION_PROCESS;
    size_t availableIn = input.size();
    const auto* nextIn = reinterpret_cast<const uint8_t*>(input.data());
    try {
        for (;;) {
            const size_t room = availableIn / 2 + 1024;
            const size_t start = out.size();
            out.resize(start + room);
            size_t availableOut = room;
            auto* nextOut = reinterpret_cast<uint8_t*>(&out[start]);
            if (!BrotliEncoderCompressStream(_state, op, &availableIn, &nextIn, &availableOut, &nextOut,
                                             nullptr))
                return false;
            out.resize(start + (room - availableOut));
            if (availableIn == 0 && !BrotliEncoderHasMoreOutput(_state)) {
                if (op != BROTLI_OPERATION_FINISH || BrotliEncoderIsFinished(_state)) return true;
            }
        }
    } catch (...) {
        return false;
    }
}

} // namespace serval::compression
