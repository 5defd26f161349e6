#pragma once

#include "config/ConnectorConfig.h"
#include "connector/DrainReport.h"
#include "connector/ExchangeSlot.h"
#include "connector/Transport.h"
#include "http/HttpHandler.h"
#include "http/Loop.h"
#include "http/MemoryBudget.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

namespace serval::connector {

using config::ConnectorConfig;

class Connection;
class WorkerPool;

/// Counters one event loop writes (single writer: plain load+store, no locked instructions on
/// the hot path) and any thread reads.
struct alignas(64) LoopCounters
{
    std::atomic<uint64_t> accepted{0};
    std::atomic<uint64_t> refused{0};
    std::atomic<uint64_t> closed{0};
    std::atomic<uint64_t> requests{0};
    std::atomic<uint64_t> bytesIn{0};
    std::atomic<uint64_t> bytesOut{0};

    static void bump(std::atomic<uint64_t>& counter, uint64_t by = 1) noexcept
    {
        counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
    }
};

/// What the Connector shares with all of its loops.
struct LoopShared
{
    const ConnectorConfig config; ///< a copy: it must outlive the Connector after a hard stop
    http::HttpHandler& handler;
    WorkerPool& workers;
    std::string localAddress; ///< bound address, or empty when bound to a wildcard
    uint16_t localPort;
    /// Connector::setTransportFactory(): set before the loops start, read-only after.
    std::function<std::unique_ptr<Transport>(int fd)> transportFactory = {};
    /// Connector::setLoopStartHook(): each loop thread runs it before its first accept.
    std::function<void(http::Loop&)> loopStartHook = {};
    std::atomic<uint32_t> openConnections{0};
    std::atomic<uint64_t> workerBytesOut{0};                   ///< written by workers while streaming
    std::atomic<bool> stopping{false};                         ///< Connector::stop() has begun
    http::MemoryBudget bodyBudget{config.maxBufferedBodySize}; ///< request bodies held, all loops
};

/// One epoll event-loop thread: accepts from its own listening socket, owns its
/// connections, runs Inline handlers, checks deadlines a few times per second, runs posted
/// tasks (a worker handing a connection back is one), and offers the http::Loop services
/// (watches, timers) to the rooms above.
///
/// THREADS: everything runs on the loop's thread except post(), index(), isLoopThread() and
/// requestStop(), which any thread may call. A connection is touched only by its loop, or by
/// one worker while it is dispatched (the loop then records its epoll events and nothing else).
/// OWNERSHIP: owned by its Connector; owns its connections, exchange slots, watches and timers.
class EventLoop final : public http::Loop
{
public:
    /// `index` is the server-wide http::Loop::index().
    EventLoop(LoopShared& shared, unsigned index, int listenFd);
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    /// Creates the epoll set and starts the thread. Throws std::runtime_error on failure.
    void start();
    /// Any thread: stop accepting, close idle connections, let the rest finish until
    /// `drainDeadlineNanos` (CLOCK_MONOTONIC), then close everything and end the thread.
    void requestStop(uint64_t drainDeadlineNanos);
    void join();
    /// join() until `deadlineNanos` (CLOCK_MONOTONIC_COARSE). False: the thread did not end (a
    /// handler on it never returned); it is detached and this loop must be leaked.
    bool joinUntil(uint64_t deadlineNanos);
    /// After the thread ended: the exchanges that were still running on workers at the drain
    /// deadline (their connections are abandoned, not closed).
    const std::vector<UnfinishedExchange>& unfinished() const noexcept { return _unfinished; }

    // http::Loop
    unsigned index() const noexcept override { return _index; }
    bool isLoopThread() const noexcept override;
    bool post(http::LoopTask& task) noexcept override;
    bool post(Callback callback) override;
    http::WatchId watch(int fd, uint32_t epollEvents, WatchCallback callback) override;
    bool setWatchEvents(http::WatchId id, uint32_t epollEvents) noexcept override;
    void unwatch(http::WatchId id) noexcept override;
    http::TimerId addTimer(uint64_t deadlineNanos, Callback callback) override;
    bool cancelTimer(http::TimerId id) noexcept override;
    uint64_t now() const noexcept override { return _now; } ///< CLOCK_MONOTONIC_COARSE of this iteration

