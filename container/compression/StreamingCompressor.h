#pragma once

#include "compression/Encoder.h"
#include "http/HttpResponse.h"

#include <memory>
#include <string>

namespace serval::http {
struct HttpExchange;
}

namespace serval::compression {

/// Response compression for a body an in-process servlet streams with flush(): installed on
/// the exchange's HttpResponse (http::BodyEncoder) by Engine::service before service() runs.
/// At the first flush() it takes the decision (decide(), length unknown unless declared) and
/// sets the headers; each flushed piece is encoded with a sync flush (the client can decode what
/// it has, as the app meant by flushing); finish() encodes the rest and the trailer once
/// service() has returned, before the connector sends the last chunk.
/// OWNERSHIP: the Engine's per-exchange state; the encoder (zlib's 256 KiB) is made only for a
/// response that is compressed and freed by release() when the exchange completes.
/// THREADS: the thread running the exchange.
class StreamingCompressor final : public http::BodyEncoder
{
public:
    /// Engine::service, before service(): for this exchange's request and settings.
    void arm(const http::HttpExchange& exchange) noexcept;
    void beforeCommit(http::HttpResponse& response) noexcept override;
    bool encode(std::string& body) noexcept override;
    /// Engine::service, after service() returned with a committed (flushed) response: the
    /// remaining body is encoded with the stream's end; later flushes pass bytes through.
    void finish(http::HttpResponse& response) noexcept;
    void release() noexcept;

private:
    const http::HttpExchange* _exchange = nullptr;
    std::unique_ptr<Encoder> _encoder;
    std::string _out;
    bool _finished = false;
};

} // namespace serval::compression
