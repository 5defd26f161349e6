#include "process/IsolatedApplication.h"

#include "core/ErrorPage.h"

#include <condition_variable>
#include <mutex>
#include <stdexcept>

namespace serval::process {
namespace {

/// The response of one forwarded request, filled on the lane's loop while the connector's
/// worker thread waits for it (forward()).
class WaitingOwner final : public StreamOwner
{
public:
    WaitingOwner(http::HttpExchange& exchange, WorkerLane& lane) noexcept : _exchange(exchange), _lane(lane)
    {}

    void onResponseHead(const ResponseHead& head, bool endStream) noexcept override
    {
        http::HttpResponse& response = _exchange.response;
        try {
            response.setStatus(head.status);
            for (const http::Header& header : head.headers)
                response.addHeader(header.name, header.value);
            if (_exchange.request.isHead() && head.contentLength >= 0)
                response.setContentLength(head.contentLength);
            if (head.closeConnection) response.setCloseConnection(true);
        } catch (...) {
            response.setCloseConnection(true);
        }
        if (endStream) finish();
    }
    void onResponseBody(std::string_view bytes, bool endStream) noexcept override
    {
        try {
            _exchange.response.write(bytes);
        } catch (...) {
            _exchange.response.setCloseConnection(true);
        }
        // Buffered whole (as an in-process app's response is): the worker may go on at once.
        if (!endStream) _lane.consumed(stream, static_cast<uint32_t>(bytes.size()));
        if (endStream) finish();
    }
    void onStreamFailed(const StreamFailure& failure) noexcept override
    {
        // Nothing was sent to the client yet (the response is buffered here): the whole answer
        // becomes the container's page.
        _exchange.response.reset();
        IsolatedApplication::writeFailure(_exchange.response, failure);
        finish();
    }

    /// Loop thread, by the task that submitted the request, as its last touch of this object.
    void submitted(ForwardedStream* handle) noexcept
    {
        std::lock_guard<std::mutex> lock(_mutex);
        stream = handle;
        _submitted = true;
        _done.notify_one();
    }
    /// Worker thread: until the response is complete and the submitting task let go.
    void wait()
    {
        std::unique_lock<std::mutex> lock(_mutex);
        _done.wait(lock, [this] { return _finished && _submitted; });
    }

    ForwardedStream* stream = nullptr; ///< the lane's handle (loop thread)

private:
    void finish() noexcept
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _finished = true;
        _done.notify_one();
    }

    http::HttpExchange& _exchange;
    WorkerLane& _lane;
    std::mutex _mutex;
    std::condition_variable _done;
    bool _finished = false;
    bool _submitted = false;
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

void IsolatedApplication::forward(http::HttpExchange& exchange) noexcept
{
    WorkerLane& lane = _group->lane(0);
    WaitingOwner owner(exchange, lane);
    // The lane belongs to its loop: submit there, then wait for the owner to be told the end.
    _loop.post([&lane, &owner, &exchange] { owner.submitted(lane.submit(owner, exchange.request)); });
    owner.wait();
}

} // namespace serval::process