    const LoopCounters& counters() const noexcept { return _counters; }

    // For Connection (loop thread only).
    LoopShared& shared() noexcept { return _shared; }
    LoopCounters& counters() noexcept { return _counters; }
    /// Any thread: the Connector is stopping (set before the listeners close, so a response a
    /// worker writes after that already says `Connection: close`).
    bool draining() const noexcept { return _shared.stopping.load(std::memory_order_relaxed); }
    /// Draining and past the drain deadline: whatever is left is closed.
    bool pastDrainDeadline() const noexcept { return _draining && _now >= _drainDeadline; }
    char* readBuffer() noexcept { return _readBuffer.data(); }
    size_t readBufferSize() const noexcept { return _readBuffer.size(); }
    ExchangeSlot* acquireSlot();
    void releaseSlot(ExchangeSlot* slot) noexcept;
    /// Removes the connection from the live set; its memory is reused after this iteration.
    void retire(Connection* connection) noexcept;

private:
    struct Watch
    {
        int fd;
        WatchCallback callback;
        bool dead = false;
    };

    void run();
    void onAccept();
    void onWake();
    /// Runs every posted task, oldest first. `close`: and refuse posts from now on.
    void runPosted(bool close) noexcept;
    void runTimers() noexcept;
    void beginDrain();
    void checkDeadlines();
    /// Past the drain deadline, with only running exchanges left: lists and abandons them.
    void abandonRunning() noexcept;
    void freeRetired() noexcept;
    /// Timers due, and every `_tickNanos` the connection deadlines; sets _nextWake.
    void onTick() noexcept;

    LoopShared& _shared;
    unsigned _index;
    int _listenFd; ///< this loop's listening socket (owned by the Connector)
    int _epollFd = -1;
    int _wakeFd = -1;
    int _spareFd = -1; ///< released to accept-and-close when out of descriptors
    bool _listening = false;
    std::thread _thread;
    uint64_t _now = 0;
    uint64_t _tickNanos = 0;
    uint64_t _nextTick = 0; ///< next connection-deadline check
    uint64_t _nextWake = 0; ///< min(_nextTick, first timer): when the loop must look again
    uint64_t _nextFdWarning = 0;
    std::atomic<bool> _draining{false};
    uint64_t _drainDeadline = 0;

    std::vector<char> _readBuffer;
    std::vector<Connection*> _live; ///< owned; Connection::_liveIndex is its position
    std::vector<Connection*> _retired;
    std::vector<std::unique_ptr<Connection>> _freeConnections;
    std::vector<std::unique_ptr<ExchangeSlot>> _freeSlots;

    /// Posted tasks: a lock-free LIFO of LoopTask::loopNext links that the loop takes whole
    /// and reverses (so no ABA: nobody pops single nodes). kClosedQueue once the loop ended.
    std::atomic<http::LoopTask*> _posted{nullptr};
    std::vector<http::LoopTask*> _postedWork; ///< loop thread: the batch being run

    std::unordered_set<Watch*> _watches; ///< owned: live watches
    std::vector<Watch*> _deadWatches; ///< owned: unwatched, freed after the iteration that may still see them
    /// Timers by (deadline, sequence): the first entry is the next to fire.
    std::map<std::pair<uint64_t, uint64_t>, Callback> _timers;
    uint64_t _timerSequence = 0;

    std::atomic<bool> _stopRequested{false};
    std::atomic<uint64_t> _stopDeadline{0};

    std::vector<UnfinishedExchange> _unfinished;
    bool _abandoned = false; ///< loop thread: abandonRunning() ran, the loop ends
    std::mutex _exitMutex;
    std::condition_variable _exitCondition;
    bool _exited = false; ///< guarded by _exitMutex: run() has returned

    LoopCounters _counters;
};

/// CLOCK_MONOTONIC_COARSE in nanoseconds (a few ms resolution; cheap).
uint64_t coarseNowNanos() noexcept;
/// CLOCK_MONOTONIC in nanoseconds.
uint64_t monotonicNowNanos() noexcept;

} // namespace serval::connector
