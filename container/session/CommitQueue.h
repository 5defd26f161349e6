#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

namespace serval::session {

/// The hand-over between the threads that call SessionStore::commit() and the store's own
/// thread(s) that write (SQLite's writer, Redis's committers): queued batches, the closing flag,
/// and the tickets of flushTouches() callers waiting for the pending touches to be written.
///
/// Thread-safe. push() and requestFlush() are any-thread; take() and served() belong to the
/// store's threads. `Batch` is the store's own record of one commit() call.
template <typename Batch> class CommitQueue
{
public:
    using Clock = std::chrono::steady_clock;

    /// What one take() handed to a store thread.
    struct Work
    {
        std::vector<Batch> batches;
        bool last = false;        ///< closing and nothing queued: this thread finishes after this work
        bool flushWanted = false; ///< a flushTouches() caller waits: write the touches now
        uint64_t flushTicket = 0; ///< pass to served() once the touches are written
    };

    /// Queues a batch; false (and `batch` left as it was) once close() ran.
    bool push(Batch& batch)
    {
        {
            std::lock_guard<std::mutex> lock(_mutex);
            if (_closing) return false;
            _queue.push_back(std::move(batch));
        }
        _ready.notify_one();
        return true;
    }

    /// Waits until there are batches, `wakeAt` passes, the queue closes or (for the thread that
    /// writes touches: `servesFlushes`) a flush is wanted; takes up to `max` batches.
    Work take(size_t max, Clock::time_point wakeAt, bool servesFlushes)
    {
        std::unique_lock<std::mutex> lock(_mutex);
        _ready.wait_until(lock, wakeAt, [&] {
            return !_queue.empty() || _closing || (servesFlushes && _flushRequested != _flushDone);
        });
        Work work;
        while (!_queue.empty() && work.batches.size() < max) {
            work.batches.push_back(std::move(_queue.front()));
            _queue.pop_front();
        }
        work.last = _closing && _queue.empty();
        work.flushWanted = servesFlushes && _flushRequested != _flushDone;
        work.flushTicket = _flushRequested;
        return work;
    }

    /// The touches asked for by every ticket up to `ticket` are written.
    void served(uint64_t ticket)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (ticket > _flushDone) _flushDone = ticket;
        _flushed.notify_all();
    }

    /// Asks the store's thread to write the pending touches and waits until it did (or closed).
    void requestFlushAndWait()
    {
        std::unique_lock<std::mutex> lock(_mutex);
        uint64_t ticket = ++_flushRequested;
        _ready.notify_all();
        _flushed.wait(lock, [&] { return _flushDone >= ticket || _finished; });
    }

    /// Refuses further batches; the store's threads drain what is queued, then see Work::last.
    void close()
    {
        {
            std::lock_guard<std::mutex> lock(_mutex);
            _closing = true;
        }
        _ready.notify_all();
    }

    /// The store's threads have all returned: flush waiters stop waiting.
    void finished()
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _finished = true;
        _flushed.notify_all();
    }

private:
    std::mutex _mutex;
    std::condition_variable _ready;
    std::condition_variable _flushed;
    std::deque<Batch> _queue;
    bool _closing = false;
    bool _finished = false;
    uint64_t _flushRequested = 0;
    uint64_t _flushDone = 0;
};

} // namespace serval::session
