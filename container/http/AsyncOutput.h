#pragma once

#include "http/AsyncResponse.h"
#include "http/Header.h"
#include "http/HttpResponse.h"
#include "http/Loop.h"

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace serval::http {

/// Who an AsyncOutput wakes on its loop thread when something was queued: the HTTP/1.1
/// connection (connector::Connection) or an HTTP/2 stream (http2::Http2Stream).
/// OWNERSHIP: the owner outlives its AsyncOutput's attachment (it detach()es before it goes).
class AsyncOwner
{
public:
    /// Loop thread: a write or complete() was queued (the AsyncOutput's posted task ran).
    virtual void onAsyncReady() noexcept = 0;

protected:
    ~AsyncOwner() = default;
};

/// The connector's http::AsyncResponse (HTTP/1.1 and HTTP/2 alike): an any-thread queue in front of one
/// suspended exchange. Writers append under the mutex and post this object (a LoopTask, at most once in the
/// queue) to the connection's loop; the loop moves what is queued into the exchange's response (take()) and
/// writes it while the connection is parked.
///
/// OWNERSHIP: shared (enable_shared_from_this): the owner (Connection or Http2Stream) holds one reference
/// until the exchange ends (detach()), the application the others, and a posted task holds one while it waits
/// in the loop's queue, so the object lives until the last of them lets go. THREADS: the AsyncResponse calls
/// from any thread; take(), progress() and detach() on the loop thread only, by the owner. `_connection` is
/// read under the mutex and cleared only on the loop thread, so a posted task never reaches a connection that
/// moved on.
class AsyncOutput final : public http::AsyncResponse,
                          public http::LoopTask,
                          public std::enable_shared_from_this<AsyncOutput>
{
public:
    AsyncOutput(AsyncOwner& owner, http::Loop& loop) noexcept : _connection(&owner), _loop(loop) {}

    // http::AsyncResponse
    bool setStatus(int status) override;
    bool setHeader(std::string_view name, std::string_view value) override;
    bool addHeader(std::string_view name, std::string_view value) override;
    http::WriteStatus write(std::string_view bytes) override;
    void expectLength(uint64_t length) noexcept override;
    bool complete() override;
    size_t bufferedAmount() const override;
    void setLimits(http::OutputLimits limits) override;
    bool clientGone() const override;
    void onClientGone(std::function<void()> callback) override;
    void onWritable(std::function<void()> callback) override;

    // http::LoopTask: a write or complete() woke the loop.
    void run() noexcept override;

    /// What take() found.
    enum class Take
    {
        Nothing,  ///< nothing new
        Send,     ///< head changes and/or body bytes are in the response: flush it
        Complete, ///< as Send, and the response is complete: finish it
        Overflow  ///< a write passed the hard cap: close the connection
    };
    /// Loop thread, exchange parked: applies the queued head changes to `response` and appends
    /// the queued body bytes to its body.
    Take take(http::HttpResponse& response);
    /// Loop thread: `unwritten` bytes of output wait for the socket; may call onWritable.
    void progress(size_t unwritten);
    /// Loop thread, once: the exchange ended. `completed`: after complete(); otherwise the
    /// client-gone callback runs (here, synchronously). Both callbacks are dropped (they may
    /// hold references to this object).
    void detach(bool completed);

private:
    struct HeaderChange
    {
        bool replace;
        http::Header header;
    };

    /// With the mutex held: posts this object to the loop unless already posted.
    void schedule();

    mutable std::mutex _mutex;
    AsyncOwner* _connection; ///< nullptr once detached
    http::Loop& _loop;
    bool _posted = false;
    std::shared_ptr<AsyncOutput> _postedSelf; ///< keeps this alive while posted
    http::OutputLimits _limits;
    size_t _buffered = 0;         ///< bytes in _queued plus unwritten output (progress())
    std::string _queued;          ///< body bytes not yet taken by the loop
    int _status = 0;              ///< 0 = as service() left it
    int64_t _expectedLength = -1; ///< expectLength(): the head carries it, -1 = chunked
    std::vector<HeaderChange> _headerChanges;
    bool _send = false;     ///< something to take (bytes or a head to send)
    bool _headSent = false; ///< a take() sent (or will send) the head: no more head changes
    bool _completeRequested = false;
    bool _overflow = false;
    bool _wantWritable = false; ///< a write returned Backpressure
    bool _ended = false;
    bool _gone = false;
    std::function<void()> _goneCallback;
    std::function<void()> _writableCallback;
};

} // namespace serval::http
