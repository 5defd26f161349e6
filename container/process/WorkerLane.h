#pragma once

#include "http/HttpRequest.h"
#include "process/LaneLoop.h"
#include "process/Messages.h"
#include "process/WorkerProcess.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace serval::process {

/// One worker of a group as the lanes see it: shared by the group (supervisor thread) and
/// every lane that holds one of its channels.
struct WorkerHandle
{
    uint32_t id = 0; ///< unique within its group, never reused
    std::shared_ptr<WorkerProcess> process;
    std::atomic<uint64_t> requests{0}; ///< sent to it by every lane (maxRequestsPerProcess)
};

/// Why a forwarded request did not get its response from the app.
struct StreamFailure
{
    int status = 502;        ///< 502 (the worker died), 503 (quarantined, restarting), 504 (requestTimeout)
    std::string crashId;     ///< the crash record naming what happened, "" if none
    uint32_t retryAfter = 0; ///< seconds, for 503
    std::string reason;      ///< one line for the page
};

/// The receiver of one forwarded request's response: the exchange that waits for it (the
/// server's forwarding backend), or a test. Each call happens on the lane's loop thread; after
/// a call with `endStream` or onStreamFailed() the stream is gone and its handle invalid.
class StreamOwner
{
public:
    virtual ~StreamOwner() = default;
    /// The head; `endStream`: there is no body. `head.contentLength` -1: length unknown.
    virtual void onResponseHead(const ResponseHead& head, bool endStream) noexcept = 0;
    /// Body bytes (valid during the call); `endStream` on the last. Call WorkerLane::consumed()
    /// once the bytes are written out (or buffered), so the worker may send more.
    virtual void onResponseBody(std::string_view bytes, bool endStream) noexcept = 0;
    /// No response (or no rest of one) will come. If the head was already delivered, the
    /// connection must be cut: the body is incomplete.
    virtual void onStreamFailed(const StreamFailure& failure) noexcept = 0;
    /// An upgraded stream (after reown()): the app's bytes for the client. `writeEnd`: they end
    /// one write() of the app's protocol handler (kWriteEnd). `endStream`: the app closed; the
    /// stream is gone after the call. Call WorkerLane::consumed() as for body bytes.
    virtual void onUpgradeBytes(std::string_view bytes, bool writeEnd, bool endStream) noexcept
    {
        (void)bytes;
        (void)writeEnd;
        (void)endStream;
    }
    /// An upgraded stream: the client's bytes that sendUpstream() held back reached the worker.
    virtual void onUpstreamDrained() noexcept {}
};

/// What a lane reports to its group. Implemented by WorkerGroup; any call may come from any
/// lane's loop thread.
class LaneEvents
{
public:
    virtual ~LaneEvents() = default;
    /// The lane has no stream left on worker `id` after retire(): the group may drain it.
    virtual void laneDrained(uint32_t workerId) noexcept = 0;
    /// The worker wrote something impossible into its ring: kill it (a crash with this reason).
    virtual void channelCorrupt(uint32_t workerId, const std::string& what) noexcept = 0;
    /// A request on the worker passed requestTimeout: it was answered 504 and cancelled; the
    /// worker captures the stuck thread's stack. The group records it and recycles the worker.
    virtual void requestTimedOut(uint32_t workerId, const std::string& requestLine) noexcept = 0;
    /// 0 = serving; otherwise the 503 a new request gets (quarantined) and its Retry-After.
    virtual uint32_t refusing(std::string& reason) const noexcept = 0;
    virtual void countReplay() noexcept = 0;
    virtual void countFailedByCrash() noexcept = 0;
    /// What keeps the lane alive until a task it posts to its own loop has run (the group's
    /// shared_ptr); null: the lane posts nothing and publishes each request at once.
    virtual std::shared_ptr<void> keepAlive() noexcept { return nullptr; }
};

/// A forwarded request inside a lane. OWNERSHIP: the lane's (a free list); the owner holds a
/// pointer as its handle until the stream ends.
struct ForwardedStream;

/// One server I/O loop's side of a worker group: the channels of every worker to this loop,
/// the requests in flight on them, and those waiting for a worker. Everything a worker writes
/// is checked here (the record types a response ring may carry, heads that decode, bodies
/// within the announced length and the granted window); the first violation marks the channel
/// corrupt and asks the group to kill the worker.
///
/// A request goes to the accepting worker with the fewest requests in flight on this loop: the
/// head record, then the body in records of at most kBodyChunk bytes within the stream's credit
/// (kStreamWindow, replenished by the worker's RequestCredit records). A full ring parks the
/// rest until the worker consumed (its eventfd-less wake-up: the lane's space flag).
///
/// When a worker dies (detach()) its streams that have no response head yet, are idempotent
/// (RFC 9110: GET, HEAD, OPTIONS, PUT, DELETE, TRACE) and were not replayed before are sent
/// again to another worker (or wait for the restarted one); the others fail with 502 and the
/// crash id. A stream that was replayed and dies again is a poison request: 502. A stream
/// whose app went async (AsyncStarted: a long poll, an event stream) has no requestTimeout and
/// is never replayed: the app has seen it and may have acted on it.
///
/// THREADS: the loop thread only (the group reaches it through LaneLoop::post()). No lock.
class WorkerLane
{
public:
    WorkerLane(LaneLoop& loop, LaneEvents& events, std::chrono::milliseconds requestTimeout);
    ~WorkerLane();
    WorkerLane(const WorkerLane&) = delete;
    WorkerLane& operator=(const WorkerLane&) = delete;

