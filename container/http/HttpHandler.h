#pragma once

#include "http/BodyConsumer.h"
#include "http/CompressionSettings.h"
#include "http/DispatchLane.h"
#include "http/ExchangeControl.h"
#include "http/HttpRequest.h"
#include "http/HttpResponse.h"
#include "http/Loop.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace serval::http {

/// Per-exchange state a handler keeps across onHead() and service() (for example the mapping
/// result and a pin on the routing snapshot). Created lazily by the handler, owned by the
/// exchange, reset() between requests and reused for the life of the connection.
class ExchangeState
{
public:
    virtual ~ExchangeState() = default;
    virtual void reset() noexcept = 0;
};

/// What was looked up for a request before it was served, for the code that serves it: an
/// isolated app's sessions, fetched from Redis in one pipeline with those of the other requests
/// its worker read at the same time (session::PrefetchedSessions). The filler's own type;
/// dropped with the request.
class Prefetched
{
public:
    virtual ~Prefetched() = default;
};

/// One request/response pair on one connection.
/// OWNERSHIP: owned by the Connector's connection object; reused for each request.
struct HttpExchange
{
    HttpRequest request;
    HttpResponse response;
    std::unique_ptr<ExchangeState> state; ///< the handler's; never touched by the Connector
    uint64_t startNanos = 0;              ///< CLOCK_MONOTONIC when the request head was complete
    uint64_t bytesReceived = 0;           ///< request head + body bytes on the wire
    /// The I/O loop that owns the connection (set by the Connector, fixed for the exchange's
    /// life): where loop-thread calls for this exchange are made, and where other threads post.
    Loop* loop = nullptr;
    /// Suspend / resume / startAsync for this exchange (the connection; set by the Connector).
    ExchangeControl* control = nullptr;
    /// The Connector's response compression settings (set by the Connector with each request
    /// head; fixed for the exchange). nullptr: never compressed.
    const CompressionSettings* compression = nullptr;
    /// Set before service() by whoever looked ahead for this request (see Prefetched); nullptr
    /// almost always.
    std::unique_ptr<Prefetched> prefetched;

    /// Readies the exchange for the next request on the same memory: the request's header
    /// objects move to `spareHeaders` (emptied, their strings' capacity kept), request and
    /// response are cleared, `state` is reset (not freed). `loop`, `control` and `compression`
    /// are left to the owner.
    void recycle(std::vector<Header>& spareHeaders) noexcept
    {
        for (Header& h : request.headers) {
            h.name.clear();
            h.value.clear();
            spareHeaders.push_back(std::move(h));
        }
        request.clear();
        response.clear();
        if (state) state->reset();
        prefetched.reset();
        startNanos = 0;
        bytesReceived = 0;
    }
};

/// Where service() runs.
enum class Dispatch
{
    Inline, ///< on the I/O thread: only for handlers that never block (static files)
    Worker  ///< on the worker pool: anything that may block (apps, admin, deploy uploads)
};

/// What the handler decides once the request head is parsed, before any body is read.
struct HeadDecision
{
    /// 0 = accept (read the body, then call service()). Otherwise the Connector sends the
    /// response the handler put in exchange.response (or a plain one with this status if the
    /// handler left it empty), does not read the body, and closes the connection if a body was
    /// announced. Used for 413, 404 before a large upload, 417.
    int rejectStatus = 0;
    /// Largest body accepted for this request (Context or Connector limit). Larger -> 413.
    uint64_t maxBodySize = 0;
    Dispatch dispatch = Dispatch::Worker;
    /// For Worker: the lane that runs service() (nullptr: the Connector's shared pool).
    DispatchLane* lane = nullptr;
    /// Non-null: the body goes to this consumer as it arrives (loop thread) instead of into
    /// request.body (see BodyConsumer for ownership).
    BodyConsumer* bodyConsumer = nullptr;
};

/// The pipeline behind a Connector (the Engine implements it).
/// Both calls are noexcept: the implementation holds the last-resort catch that turns anything
/// unexpected into a 500.
class HttpHandler
{
public:
    virtual ~HttpHandler() = default;
    /// I/O thread, once per request, when the head is complete. Must not block.
    /// `Expect: 100-continue` is answered by the Connector only after an accepting decision.
    virtual HeadDecision onHead(HttpExchange& exchange) noexcept = 0;
    /// With the complete request, on the thread chosen by onHead(). Fills exchange.response.
    virtual void service(HttpExchange& exchange) noexcept = 0;
    /// After the response has been written (or the client went away). For access logs and
    /// metrics. `bytesSent` counts the whole response. Thread: the one that ran service(),
    /// except when a worker's response did not fit the socket at once, or the exchange was
    /// suspended (ExchangeControl): then the I/O thread calls it after the last byte (a slow
    /// reader never holds a worker). Exactly once per exchange that reached onHead(), never
    /// concurrently with any other call for the same exchange; after it the exchange is reused.
    /// For a request whose body is refused at onHead(), it follows the rejection response.
    virtual void complete(HttpExchange& exchange, uint64_t bytesSent) noexcept = 0;
};

} // namespace serval::http
