#pragma once

#include "compression/ContentCoding.h"

#include <memory>
#include <string>
#include <string_view>

namespace serval::compression {

/// How hard an encoder works. Fast is for bodies compressed while a request waits (gzip level 1,
/// brotli quality 1: a 64 KiB page in well under a millisecond, so even an I/O loop may do it);
/// Best is for work done once off the request path (the static-file variant cache: gzip 9,
/// brotli 11).
enum class Effort
{
    Fast,
    Best
};

/// What encode() does with the stream after taking the input.
enum class Flush
{
    None,  ///< may keep input back for better compression
    Sync,  ///< everything so far is decodable by the client (a streamed response's flush)
    Finish ///< ends the stream (trailer written); the encoder is spent
};

/// One streaming content-coding encoder: gzip (GzipEncoder) or brotli (BrotliEncoder).
/// OWNERSHIP: owned by whoever compresses one body; never shared.
/// THREADS: one thread at a time.
class Encoder
{
public:
    virtual ~Encoder() = default;
    /// Compresses `input`, appending the output to `out`. False on failure (out of memory, or
    /// called after Finish): the body cannot be completed and the caller must cut the response.
    virtual bool encode(std::string_view input, Flush flush, std::string& out) noexcept = 0;
    virtual ContentCoding coding() const noexcept = 0;
};

/// A fresh encoder for `coding` (Gzip or Brotli); nullptr for Identity or when out of memory.
/// `sizeHint`: the body's length when known (0: unknown), which lets brotli size its window.
std::unique_ptr<Encoder> makeEncoder(ContentCoding coding, Effort effort, size_t sizeHint = 0);

/// Compresses a whole body at once, appending to `out` (cleared first). Reuses a per-thread
/// zlib state for gzip, so the hot path does not allocate zlib's 256 KiB per response.
/// False on failure (`out` is then unspecified).
bool compressWhole(ContentCoding coding, Effort effort, std::string_view input, std::string& out) noexcept;

} // namespace serval::compression