    /// Forwards `request` (which, with its body, must stay valid until the stream ends: the
    /// lane replays from it). Returns the handle, or nullptr after calling
    /// owner.onStreamFailed() at once (quarantined: 503).
    ForwardedStream* submit(StreamOwner& owner, const http::HttpRequest& request);
    /// The owner is gone (the client left): nothing more is delivered; the worker is told.
    void cancel(ForwardedStream* stream) noexcept;
    /// The server drains: the worker's handler of this upgraded stream says goodbye and ends it
    /// (CancelReason::GoingAway). The stream stays open until then.
    void goAway(ForwardedStream* stream) noexcept;
    /// The owner wrote `bytes` of the body it received: the worker may send that many more.
    void consumed(ForwardedStream* stream, uint32_t bytes) noexcept;
    /// The worker answered 101 to an upgrade: `owner` (the upgraded connection's handler) gets
    /// the stream's bytes from now on (onUpgradeBytes), with no requestTimeout and no replay.
    void reown(ForwardedStream* stream, StreamOwner& owner) noexcept;
    /// An upgraded stream: queues the client's `bytes` for the worker (RequestBody records
    /// within the worker's RequestCredit). False when more than kStreamWindow is held here:
    /// stop reading the client until onUpstreamDrained().
    bool sendUpstream(ForwardedStream* stream, std::string_view bytes);

    /// A worker whose channel to this loop is `channel` is ready: it gets requests from now on,
    /// starting with those waiting.
    void attach(std::shared_ptr<WorkerHandle> worker, Channel& channel);
    /// The worker is being recycled: no new requests; laneDrained() once its last one ends.
    void retire(uint32_t workerId);
    /// The worker is gone. `crash` names the crash record ("" for an expected exit). Reads what
    /// is still in its ring first, then replays or fails its streams.
    void detach(uint32_t workerId, const std::string& crashId);
    /// Fails streams past their deadline (504 and Cancel to the worker; 503 for those still
    /// waiting for a worker). Posted by the group a few times per second.
    void expire(std::chrono::steady_clock::time_point now);

    /// Fails the requests waiting for a worker (the group was quarantined or is stopping).
    void failWaiting(const StreamFailure& failure);

    size_t inFlight() const noexcept { return _inFlight; }
    size_t waiting() const noexcept { return _waiting.size(); }

    /// One worker's channel to this loop (WorkerLane.cpp).
    struct Slot;

private:
    void onReadable(Slot& slot);
    bool onRecord(Slot& slot, const RecordHeader& header, const std::string& payload);
    /// Writes what `slot` has to send; `coalesce`: a request placed from a connection's
    /// callback, published once the loop's current batch of events is done (deferPublish).
    void pump(Slot& slot, bool coalesce = false);
    /// Publishes `slot` from a task posted to the lane's loop: every request the loop places in
    /// one iteration reaches the worker with one wake-up, and the worker serves them in one turn
    /// (on a shared core, a wake-up per request costs two context switches). False if it cannot.
    bool deferPublish(Slot& slot);
    void flushPublishes() noexcept;
    bool send(Slot& slot, ForwardedStream& stream);
    bool sendUpstreamRecords(Slot& slot, ForwardedStream& stream);
    static bool hasWork(const ForwardedStream& stream) noexcept;
    void place(ForwardedStream& stream);
    Slot* choose();
    void finish(ForwardedStream& stream);
    void fail(ForwardedStream& stream, const StreamFailure& failure);
    void corrupt(Slot& slot, const std::string& what);
    void flushCredits(Slot& slot);
    void leaveSlot(ForwardedStream& stream);
    void sendCancel(Slot& slot, uint32_t id, CancelReason reason);
    Slot* findSlot(uint32_t workerId);
    ForwardedStream* allocate();
    void recycle(ForwardedStream* stream) noexcept;

    LaneLoop& _loop;
    LaneEvents& _events;
    std::chrono::milliseconds _requestTimeout;
    std::vector<std::unique_ptr<Slot>> _slots;
    std::deque<ForwardedStream*> _waiting; ///< no worker accepting yet (restart) or replay pending
    std::vector<std::unique_ptr<ForwardedStream>> _free;
    std::vector<ForwardedStream*> _all; ///< every live stream (expire() walks them)
    size_t _inFlight = 0;
    size_t _next = 0;          ///< round-robin start among equally loaded slots
    bool _flushPosted = false; ///< flushPublishes() is posted and has not run yet
    ResponseHead _spareHead;   ///< onRecord() decodes response heads into it (its strings reused)
    std::string _payload;
    std::string _scratch;
};

} // namespace serval::process
