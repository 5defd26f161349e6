#pragma once

#include "http/AsyncResponse.h"
#include "http/Loop.h"

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>

namespace serval::core {

class Request;
class Response;
class AsyncContext;

/// What a servlet (or a filter that saw the async start) hears about an async request
/// (javax.servlet.AsyncListener). THREADS: every call on the exchange's loop thread; none may
/// block. OWNERSHIP: shared with the AsyncContext, released when the request has ended.
class AsyncListener
{
public:
    virtual ~AsyncListener() = default;
    /// complete() went through: the response is (being) sent.
    virtual void onComplete() noexcept {}
    /// The timeout passed before complete(). The listener may still write and complete; if it
    /// does not, the request completes with the timeout status (nothing written yet) or
    /// ends the body as it is.
    virtual void onTimeout(AsyncContext& async) noexcept { (void)async; }
    /// The client left (or the response passed its hard cap) before complete(): stop producing.
    virtual void onClientGone(AsyncContext& async) noexcept { (void)async; }
};

/// A request whose response outlives Servlet::service() (Servlet 3.0's startAsync()): written
/// and completed later from any thread through the connector's http::AsyncResponse (queued,
/// bounded, never blocking a thread), with a timeout armed on the exchange's loop.
///
/// THREADS: every call from any thread. Listener calls on the loop thread.
/// OWNERSHIP: shared: the servlet's work keeps it, and so does the loop's timeout timer until
/// it fires (a request whose handles were all dropped still gets its timeout status). The
/// client-gone callback holds a weak reference (the AsyncResponse it sits in is ours).
class AsyncContext : public std::enable_shared_from_this<AsyncContext>
{
public:
    /// During service() on the thread running it: suspends the exchange (it parks when
    /// service() returns; no thread is held) and arms `timeout` (zero: none, then only the
    /// client leaving or the drain at shutdown end it). `timeoutStatus` is what an
    /// unanswered request gets when the timeout passes (Tomcat answers 500; 503 says "try
    /// again" to a long poll). Copy what the async work needs from the request before
    /// returning: after service() returns the request belongs to the connector again.
    static std::shared_ptr<AsyncContext> start(Request& request, Response& response,
                                               std::chrono::milliseconds timeout,
                                               std::shared_ptr<AsyncListener> listener = nullptr,
                                               int timeoutStatus = 503);

    /// As http::AsyncResponse (status and headers until the head is out), and false once
    /// complete() went through: the loop may not have sent the head yet, but the response is
    /// final (a header set then would still reach the client, or not, by timing).
    bool setStatus(int status) { return !completed() && _response->setStatus(status); }
    bool setHeader(std::string_view name, std::string_view value)
    {
        return !completed() && _response->setHeader(name, value);
    }
    http::WriteStatus write(std::string_view bytes);
    /// Once: ends the response. False if it had already ended (complete, client gone).
    bool complete();
    size_t bufferedAmount() const { return _response->bufferedAmount(); }
    bool clientGone() const { return _response->clientGone(); }
    void setLimits(http::OutputLimits limits) { _response->setLimits(limits); }
    /// Runs on the loop thread once a write's Backpressure has drained (http::AsyncResponse).
    void onWritable(std::function<void()> callback) { _response->onWritable(std::move(callback)); }
    /// The exchange's loop: timers for heartbeats and the like are armed there.
    http::Loop& loop() const noexcept { return _loop; }
    /// True once anything was written (the head is out or queued).
    bool started() const;
    /// True once complete() went through (by the app, or by the timeout).
    bool completed() const;

private:
    AsyncContext(std::shared_ptr<http::AsyncResponse> response, http::Loop& loop,
                 std::shared_ptr<AsyncListener> listener, int timeoutStatus)
        : _response(std::move(response)), _loop(loop), _listener(std::move(listener)),
          _timeoutStatus(timeoutStatus)
    {}
    void arm(std::chrono::milliseconds timeout);
    void onTimeout() noexcept;

    const std::shared_ptr<http::AsyncResponse> _response;
    http::Loop& _loop;
    const std::shared_ptr<AsyncListener> _listener;
    const int _timeoutStatus;
    mutable std::mutex _mutex;
    bool _completed = false;
    bool _written = false;
    http::TimerId _timer; ///< the timeout, while armed (loop thread only)
};

} // namespace serval::core
