#pragma once

#include <cstdint>
#include <functional>

namespace serval::http {

/// A unit of work for a Loop that costs no allocation: the poster owns the object and keeps it
/// alive until run() has started, and posts it again only after that (it sits in one queue at a
/// time). Used by the connector itself (a worker hands a connection back, an AsyncResponse
/// wakes its connection) and by rooms that post often (the process manager's rings).
class LoopTask
{
public:
    /// On the loop thread, once per post().
    virtual void run() noexcept = 0;

    LoopTask* loopNext = nullptr; ///< the Loop's queue link while posted; never touched by the poster

protected:
    ~LoopTask() = default;
};

/// Opaque handle of a watched descriptor (Loop::watch). Zero = none.
struct WatchId
{
    uint64_t value = 0;
    explicit operator bool() const noexcept { return value != 0; }
};

/// Opaque handle of a timer (Loop::addTimer). Zero sequence = none.
struct TimerId
{
    uint64_t deadline = 0;
    uint64_t sequence = 0;
    explicit operator bool() const noexcept { return sequence != 0; }
};

/// The services of one connector I/O loop (an epoll thread), for rooms that must not include
/// the connector: core (async timeouts), process (per-loop shared-memory rings: watch the
/// response ring's eventfd), WebSocket and HTTP/2 (queued output from other threads).
/// Implemented by connector::EventLoop; every HttpExchange carries the Loop that owns its
/// connection (HttpExchange::loop).
///
/// THREADS: index(), post() and isLoopThread() from any thread; everything else on the loop
/// thread only (in a callback the loop runs: HttpHandler calls made on the I/O thread, a posted
/// task, a watch or timer callback). Callbacks run on the loop thread, must not block, and
/// must not throw (they are called from noexcept code: an escaping exception terminates).
/// LIFETIME: a Loop lives from Connector::start() until Connector::stop() returns. Tasks still
/// queued when the loop thread ends are run by it before it exits; after that post() refuses.
/// Watches and timers left at that point are dropped without a call.
class Loop
{
public:
    using Callback = std::function<void()>;
    using WatchCallback = std::function<void(uint32_t epollEvents)>;

    /// Dense and stable: 0..N-1 over every loop of every Connector of the Server (a Connector's
    /// loops take consecutive indices from the base the Server gives it), fixed from start()
    /// to stop(). For per-loop tables (Connector::loops() lists them).
    virtual unsigned index() const noexcept = 0;
    /// True on this loop's own thread.
    virtual bool isLoopThread() const noexcept = 0;

    /// Any thread: runs `task` on the loop thread soon, in posting order per poster. False if
    /// the loop has ended (then it will never run). Lock-free, no allocation.
    virtual bool post(LoopTask& task) noexcept = 0;
    /// Any thread: the same for a closure (allocates one node). False if the loop has ended
    /// (the closure is destroyed on the caller's thread, not called).
    virtual bool post(Callback callback) = 0;

    /// Loop thread: calls `callback(events)` on the loop thread whenever epoll reports
    /// `epollEvents` for `fd` (EPOLLIN, EPOLLOUT, EPOLLET ... as epoll_ctl takes them). The
    /// caller keeps owning `fd`, and unwatches before closing it. Returns {} with errno set if
    /// epoll refuses the descriptor.
    virtual WatchId watch(int fd, uint32_t epollEvents, WatchCallback callback) = 0;
    /// Loop thread: changes the events of a watch (EPOLL_CTL_MOD). False with errno on failure.
    virtual bool setWatchEvents(WatchId id, uint32_t epollEvents) noexcept = 0;
    /// Loop thread, once per watch: no call for it after this returns, not even for events
    /// already collected in the current iteration. Safe inside the watch's own callback.
    virtual void unwatch(WatchId id) noexcept = 0;

    /// Loop thread: calls `callback` once on the loop thread at or a little after
    /// `deadlineNanos` (CLOCK_MONOTONIC; resolution a few milliseconds). Timers with the same
    /// deadline fire in the order they were added.
    virtual TimerId addTimer(uint64_t deadlineNanos, Callback callback) = 0;
    /// Loop thread: true if the timer had not fired yet (it never will now).
    virtual bool cancelTimer(TimerId id) noexcept = 0;
    /// Loop thread: the loop's clock (CLOCK_MONOTONIC_COARSE ns), read once per iteration.
    virtual uint64_t now() const noexcept = 0;

protected:
    ~Loop() = default;
};

} // namespace serval::http
