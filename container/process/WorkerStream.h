#pragma once

#include "http/ExchangeControl.h"
#include "http/HttpHandler.h"
#include "http/Upgrade.h"
#include "process/Messages.h"
#include "process/WorkerService.h"

#include <atomic>
#include <memory>
#include <string>

namespace serval::process {

class WorkerAsyncResponse;
class WorkerUpgrade;

/// One request and its response inside the worker, and the control of its exchange
/// (http::ExchangeControl): a response that outlives service() (startAsync: a
/// WorkerAsyncResponse on the worker's loop) and a protocol switch (upgrade: the connection's
/// bytes keep crossing the channel, WorkerUpgrade).
/// THREADS: the channel thread fills the request (head, body) until dispatch(); then one
/// request thread owns the exchange until service() returns, and after that, for an async or
/// upgraded exchange, the worker's loop thread; a held one (suspend()) is finished by a request
/// thread again once resume() queued it. `credit` is guarded by the channel's mutex,
/// `cancelled` is atomic (the channel thread sets it), `async` and `upgrade` are set by the
/// request thread during service() and read by the channel thread under the channel's mutex.
/// OWNERSHIP: the channel's `streams` map; WorkerService::release() recycles it into the
/// channel's spare list (or destroys it when that is full).
class WorkerStream final : public http::ResponseSink, public http::ExchangeControl
{
public:
    WorkerStream(WorkerService& service, WorkerChannel& channel, uint32_t id) noexcept
        : service(service), channel(channel), id(id)
    {}

    bool sendHead(const http::HttpResponse& response, bool chunked) noexcept override
    {
        std::string& head = buffer;
        try {
            encodeResponseHead(response, chunked ? -1 : response.declaredContentLength(), head);
        } catch (...) {
            return false;
        }
        headSent = true;
        return service.write(*this, RecordType::ResponseHead, 0, head, {}, 0, true);
    }
    bool sendBody(std::string_view data) noexcept override { return sendBytes(data, false); }

    /// `data` in body records of at most kBodyChunk bytes; the last one ends the stream if `end`.
    bool sendBytes(std::string_view data, bool end) noexcept
    {
        do {
            std::string_view chunk = data.substr(0, kBodyChunk);
            data.remove_prefix(chunk.size());
            bool last = data.empty();
            if (!service.write(*this, RecordType::ResponseBody, last && end ? kEndStream : 0, chunk, {},
                               static_cast<uint32_t>(chunk.size()), last))
                return false;
            bytesSent += chunk.size();
        } while (!data.empty());
        return true;
    }

    // http::ExchangeControl (the request thread, during service()).
    void suspend() noexcept override;
    void resume() noexcept override;
    bool resumesFromAnyThread() const noexcept override { return true; }
    std::shared_ptr<http::AsyncResponse> startAsync() override;
    void upgrade(std::unique_ptr<http::UpgradeHandler> handler) noexcept override;
    void markIrrevocable() noexcept override;

    /// Everything of the last request gone, the capacity of its strings kept; `next` is the
    /// new stream id. Only the reading thread that took it off the channel's spare list knows
    /// this stream (it is in no map and no queue).
    void recycle(uint32_t next) noexcept
    {
        id = next;
        exchange.recycle(spareHeaders);
        exchange.loop = nullptr;
        exchange.control = nullptr;
        exchange.compression = nullptr;
        expectedBody = -1;
        dispatched = false;
        headSent = false;
        bytesSent = 0;
        credit = kStreamWindow;
        cancelled.store(false, std::memory_order_relaxed);
        buffer.clear();
        hold = Hold::None;
        async.reset();
        upgrading.reset();
        upgraded.reset();
        irrevocable = false;
    }

    WorkerService& service;
    WorkerChannel& channel;
    uint32_t id; ///< fixed while the stream is in `streams`
    /// Header objects of earlier requests (recycle()), their strings' capacity reused by the
    /// next request head (decodeRequestHead).
    std::vector<http::Header> spareHeaders;
    http::HttpExchange exchange;
    int64_t expectedBody = -1;
    bool dispatched = false;
    bool headSent = false;
    uint64_t bytesSent = 0;
    int64_t credit = kStreamWindow;
    std::atomic<bool> cancelled{false};
    std::string buffer;
    /// suspend() without startAsync(): the response service() leaves is complete but held
    /// (core::ResponseHold: the session's commit) until resume(). Under the channel's mutex.
    enum class Hold
    {
        None,
        Held,   ///< suspend() during service()
        Parked, ///< service() returned held: no thread has the stream until resume()
        Resumed ///< resume() before service() returned: serve() finishes it as usual
    };
    Hold hold = Hold::None;
    std::shared_ptr<WorkerAsyncResponse> async;      ///< startAsync() was called
    bool irrevocable = false;                        ///< markIrrevocable() told the server
    std::unique_ptr<http::UpgradeHandler> upgrading; ///< upgrade() was called (until the 101)
    std::shared_ptr<WorkerUpgrade> upgraded;         ///< the 101 went out: the connection's bytes
};

} // namespace serval::process
