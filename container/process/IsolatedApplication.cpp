#include "process/IsolatedApplication.h"

#include "core/ErrorPage.h"

#include <stdexcept>

namespace serval::process {
namespace {

/// One forwarded exchange, from forward() until the Engine ends it: it receives what the
/// worker answers (StreamOwner) and hands it to the connector. Everything runs on the
/// exchange's loop thread: no lock.
///
/// A GET, POST ... answers through the exchange's AsyncResponse (startAsync()), so a response
/// the app flushes is streamed as it arrives and a whole one still leaves with a
/// Content-Length (the connector coalesces a write followed by complete()). A HEAD is only
/// suspended: the response is filled in here (with the length the GET would have) and resumed
/// from a posted task, never from inside the lane's read of its ring.
///
/// OWNERSHIP: deletes itself once ended() was called and no task of its own is posted.
class ForwardedExchange final : public StreamOwner, public core::RemoteExchange, public http::LoopTask
{
public:
    ForwardedExchange(std::shared_ptr<WorkerGroup> group, WorkerLane& lane,
                      http::HttpExchange& exchange) noexcept
        : _group(std::move(group)), _lane(lane), _exchange(exchange)
    {}

    /// In Engine::service (loop thread). A refusal (quarantined) is answered from inside.
    void start()
    {
        if (_exchange.request.isHead()) {
            _exchange.control->suspend();
        } else {
            _async = _exchange.control->startAsync();
        }
        _live = true;
        ForwardedStream* stream = _lane.submit(*this, _exchange.request);
        if (_live) _stream = stream; // else onStreamFailed() came first (quarantined)
    }

    void onResponseHead(const ResponseHead& head, bool endStream) noexcept override
    {
        _headDelivered = true;
        if (endStream) _live = false;
        if (_async) {
            _async->setStatus(head.status);
            for (const http::Header& header : head.headers)
                _async->addHeader(header.name, header.value);
            if (endStream)
                _async->complete();
            else if (head.contentLength < 0) {
                _streamed = true;
                _async->write({}); // the app flushed: the head goes now, the body follows chunked
            }
            return;
        }
        http::HttpResponse& response = _exchange.response;
        try {
            response.setStatus(head.status);
            for (const http::Header& header : head.headers)
                response.addHeader(header.name, header.value);
            if (head.contentLength >= 0) response.setContentLength(head.contentLength);
            if (head.closeConnection) response.setCloseConnection(true);
        } catch (...) {
            response.setCloseConnection(true);
        }
        if (endStream) resumeSoon();
    }

    void onResponseBody(std::string_view bytes, bool endStream) noexcept override
    {
        if (endStream) _live = false;
        if (!_async) {
            try {
                _exchange.response.write(bytes);
            } catch (...) {
                _exchange.response.setCloseConnection(true);
            }
            if (endStream)
                resumeSoon();
            else
                _lane.consumed(_stream, static_cast<uint32_t>(bytes.size()));
            return;
        }
        http::WriteStatus written = _async->write(bytes);
        if (endStream) {
            // A streamed response stays streamed: complete() from a task posted after the
            // connector's own, or it would coalesce what is queued into one Content-Length reply.
            if (_streamed)
                postSelf();
            else
                _async->complete();
            return;
        }
        if (written == http::WriteStatus::Ok) {
            _lane.consumed(_stream, static_cast<uint32_t>(bytes.size()));
        } else if (written == http::WriteStatus::Backpressure) {
            // A slow client: the worker gets more credit only once the socket took half.
            _owed += static_cast<uint32_t>(bytes.size());
            _async->onWritable([this] {
                if (_live && _owed > 0) _lane.consumed(_stream, _owed);
                _owed = 0;
            });
        } // Dropped: the connection closes; ended() cancels the stream
    }

