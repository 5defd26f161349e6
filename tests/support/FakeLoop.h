#pragma once

#include "http/Loop.h"

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

namespace serval::test {

/// An http::Loop driven by the test: posted work waits until runPosted(), timers until the test
/// moves `clock` and fires them. isLoopThread() is true on every thread until the test calls
/// playLoopThread(): then only on the thread that plays it. post() may be called from any
/// thread; everything else from the test's thread. Used by the HTTP/2 session glue and the ResponseHold
/// tests.
class FakeLoop final : public http::Loop
{
public:
    unsigned index() const noexcept override { return 0; }
    bool isLoopThread() const noexcept override
    {
        return _everyThread.load() || _loopThread.load() == std::this_thread::get_id();
    }
    /// The calling thread is the loop's from now on (`on`), or no thread is (false).
    void playLoopThread(bool on) noexcept
    {
        _loopThread = on ? std::this_thread::get_id() : std::thread::id();
        _everyThread = false;
    }
    bool post(http::LoopTask& task) noexcept override
    {
        std::lock_guard<std::mutex> lock(_mutex);
        tasks.push_back(&task);
        return true;
    }
    bool post(Callback callback) override
    {
        std::lock_guard<std::mutex> lock(_mutex);
        callbacks.push_back(std::move(callback));
        return true;
    }
    http::WatchId watch(int, uint32_t, WatchCallback) override { return {}; }
    bool setWatchEvents(http::WatchId, uint32_t) noexcept override { return false; }
    void unwatch(http::WatchId) noexcept override {}
    http::TimerId addTimer(uint64_t deadline, Callback callback) override
    {
        timers[++sequence] = std::move(callback);
        return http::TimerId{deadline, sequence};
    }
    bool cancelTimer(http::TimerId id) noexcept override { return timers.erase(id.sequence) > 0; }
    uint64_t now() const noexcept override { return clock; }

    /// Runs what was posted (and what that posts), as the loop thread would; how many ran.
    size_t runPosted()
    {
        size_t ran = 0;
        for (;;) {
            http::LoopTask* task = nullptr;
            Callback callback;
            {
                std::lock_guard<std::mutex> lock(_mutex);
                if (!tasks.empty()) {
                    task = tasks.front();
                    tasks.pop_front();
                } else if (!callbacks.empty()) {
                    callback = std::move(callbacks.front());
                    callbacks.pop_front();
                } else {
                    return ran;
                }
            }
            if (task != nullptr) {
                task->run();
            } else {
                callback();
            }
            ++ran;
        }
    }
    /// How many posts wait for runPosted().
    size_t posted()
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return tasks.size() + callbacks.size();
    }

    std::deque<http::LoopTask*> tasks;   ///< guarded by _mutex while other threads post
    std::deque<Callback> callbacks;      ///< guarded by _mutex while other threads post
    std::map<uint64_t, Callback> timers; ///< the test's thread only
    uint64_t sequence = 0;
    uint64_t clock = 1000000000;

private:
    std::mutex _mutex;
    std::atomic<bool> _everyThread{true};
    std::atomic<std::thread::id> _loopThread{};
};

} // namespace serval::test
