#pragma once

#include "compression/Encoder.h"
#include "compression/ResponseCompression.h"
#include "http/AsyncResponse.h"
#include "http/HttpResponse.h"

#include <memory>
#include <mutex>
#include <string>

namespace serval::compression {

/// Response compression for a response that outlives service() (http::AsyncResponse): an async
/// servlet's, and every response of a process-isolated app, which the server compresses as the
/// worker's bytes arrive (the worker sends identity and needs no change).
///
/// Sits between the writer and the connector's AsyncResponse. The decision (decide()) is taken
/// at the first write() or complete() after service() returned, on the status and headers then
/// known: those service() left in exchange.response plus those set here. A length given by
/// expectLength() (a forwarded response that declared one) applies the minimum size; otherwise
/// the length is unknown, unless complete() came with everything held. Once compressing, each
/// write() is encoded with a sync flush, so what was written reaches the client decodable
/// (streamed responses keep their timing); complete() writes the trailer.
///
/// Writes made before service() returns are held and go out, after the body service() left,
/// when Engine::service calls serviceReturned(): the order the connector itself keeps.
///
/// THREADS: like AsyncResponse, any thread, concurrently: one mutex serialises the encoder;
/// compression runs on the writing thread (an app's thread, or the I/O loop for a forwarded
/// response, which is why it uses Effort::Fast). Calls into the inner response are made with
/// the mutex held; the inner never calls back synchronously (its callbacks run on the loop).
/// OWNERSHIP: shared like the inner AsyncResponse, which it holds.
class CompressingAsyncResponse final : public http::AsyncResponse
{
public:
    CompressingAsyncResponse(std::shared_ptr<http::AsyncResponse> inner,
                             const http::CompressionSettings* settings, RequestTraits traits) noexcept;

    /// Engine::service, as service() returns, on its thread: takes the status, headers, body and
    /// declared length service() left in `response` (the body is moved out, to be encoded ahead
    /// of later writes; a declared length becomes the expected one) and sends what was held.
    void serviceReturned(http::HttpResponse& response) noexcept;

    bool setStatus(int status) override;
    bool setHeader(std::string_view name, std::string_view value) override;
    bool addHeader(std::string_view name, std::string_view value) override;
    void expectLength(uint64_t length) noexcept override;
    http::WriteStatus write(std::string_view bytes) override;
    bool complete() override;
    size_t bufferedAmount() const override { return _inner->bufferedAmount(); }
    void setLimits(http::OutputLimits limits) override { _inner->setLimits(limits); }
    bool clientGone() const override { return _inner->clientGone(); }
    void onClientGone(std::function<void()> callback) override { _inner->onClientGone(std::move(callback)); }
    void onWritable(std::function<void()> callback) override { _inner->onWritable(std::move(callback)); }

    /// The coding chosen (Identity until decided, or when not compressing). Tests.
    ContentCoding coding() const;

private:
    /// With _mutex held: decides once, sets the headers on the inner response.
    void decideLocked(int64_t length);
    /// decideLocked()'s verdict: the Vary header, and the encoder when compressing.
    void chooseLocked(int64_t length);
    /// With _mutex held: encodes (or passes) `bytes` to the inner response.
    http::WriteStatus writeLocked(std::string_view bytes, Flush flush);

    std::shared_ptr<http::AsyncResponse> _inner;
    const http::CompressionSettings* _settings;
    RequestTraits _traits;
    mutable std::mutex _mutex;
    http::HttpResponse _head; ///< status and headers as the inner will send them (decide() reads them)
    std::string _held;        ///< written before serviceReturned(), or service()'s own body
    std::string _out;         ///< encoder output, reused
    std::unique_ptr<Encoder> _encoder;
    int64_t _expected = -1;
    bool _serviceDone = false;
    bool _decided = false;
    bool _completeHeld = false; ///< complete() came before serviceReturned()
    bool _failed = false;       ///< the encoder failed: the connection is cut
};

} // namespace serval::compression