    void onStreamFailed(const StreamFailure& failure) noexcept override
    {
        _live = false;
        _stream = nullptr;
        try {
            if (!_async) {
                _exchange.response.reset();
                IsolatedApplication::writeFailure(_exchange.response, failure);
                resumeSoon();
                return;
            }
            if (_headDelivered) {
                // Part of the app's response may be out: only a cut connection tells the client
                // that the body is incomplete. A write past a zero cap is how AsyncResponse
                // closes it.
                _async->setLimits(http::OutputLimits{0, 0});
                _async->write("x");
                return;
            }
            http::HttpResponse page;
            IsolatedApplication::writeFailure(page, failure);
            _async->setStatus(page.status());
            for (const http::Header& header : page.headers())
                _async->setHeader(header.name, header.value);
            _async->write(page.body());
            _async->complete();
        } catch (...) {
            if (_async) _async->complete(); // std::bad_alloc: an empty answer rather than none
        }
    }

    void ended() noexcept override
    {
        _ended = true;
        if (_live) { // the client left first: the worker may stop
            _live = false;
            _lane.cancel(_stream);
            _stream = nullptr;
        }
        if (!_posted) delete this;
    }

    void run() noexcept override
    {
        _posted = false;
        if (_ended) {
            delete this;
            return;
        }
        if (_async)
            _async->complete();
        else
            _exchange.control->resume();
    }

private:
    /// HEAD only: resume from a task of its own, so the connector does not finish the exchange
    /// (and start the next pipelined one) inside the lane's read of its ring.
    void resumeSoon() noexcept { postSelf(); }
    /// run() on the loop, after what is posted already.
    void postSelf() noexcept
    {
        if (_posted) return;
        _posted = true;
        if (!_exchange.loop->post(*this)) _posted = false; // the loop has ended, and the exchange with it
    }

    std::shared_ptr<WorkerGroup> _group; ///< keeps the lane alive
    WorkerLane& _lane;
    http::HttpExchange& _exchange;
    std::shared_ptr<http::AsyncResponse> _async;
    ForwardedStream* _stream = nullptr;
    bool _live = false;          ///< the lane still has the stream
    bool _headDelivered = false; ///< the app's head reached the AsyncResponse
    bool _streamed = false;      ///< the app flushed: its head went out before the body
    bool _posted = false;        ///< run() is queued on the loop
    bool _ended = false;         ///< the Engine is done with the exchange
    uint32_t _owed = 0;          ///< credit held back while the client is slow
};

} // namespace

IsolatedApplication::~IsolatedApplication()
{
    stop();
}

void IsolatedApplication::start()
{
    util::Outcome started = _group->start();
    if (!started) throw std::runtime_error(started.error());
}

void IsolatedApplication::stop() noexcept
{
    _group->stop();
}

void IsolatedApplication::writeFailure(http::HttpResponse& response, const StreamFailure& failure)
{
    std::string message = failure.reason;
    if (!failure.crashId.empty()) message += " Crash record: " + failure.crashId + ".";
    core::writeErrorPage(response, failure.status, message);
    if (!failure.crashId.empty()) response.setHeader("X-Serval-Crash-Id", failure.crashId);
    if (failure.retryAfter > 0) response.setHeader("Retry-After", std::to_string(failure.retryAfter));
}

core::RemoteExchange* IsolatedApplication::forward(http::HttpExchange& exchange) noexcept
{
    if (exchange.loop == nullptr || exchange.control == nullptr ||
        exchange.loop->index() >= _group->laneCount()) {
        // Only a Connector of this Server carries requests here (each loop has its lane).
        core::writeErrorPage(exchange.response, 500,
                             "This request did not come through a connector of the server.");
        return nullptr;
    }
    auto* forwarded = new ForwardedExchange(_group, _group->lane(exchange.loop->index()), exchange);
    try {
        forwarded->start();
    } catch (...) { // std::bad_alloc from startAsync() or the lane: answered like a refusal
        forwarded->onStreamFailed(StreamFailure{503, "", 1, "The server is out of memory."});
    }
    return forwarded;
}

} // namespace serval::process
