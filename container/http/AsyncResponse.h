#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

namespace serval::http {

/// What a queued write became (uWebSockets' SUCCESS / BACKPRESSURE / DROPPED).
enum class WriteStatus
{
    Ok,           ///< queued; the buffer is below its high-water mark
    Backpressure, ///< queued, but the buffer is above its high-water mark: stop producing until onWritable
    Dropped ///< not queued: the exchange has ended, or the bytes would pass the hard cap (the connection
            ///< closes)
};

/// Bounds of output queued for a slow client. The buffered amount counts bytes not yet taken by
/// the kernel, framing included.
struct OutputLimits
{
    size_t highWater = 64 * 1024; ///< above this a write returns Backpressure
    size_t hardCap = 1024 * 1024; ///< a write that would pass this is Dropped and the connection closed
};

/// A response that outlives HttpHandler::service(): written and completed later, from any
/// thread (long poll, Server-Sent Events, a servlet waiting on another service). Obtained
/// during service() from ExchangeControl::startAsync(); when service() returns the connection
/// parks the exchange (it keeps watching the socket for the client leaving; pipelined requests
/// wait) and sends what is queued here on its loop thread, never blocking any thread.
///
/// The head is exchange.response's status and headers as service() left them, with the
/// changes made here (setStatus/setHeader); it goes out before the first body byte, chunked
/// unless a Content-Length was declared (HttpResponse::setContentLength). Body bytes service()
/// left in exchange.response.body() go first. Writes are coalesced: when the loop finds
/// complete() queued behind the first bytes, the whole response leaves at once with a
/// Content-Length.
///
/// THREADS: every call from any thread, concurrently (one mutex inside). Callbacks run on the
/// exchange's loop thread, never while a call here holds the lock.
/// OWNERSHIP: shared: the connection holds one reference until the exchange ends, the caller the
/// others; the object outlives the exchange (calls after the end are harmless: Dropped/false).
/// After service() returns, the exchange itself (request, response) belongs to the connector
/// again: copy what the async work needs from the request before returning, and change the
/// response only through this object.
class AsyncResponse
{
public:
    virtual ~AsyncResponse() = default;

    /// Before the head is sent: the status and headers to send (replacing / adding to what
    /// service() left). False once the head went out or the exchange ended.
    virtual bool setStatus(int status) = 0;
    virtual bool setHeader(std::string_view name, std::string_view value) = 0;
    virtual bool addHeader(std::string_view name, std::string_view value) = 0;

    /// Queues body bytes (the head first if not sent yet). Empty `bytes`: sends the head now
    /// (an event stream that starts with no event).
    virtual WriteStatus write(std::string_view bytes) = 0;
    /// Before the first write: the body will be exactly `length` bytes (a proxied response that
    /// knows its length). The connector's AsyncOutput frames the body with that Content-Length
    /// instead of chunks (a body that ends short or runs long then closes the connection); the
    /// response compression applies its minimum size with it, and passes it on only when it
    /// sends the body as it is.
    virtual void expectLength(uint64_t length) noexcept { (void)length; }
    /// Once: the response is complete (last chunk); the connection goes on with the next
    /// request. False if the exchange had already ended (client gone, Dropped, server stopped)
    /// or complete() was called before.
    virtual bool complete() = 0;

    /// Bytes queued and not yet written to the socket (framing included).
    virtual size_t bufferedAmount() const = 0;
    /// Replaces the default limits (OutputLimits{}). Takes effect for the next write.
    virtual void setLimits(OutputLimits limits) = 0;
    /// True once the exchange has ended without complete(): no byte written now reaches anyone.
    virtual bool clientGone() const = 0;

    /// `callback` runs once, on the loop thread, if the exchange ends before complete(): the
    /// client left (EPOLLRDHUP/HUP/ERR, a failed write, the send timeout), a write passed the
    /// hard cap, or the server stopped past its drain deadline. If that already happened, it is
    /// posted at once. Replaces an earlier callback.
    virtual void onClientGone(std::function<void()> callback) = 0;
    /// `callback` runs on the loop thread each time, after a write returned Backpressure, the
    /// buffered amount has fallen to half the high-water mark or below. Replaces an earlier one.
    virtual void onWritable(std::function<void()> callback) = 0;
};

} // namespace serval::http
