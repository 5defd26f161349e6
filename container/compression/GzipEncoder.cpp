#include "compression/GzipEncoder.h"

#include <new>

namespace serval::compression {

GzipEncoder::GzipEncoder(int level) : _level(level)
{
    // windowBits 15 + 16: the gzip wrapper; memLevel 8 is zlib's default (256 KiB of state).
    if (deflateInit2(&_stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::bad_alloc();
}

GzipEncoder::~GzipEncoder()
{
    deflateEnd(&_stream);
}

bool GzipEncoder::encode(std::string_view input, Flush flush, std::string& out) noexcept
{
    if (_finished) return false;
    const int mode = flush == Flush::Finish ? Z_FINISH : flush == Flush::Sync ? Z_SYNC_FLUSH : Z_NO_FLUSH;
    _stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
    _stream.avail_in = static_cast<uInt>(input.size());
    try {
        for (;;) {
            // Room for the whole input's bound the first time: most bodies take one pass.
            const size_t room = deflateBound(&_stream, _stream.avail_in) + 16;
            const size_t start = out.size();
            out.resize(start + room);
            _stream.next_out = reinterpret_cast<Bytef*>(&out[start]);
            _stream.avail_out = static_cast<uInt>(room);
            int rc = deflate(&_stream, mode);
            out.resize(start + (room - _stream.avail_out));
            if (rc == Z_STREAM_END) {
                _finished = true;
                return true;
            }
            if (rc != Z_OK && rc != Z_BUF_ERROR) return false;
            // Done when the input is taken and deflate did not fill the buffer (nothing pending).
            if (_stream.avail_in == 0 && _stream.avail_out != 0 && mode != Z_FINISH) return true;
        }
    } catch (...) {
        return false;
    }
}

} // namespace serval::compression
