#pragma once

#include "compression/Encoder.h"

#include <brotli/encode.h>

namespace serval::compression {

/// brotli (RFC 7932) through libbrotlienc's streaming API.
class BrotliEncoder final : public Encoder
{
public:
    /// `quality` 0..11; `sizeHint` the body's length when known (0: unknown), which lets the
    /// encoder size its window and tables to the body. Throws std::bad_alloc.
    BrotliEncoder(int quality, size_t sizeHint);
    ~BrotliEncoder() override;
    BrotliEncoder(const BrotliEncoder&) = delete;
    BrotliEncoder& operator=(const BrotliEncoder&) = delete;

    bool encode(std::string_view input, Flush flush, std::string& out) noexcept override;
    ContentCoding coding() const noexcept override { return ContentCoding::Brotli; }

private:
    BrotliEncoderState* _state;
};

} // namespace serval::compression
