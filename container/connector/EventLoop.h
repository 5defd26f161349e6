#pragma once

#include "config/ConnectorConfig.h"
#include "connector/ExchangeSlot.h"
#include "http/HttpHandler.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
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
    const ConnectorConfig& config;
    http::HttpHandler& handler;
    WorkerPool& workers;
    std::string localAddress; ///< bound address, or empty when bound to a wildcard
    uint16_t localPort;
    std::atomic<uint32_t> openConnections{0};
    std::atomic<uint64_t> workerBytesOut{0}; ///< written by workers while streaming
};

/// One epoll event-loop thread: accepts from its own listening socket, owns its
/// connections, runs Inline handlers, checks deadlines a few times per second, and takes
/// connections back from workers through a queue and an eventfd.
///
/// THREADS: everything runs on the loop's thread except handBack() and requestStop(), which
/// any thread may call. A connection is touched only by its loop, or by one worker while it is
/// dispatched (the loop then records its epoll events and nothing else).
class EventLoop
{
public:
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

    /// Worker thread: the worker is done with `connection`; the loop resumes it.
    void handBack(Connection* connection);

    const LoopCounters& counters() const noexcept { return _counters; }

    // For Connection (loop thread only).
    LoopShared& shared() noexcept { return _shared; }
    LoopCounters& counters() noexcept { return _counters; }
    uint64_t now() const noexcept { return _now; } ///< CLOCK_MONOTONIC_COARSE of this iteration
    bool draining() const noexcept { return _draining.load(std::memory_order_relaxed); } ///< any thread
    char* readBuffer() noexcept { return _readBuffer.data(); }
    size_t readBufferSize() const noexcept { return _readBuffer.size(); }
    ExchangeSlot* acquireSlot();
    void releaseSlot(ExchangeSlot* slot) noexcept;
    /// Removes the connection from the live set; its memory is reused after this iteration.
    void retire(Connection* connection) noexcept;

private:
    void run();
    void onAccept();
    void onWake();
    void beginDrain();
    void checkDeadlines();
    void freeRetired() noexcept;

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
    uint64_t _nextTick = 0;
    uint64_t _nextFdWarning = 0;
    std::atomic<bool> _draining{false};
    uint64_t _drainDeadline = 0;

    std::vector<char> _readBuffer;
    std::vector<Connection*> _live; ///< owned; Connection::_liveIndex is its position
    std::vector<Connection*> _retired;
    std::vector<std::unique_ptr<Connection>> _freeConnections;
    std::vector<std::unique_ptr<ExchangeSlot>> _freeSlots;

    std::mutex _handBackMutex;
    std::vector<Connection*> _handedBack;   ///< guarded by _handBackMutex
    std::vector<Connection*> _handBackWork; ///< loop thread's swap partner
    std::atomic<bool> _stopRequested{false};
    std::atomic<uint64_t> _stopDeadline{0};

    LoopCounters _counters;
};

/// CLOCK_MONOTONIC_COARSE in nanoseconds (a few ms resolution; cheap).
uint64_t coarseNowNanos() noexcept;
/// CLOCK_MONOTONIC in nanoseconds.
uint64_t monotonicNowNanos() noexcept;

} // namespace serval::connector
