#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace serval::connector {

class Connection;

/// The bounded pool that runs HttpHandler::service() for Dispatch::Worker exchanges.
///
/// THREADS: submit() from any event loop; the workers call Connection::runOnWorker(), which
/// hands the connection back to its loop when done. start()/stop() by the Connector.
/// The queue is a fixed ring (no allocation per request); a full queue refuses (-> 503).
class WorkerPool
{
public:
    WorkerPool(uint32_t threads, uint32_t queueCapacity);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    void start();
    /// Runs what is queued, then joins. Called after the event loops have stopped.
    void stop();
    /// False if the queue is full (the caller answers 503).
    bool submit(Connection* connection);

    uint32_t threads() const noexcept { return _threadCount; }
    uint32_t busy() const noexcept { return _busy.load(std::memory_order_relaxed); }
    uint32_t queued() const noexcept { return _queued.load(std::memory_order_relaxed); }
    uint64_t rejected() const noexcept { return _rejected.load(std::memory_order_relaxed); }

private:
    void run();

    uint32_t _threadCount;
    std::vector<Connection*> _ring;
    size_t _head = 0;
    size_t _size = 0;
    bool _stopping = false;
    std::mutex _mutex;
    std::condition_variable _ready;
    std::vector<std::thread> _threads;
    std::atomic<uint32_t> _busy{0};
    std::atomic<uint32_t> _queued{0};
    std::atomic<uint64_t> _rejected{0};
};

} // namespace serval::connector
