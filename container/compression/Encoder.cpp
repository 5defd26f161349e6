#include "compression/Encoder.h"

#include "compression/BrotliEncoder.h"
#include "compression/GzipEncoder.h"

#include <brotli/encode.h>

namespace serval::compression {
namespace {

int gzipLevel(Effort effort) noexcept
{
    return effort == Effort::Fast ? 1 : 9;
}

int brotliQuality(Effort effort) noexcept
{
    return effort == Effort::Fast ? 1 : 11;
}

} // namespace

std::unique_ptr<Encoder> makeEncoder(ContentCoding coding, Effort effort, size_t sizeHint)
{
    try {
        switch (coding) {
        case ContentCoding::Gzip:
            return std::make_unique<GzipEncoder>(gzipLevel(effort));
        case ContentCoding::Brotli:
            return std::make_unique<BrotliEncoder>(brotliQuality(effort), sizeHint);
        case ContentCoding::Identity:
            break;
        }
    } catch (...) {
        // Out of memory: the caller sends the body as it is.
    }
    return nullptr;
}

bool compressWhole(ContentCoding coding, Effort effort, std::string_view input, std::string& out) noexcept
{
    out.clear();
    if (coding == ContentCoding::Gzip) {
        // One zlib state per thread and level, rewound per body (deflateInit allocates 256 KiB).
        thread_local std::unique_ptr<GzipEncoder> fast;
        thread_local std::unique_ptr<GzipEncoder> best;
        std::unique_ptr<GzipEncoder>& slot = effort == Effort::Fast ? fast : best;
        try {
            if (!slot) slot = std::make_unique<GzipEncoder>(gzipLevel(effort));
        } catch (...) {
            return false;
        }
        slot->reset();
        return slot->encode(input, Flush::Finish, out);
    }
    if (coding == ContentCoding::Brotli) {
        // The one-shot API sizes its state to the input: cheaper than a streaming state.
        try {
            size_t size = BrotliEncoderMaxCompressedSize(input.size());
            if (size == 0) size = input.size() + 1024;
            out.resize(size);
        } catch (...) {
            return false;
        }
        size_t written = out.size();
        if (!BrotliEncoderCompress(brotliQuality(effort), 20, BROTLI_MODE_TEXT, input.size(),
                                   reinterpret_cast<const uint8_t*>(input.data()), &written,
                                   reinterpret_cast<uint8_t*>(out.data()))) {
            return false;
        }
        out.resize(written);
        return true;
    }
    return false;
}

} // namespace serval::compression
