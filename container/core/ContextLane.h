#pragma once

#include "http/DispatchLane.h"

#include <atomic>
#include <cstdint>
#include <mutex>

namespace serval::core {

/// One application Context's bounded share of the Connector's shared worker pool (DESIGN
/// wave 2, section 3): at most `maxThreads` of its requests run at once, the others wait here
/// in arrival order. So an app whose code hangs holds at most its own share of the pool and
/// never the threads another app, or the manager (a lane of its own), needs.
///
/// How many may wait: by default, as many as come (kUnboundedQueue), as Tomcat's executor
/// queue: a waiting task is its connection's (linked through DispatchTask::laneNext, nothing
/// allocated), so the Connector's maxConnections already bounds the queue, and a burst of
/// requests that each park in a few microseconds (long polls: startAsync, then return, which
/// frees the thread) is served instead of refused. An explicit `<Context maxQueue>` still
/// caps it; beyond the cap the Connector answers 503 with Retry-After.
///
/// It has no threads: a request it admits goes to the task's shared pool
/// (DispatchTask::sharedLane()); when one of its requests ends on a worker, that same worker
/// runs the next waiting request of this lane (finished()), so the share is kept without a
/// second hand-off.
///
/// THREADS: submit()/cancel() on I/O threads, finished() on workers, stats from any thread;
/// one mutex guards the queue and the counts (held for a few instructions, never while a task
/// runs). OWNERSHIP: a member of its Context; every task in it belongs to a request that has
/// pinned the Context (Engine), so the lane outlives them.
class ContextLane final : public http::DispatchLane
{
public:
    /// No bound of the lane's own: the Connector's maxConnections bounds what can wait.
    static constexpr uint32_t kUnboundedQueue = UINT32_MAX;
    static constexpr uint32_t kDefaultMaxQueue = kUnboundedQueue;

    /// `maxThreads` 0: half of the shared pool the first request is dispatched to, at least 1.
    explicit ContextLane(uint32_t maxThreads = 0, uint32_t maxQueue = kDefaultMaxQueue) noexcept;
    ContextLane(const ContextLane&) = delete;
    ContextLane& operator=(const ContextLane&) = delete;

    // http::DispatchLane
    bool submit(http::DispatchTask& task) noexcept override;
    bool cancel(http::DispatchTask& task) noexcept override;
    http::DispatchTask* finished() noexcept override;
    /// The bound in effect (0 while it is still to be derived from the pool).
    uint32_t threads() const noexcept override { return _bound.load(std::memory_order_relaxed); }

    uint32_t maxQueue() const noexcept { return _maxQueue; }
    uint32_t running() const noexcept { return _runningSeen.load(std::memory_order_relaxed); }
    uint32_t queued() const noexcept { return _queuedSeen.load(std::memory_order_relaxed); }
    /// Requests refused because the lane (or the shared pool behind it) was full.
    uint64_t rejected() const noexcept { return _rejected.load(std::memory_order_relaxed); }

private:
    /// Under _mutex: copies the counts to the atomics the stats read.
    void publishCounts() noexcept;
    /// Under _mutex: unlinks and returns the first waiting task (or nullptr).
    http::DispatchTask* popFront() noexcept;

    std::mutex _mutex;
    const uint32_t _maxThreads;
    const uint32_t _maxQueue;
    std::atomic<uint32_t> _bound{0};
    uint32_t _running = 0; ///< guarded by _mutex: admitted and not finished
    uint32_t _queued = 0;  ///< guarded by _mutex: length of the list below
    http::DispatchTask* _head = nullptr;
    http::DispatchTask* _tail = nullptr;
    std::atomic<uint32_t> _runningSeen{0};
    std::atomic<uint32_t> _queuedSeen{0};
    std::atomic<uint64_t> _rejected{0};
};

} // namespace serval::core
