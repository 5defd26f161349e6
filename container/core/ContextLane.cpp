#include "core/ContextLane.h"

#include <algorithm>

namespace serval::core {

ContextLane::ContextLane(uint32_t maxThreads, uint32_t maxQueue) noexcept
    : _maxThreads(maxThreads), _maxQueue(maxQueue), _bound(maxThreads)
{}

bool ContextLane::submit(http::DispatchTask& task) noexcept
{
    http::DispatchLane& shared = task.sharedLane();
    std::lock_guard<std::mutex> lock(_mutex);
    uint32_t bound = _bound.load(std::memory_order_relaxed);
    if (bound == 0) { // the default: half of the pool, known once a request arrives
        bound = std::max<uint32_t>(shared.threads() / 2, 1);
        _bound.store(bound, std::memory_order_relaxed);
    }
    // Tasks wait here only while every thread of the share is taken, so a free thread means
    // an empty queue and the order of arrival is kept.
    if (_running < bound) {
        // The pool's own lock nests inside this one; the pool never calls back under its lock.
        if (!shared.submit(task)) {
            _rejected.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        ++_running;
        publishCounts();
        return true;
    }
    if (_queued >= _maxQueue) {
        _rejected.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    task.laneNext = nullptr;
    if (_tail != nullptr)
        _tail->laneNext = &task;
    else
        _head = &task;
    _tail = &task;
    ++_queued;
    publishCounts();
    return true;
}

http::DispatchTask* ContextLane::finished() noexcept
{
    std::lock_guard<std::mutex> lock(_mutex);
    http::DispatchTask* next = popFront(); // the calling worker runs it: the thread stays ours
    if (next == nullptr) --_running;
    publishCounts();
    return next;
}

bool ContextLane::cancel(http::DispatchTask& task) noexcept
{
    std::lock_guard<std::mutex> lock(_mutex);
    http::DispatchTask* previous = nullptr;
    for (http::DispatchTask* t = _head; t != nullptr; previous = t, t = t->laneNext) {
        if (t != &task) continue;
        (previous != nullptr ? previous->laneNext : _head) = task.laneNext;
        if (_tail == &task) _tail = previous;
        task.laneNext = nullptr;
        --_queued;
        publishCounts();
        return true;
    }
    // Admitted, maybe still waiting in the shared pool.
    if (!task.sharedLane().cancel(task)) return false;
    --_running;
    if (http::DispatchTask* next = popFront()) { // its thread goes to the next in line
        if (task.sharedLane().submit(*next)) {
            ++_running;
        } else { // the pool is full: it waits for the next finished()
            next->laneNext = _head;
            _head = next;
            if (_tail == nullptr) _tail = next;
            ++_queued;
        }
    }
    publishCounts();
    return true;
}

http::DispatchTask* ContextLane::popFront() noexcept
{
    http::DispatchTask* first = _head;
    if (first == nullptr) return nullptr;
    _head = first->laneNext;
    if (_head == nullptr) _tail = nullptr;
    first->laneNext = nullptr;
    --_queued;
    return first;
}

void ContextLane::publishCounts() noexcept
{
    _runningSeen.store(_running, std::memory_order_relaxed);
    _queuedSeen.store(_queued, std::memory_order_relaxed);
}

} // namespace serval::core
