#include "compression/Decode.h"

#include <brotli/decode.h>
#include <zlib.h>

namespace serval::test {

std::optional<std::string> gunzip(std::string_view encoded)
{
    z_stream s{};
    if (inflateInit2(&s, 15 + 16) != Z_OK) return std::nullopt;
    s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(encoded.data()));
    s.avail_in = static_cast<uInt>(encoded.size());
    std::string out;
    int rc = Z_OK;
    char buffer[16384];
    while (rc == Z_OK) {
        s.next_out = reinterpret_cast<Bytef*>(buffer);
        s.avail_out = sizeof buffer;
        rc = inflate(&s, Z_NO_FLUSH);
        out.append(buffer, sizeof buffer - s.avail_out);
        if (rc == Z_BUF_ERROR && s.avail_in == 0) break;
    }
    const bool complete = rc == Z_STREAM_END && s.avail_in == 0;
    inflateEnd(&s);
    if (!complete) return std::nullopt;
    return out;
}

std::optional<std::string> unbrotli(std::string_view encoded)
{
    BrotliDecoderState* state = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
    size_t availableIn = encoded.size();
    const auto* nextIn = reinterpret_cast<const uint8_t*>(encoded.data());
    std::string out;
    BrotliDecoderResult rc = BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT;
    while (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT) {
        uint8_t buffer[16384];
        size_t availableOut = sizeof buffer;
        uint8_t* nextOut = buffer;
        rc = BrotliDecoderDecompressStream(state, &availableIn, &nextIn, &availableOut, &nextOut, nullptr);
        out.append(reinterpret_cast<char*>(buffer), sizeof buffer - availableOut);
    }
    BrotliDecoderDestroyInstance(state);
    if (rc != BROTLI_DECODER_RESULT_SUCCESS || availableIn != 0) return std::nullopt;
    return out;
}

} // namespace serval::test
