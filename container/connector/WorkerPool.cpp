#include "connector/WorkerPool.h"

#include "connector/EventLoop.h"
#include "connector/Graveyard.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <pthread.h>

namespace serval::connector {

WorkerPool::WorkerPool(uint32_t threads, uint32_t queueCapacity, std::string name)
    : _threadCount(std::max<uint32_t>(threads, 1)), _name(std::move(name)),
      _ring(std::max<uint32_t>(queueCapacity, 1), nullptr)
{}

WorkerPool::~WorkerPool()
{
    stop();
}

void WorkerPool::start()
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (!_workers.empty()) return;
    _stopping = false;
    for (uint32_t i = 0; i < _threadCount; ++i) {
        auto worker = std::make_unique<Worker>();
        Worker& w = *worker;
        w.thread = std::thread([this, &w, i] {
            char name[16];
            std::snprintf(name, sizeof name, "%.12s-%u", _name.c_str(), i);
            ::pthread_setname_np(::pthread_self(), name);
            run(w);
        });
        _workers.push_back(std::move(worker));
    }
}

uint32_t WorkerPool::stop(uint64_t deadlineNanos)
{
    std::unique_lock<std::mutex> lock(_mutex);
    _stopping = true;
    _ready.notify_all();
    auto allDone = [this] {
        return std::all_of(_workers.begin(), _workers.end(), [](const auto& w) { return w->done; });
    };
    if (deadlineNanos == 0) {
        _exited.wait(lock, allDone);
    } else {
        const uint64_t now = coarseNowNanos();
        const auto wait = std::chrono::nanoseconds(deadlineNanos > now ? deadlineNanos - now : 0);
        _exited.wait_for(lock, wait, allDone);
    }
    uint32_t left = 0;
    std::vector<std::unique_ptr<Worker>> workers;
    workers.swap(_workers);
    lock.unlock();
    for (auto& w : workers) {
        bool done;
        {
            std::lock_guard<std::mutex> guard(_mutex);
            done = w->done;
        }
        if (done) {
            w->thread.join();
        } else {
            // Stuck in a handler: the thread keeps its Worker, and this pool (leaked by its owner).
            w->thread.detach();
            keepForever(std::shared_ptr<Worker>(std::move(w)));
            ++left;
        }
    }
    return left;
}

bool WorkerPool::submit(http::DispatchTask& task) noexcept
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_size == _ring.size() || _stopping) {
            _rejected.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        _ring[(_head + _size) % _ring.size()] = &task;
        ++_size;
        _queued.store(static_cast<uint32_t>(_size), std::memory_order_relaxed);
    }
    _ready.notify_one();
    return true;
}

bool WorkerPool::cancel(http::DispatchTask& task) noexcept
{
    std::lock_guard<std::mutex> lock(_mutex);
    for (size_t i = 0; i < _size; ++i) {
        if (_ring[(_head + i) % _ring.size()] != &task) continue;
        for (size_t j = i; j + 1 < _size; ++j) // close the gap: the order of the rest stays
            _ring[(_head + j) % _ring.size()] = _ring[(_head + j + 1) % _ring.size()];
        --_size;
        _queued.store(static_cast<uint32_t>(_size), std::memory_order_relaxed);
        return true;
    }
    return false;
}

void WorkerPool::run(Worker& worker)
{
    for (;;) {
        http::DispatchTask* task;
        {
            std::unique_lock<std::mutex> lock(_mutex);
            _ready.wait(lock, [this] { return _size > 0 || _stopping; });
            if (_size == 0) { // stopping and nothing left
                worker.done = true;
                _exited.notify_all();
                return;
            }
            task = _ring[_head];
            _head = (_head + 1) % _ring.size();
            --_size;
            _queued.store(static_cast<uint32_t>(_size), std::memory_order_relaxed);
            _busy.fetch_add(1, std::memory_order_relaxed);
        }
        while (task != nullptr) // a lane's next task runs on this thread (DispatchTask::runOnWorker)
            task = task->runOnWorker();
        _busy.fetch_sub(1, std::memory_order_relaxed);
    }
}

} // namespace serval::connector
