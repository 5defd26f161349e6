#pragma once

#include "compression/Encoder.h"

#include <zlib.h>

namespace serval::compression {

/// gzip (RFC 1952) through zlib's deflate with the gzip wrapper (windowBits 31): the streamed
/// bodies (a whole body goes through libdeflate, compressWhole).
class GzipEncoder final : public Encoder
{
public:
    /// `level` 1..9. Throws std::bad_alloc when zlib cannot allocate its state.
    explicit GzipEncoder(int level);
    ~GzipEncoder() override;
    GzipEncoder(const GzipEncoder&) = delete;
    GzipEncoder& operator=(const GzipEncoder&) = delete;

    bool encode(std::string_view input, Flush flush, std::string& out) noexcept override;
    ContentCoding coding() const noexcept override { return ContentCoding::Gzip; }
    int level() const noexcept { return _level; }

private:
    z_stream _stream{};
    int _level;
    bool _finished = false;
};

} // namespace serval::compression
