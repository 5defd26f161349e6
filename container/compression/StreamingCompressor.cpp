#include "compression/StreamingCompressor.h"

#include "compression/ResponseCompression.h"
#include "http/HttpHandler.h"

namespace serval::compression {

void StreamingCompressor::arm(const http::HttpExchange& exchange) noexcept
{
    _exchange = &exchange;
    _encoder.reset();
    _finished = false;
}

void StreamingCompressor::release() noexcept
{
    _exchange = nullptr;
    if (!_encoder && _out.capacity() <= std::string().capacity()) return; // the common case: nothing made
    _encoder.reset();
    std::string().swap(_out);
}

void StreamingCompressor::beforeCommit(http::HttpResponse& response) noexcept
{
    if (_exchange == nullptr || _exchange->compression == nullptr) return;
    try {
        Decision decision = decide(_exchange->compression, requestTraits(_exchange->request),
                                   response.status(), response.headers(), response.declaredContentLength());
        if (decision.dropIdentityMarker) response.removeHeader("Content-Encoding");
        if (!decision.vary) return;
        response.setHeader("Vary", varyWithAcceptEncoding(response.header("Vary")));
        if (decision.coding == ContentCoding::Identity) return;
        std::string_view etag = response.header("ETag");
        if (!etag.empty()) response.setHeader("ETag", weakEtag(etag));
        _encoder = makeEncoder(decision.coding, Effort::Fast);
        if (!_encoder) return;
        response.setHeader("Content-Encoding", codingName(decision.coding));
        response.setContentLength(-1); // chunked: the compressed length is not known yet
        countCompressed(decision.coding);
    } catch (...) {
        _encoder.reset(); // std::bad_alloc before Content-Encoding was set: identity, consistent
    }
}

bool StreamingCompressor::encode(std::string& body) noexcept
{
    if (!_encoder || _finished) return true;
    _out.clear();
    if (!_encoder->encode(body, Flush::Sync, _out)) return false;
    body.swap(_out);
    return true;
}

void StreamingCompressor::finish(http::HttpResponse& response) noexcept
{
    if (!_encoder || _finished) return;
    _out.clear();
    _finished = true;
    if (!_encoder->encode(response.body(), Flush::Finish, _out)) {
        response.resetBuffer();
        response.setCloseConnection(true); // the stream cannot end well: cut it
        return;
    }
    response.body().swap(_out);
}

} // namespace serval::compression
