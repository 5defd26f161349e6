#pragma once

#include "http/DispatchLane.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace serval::connector {

/// A bounded pool of threads that run dispatched exchanges: the Connector's shared pool (every
/// Worker exchange without a lane of its own), and, created by startup, the manager's lane.
///
/// THREADS: submit()/cancel() from any event loop; the workers run http::DispatchTask
/// (Connection::runOnWorker(), which hands the connection back to its loop and may return the
/// next task of its lane: the same thread runs it). start()/stop() by one controlling thread.
/// The queue is a fixed ring (no allocation per request); a full queue refuses (-> 503).
/// OWNERSHIP: owned by its creator; after a stop() that left threads behind it must never be
/// destroyed (they still use it): see stop().
class WorkerPool final : public http::DispatchLane
{
public:
    /// `name`: the threads' name prefix ("serval-worker", "serval-admin"), at most 12 characters.
    WorkerPool(uint32_t threads, uint32_t queueCapacity, std::string name = "serval-worker");
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    void start();
    /// Runs what is queued, then ends the threads: waits for them until `deadlineNanos`
    /// (CLOCK_MONOTONIC_COARSE; 0 = for ever) and lets go of those still running a task then
    /// (detached). Returns how many were left behind; if any, the pool must be leaked.
    uint32_t stop(uint64_t deadlineNanos = 0);

    // http::DispatchLane
    bool submit(http::DispatchTask& task) noexcept override;
    bool cancel(http::DispatchTask& task) noexcept override;
    uint32_t threads() const noexcept override { return _threadCount; }

    uint32_t busy() const noexcept { return _busy.load(std::memory_order_relaxed); }
    uint32_t queued() const noexcept { return _queued.load(std::memory_order_relaxed); }
    uint64_t rejected() const noexcept { return _rejected.load(std::memory_order_relaxed); }

private:
    struct Worker
    {
        std::thread thread;
        bool done = false; ///< guarded by _mutex: run() has returned
    };

    void run(Worker& worker);

    uint32_t _threadCount;
    std::string _name;
    std::vector<http::DispatchTask*> _ring;
    size_t _head = 0;
    size_t _size = 0;
    bool _stopping = false;
    std::mutex _mutex;
    std::condition_variable _ready;
    std::condition_variable _exited;
    std::vector<std::unique_ptr<Worker>> _workers;
    std::atomic<uint32_t> _busy{0};
    std::atomic<uint32_t> _queued{0};
    std::atomic<uint64_t> _rejected{0};
};

} // namespace serval::connector
