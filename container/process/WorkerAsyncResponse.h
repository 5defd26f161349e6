#pragma once

#include "http/AsyncResponse.h"
#include "http/Header.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace serval::process {

class WorkerService;
class WorkerStream;
class WorkerLoop;

/// An isolated app's async response (http::AsyncResponse in the worker): what the app writes
/// from any thread is queued here and sent on the worker's loop as the stream's response
/// records (the head, then body records within the stream's credit, the end), the same
/// records a buffered or flushed response uses, so the server forwards it like any streamed
/// response. The limits are the connector's: Backpressure above the high-water mark (counted
/// as bytes queued here plus bytes the server has not yet written to the client), Dropped past
/// the hard cap, which also cuts the client's connection (RecordType::ResponseAbort).
///
/// The worker told the server at startAsync() (RecordType::AsyncStarted): the server's
/// requestTimeout no longer applies and a crash fails the request (502) instead of replaying it.
///
/// THREADS: the AsyncResponse calls from any thread (one mutex); callbacks on the worker's loop
/// thread, never under the mutex. serviceReturned() on the request thread; creditArrived() and
/// cancelled() on the channel thread.
/// OWNERSHIP: shared by the stream and the app's handles; the stream ends (released on the
/// loop thread) when the response is complete or the client is gone, and this object forgets
/// it then (later calls are harmless: Dropped / false).
class WorkerAsyncResponse final : public http::AsyncResponse,
                                  public std::enable_shared_from_this<WorkerAsyncResponse>
{
public:
    WorkerAsyncResponse(WorkerService& service, WorkerStream& stream, WorkerLoop& loop) noexcept
        : _service(service), _stream(&stream), _loop(loop)
    {}

    bool setStatus(int status) override;
    bool setHeader(std::string_view name, std::string_view value) override;
    bool addHeader(std::string_view name, std::string_view value) override;
    http::WriteStatus write(std::string_view bytes) override;
    bool complete() override;
    size_t bufferedAmount() const override;
    void setLimits(http::OutputLimits limits) override;
    bool clientGone() const override;
    void onClientGone(std::function<void()> callback) override;
    void onWritable(std::function<void()> callback) override;

    /// The request thread, once service() returned: the exchange is the loop's now; what
    /// service() left in the response body goes first.
    void serviceReturned() noexcept;
    /// ExchangeControl::resume(): the response is what the exchange holds.
    void completeFromExchange() noexcept;
    /// The channel thread: the server granted `bytes` more (it wrote that many to the client).
    void creditArrived(uint32_t bytes) noexcept;
    /// The channel thread: the server cancelled the stream (the client left).
    void cancelled() noexcept;

private:
    struct HeaderChange
    {
        std::string name;
        std::string value;
        bool replace;
    };
    enum class Ending
    {
        None,
        Complete, ///< the response went out whole
        Gone      ///< the client left, or a write passed the hard cap
    };

    void scheduleLocked() noexcept;
    void pump() noexcept;
    /// Loop thread, under _mutex: writes what the credit and the ring allow.
    Ending pumpLocked() noexcept;
    void end(Ending ending) noexcept;
    size_t bufferedLocked() const noexcept { return _pending.size() - _offset + _inFlight; }

    WorkerService& _service;
    WorkerStream* _stream; ///< null once the stream ended
    WorkerLoop& _loop;
    mutable std::mutex _mutex;
    int _status = 0; ///< 0: as service() left it
    std::vector<HeaderChange> _headerChanges;
    std::string _pending; ///< body bytes not yet in the ring (from _offset)
    size_t _offset = 0;
    size_t _inFlight = 0; ///< in the ring or at the server, not yet granted back
    http::OutputLimits _limits;
    bool _serviceReturned = false;
    bool _headWanted = false; ///< write() was called (an empty one sends the head alone)
    bool _headSent = false;
    bool _completeQueued = false;
    bool _overflow = false;
    bool _gone = false;  ///< the exchange ended without complete()
    bool _ended = false; ///< the stream is released (or about to be)
    bool _posted = false;
    bool _retrying = false; ///< a retry timer is armed (the ring was full)
    bool _wantWritable = false;
    std::function<void()> _onGone;
    std::function<void()> _onWritable;
};

} // namespace serval::process
