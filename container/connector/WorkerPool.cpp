#include "connector/WorkerPool.h"

#include "connector/Connection.h"

#include <algorithm>

namespace serval::connector {

WorkerPool::WorkerPool(uint32_t threads, uint32_t queueCapacity)
    : _threadCount(std::max<uint32_t>(threads, 1)), _ring(std::max<uint32_t>(queueCapacity, 1), nullptr)
{}

WorkerPool::~WorkerPool()
{
    stop();
}

void WorkerPool::start()
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (!_threads.empty()) return;
    _stopping = false;
    for (uint32_t i = 0; i < _threadCount; ++i)
        _threads.emplace_back([this] { run(); });
}

void WorkerPool::stop()
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _stopping = true;
    }
    _ready.notify_all();
    for (std::thread& t : _threads)
        t.join();
    _threads.clear();
}

bool WorkerPool::submit(Connection* connection)
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_size == _ring.size() || _stopping) {
            _rejected.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        _ring[(_head + _size) % _ring.size()] = connection;
        ++_size;
        _queued.store(static_cast<uint32_t>(_size), std::memory_order_relaxed);
    }
    _ready.notify_one();
    return true;
}

void WorkerPool::run()
{
    for (;;) {
        Connection* connection;
        {
            std::unique_lock<std::mutex> lock(_mutex);
            _ready.wait(lock, [this] { return _size > 0 || _stopping; });
            if (_size == 0) return; // stopping and nothing left
            connection = _ring[_head];
            _head = (_head + 1) % _ring.size();
            --_size;
            _queued.store(static_cast<uint32_t>(_size), std::memory_order_relaxed);
            _busy.fetch_add(1, std::memory_order_relaxed);
        }
        connection->runOnWorker();
        _busy.fetch_sub(1, std::memory_order_relaxed);
    }
}

} // namespace serval::connector
