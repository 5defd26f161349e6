#pragma once

#include "http/Loop.h"
#include "process/WakeableEpoll.h"

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace serval::process {

/// The worker process's I/O loop: the http::Loop an isolated app's async responses and
/// WebSocket connections run on (AsyncContext timeouts, SSE heartbeats, WebSocketSession's
/// idle and ping timers, the hooks they call), as the connector's EventLoop is in the server.
/// It owns no socket: its bytes cross the channel (WorkerAsyncResponse, WorkerUpgrade).
///
/// THREADS: one thread of its own, from start() to stop(); post(), index() and isLoopThread()
/// from any thread, everything else on that thread (the http::Loop contract).
/// OWNERSHIP: owned by WorkerService; stop() runs what is still posted, then drops timers.
class WorkerLoop final : public http::Loop
{
public:
    WorkerLoop();
    ~WorkerLoop();
    WorkerLoop(const WorkerLoop&) = delete;
    WorkerLoop& operator=(const WorkerLoop&) = delete;

    /// Starts the thread.
    void start();
    /// Any thread but the loop's: ends the thread after the tasks already posted; posts are
    /// refused from then on.
    void stop();

    unsigned index() const noexcept override { return 0; }
    bool isLoopThread() const noexcept override;
    bool post(http::LoopTask& task) noexcept override;
    bool post(Callback callback) override;
    http::WatchId watch(int fd, uint32_t epollEvents, WatchCallback callback) override;
    bool setWatchEvents(http::WatchId id, uint32_t epollEvents) noexcept override;
    void unwatch(http::WatchId id) noexcept override;
    http::TimerId addTimer(uint64_t deadlineNanos, Callback callback) override;
    bool cancelTimer(http::TimerId id) noexcept override;
    uint64_t now() const noexcept override { return _now; }

private:
    void run();
    /// After a post that found both lists empty: wakes the thread, unless it is the poster.
    void wake(bool wasEmpty) noexcept;
    void runPosted() noexcept;
    void runTimers() noexcept;
    static uint64_t clockNanos() noexcept;

    WakeableEpoll _epoll{"the worker's I/O loop"};
    std::thread _thread;
    std::atomic<bool> _stopping{false};
    uint64_t _now = 0;

    std::mutex _postMutex;
    bool _closed = false; ///< under _postMutex: the thread has ended
    /// Posted and not yet run, under _postMutex; post() wakes the thread only when both were
    /// empty (a wake-up is on its way otherwise).
    std::vector<http::LoopTask*> _tasks;
    std::vector<Callback> _callbacks;
    bool _selfPosted = false;                   ///< the loop thread's: it posted without a wake-up (wake())
    std::vector<http::LoopTask*> _runningTasks; ///< the loop thread's: the batch runPosted() runs
    std::vector<Callback> _runningCallbacks;

    std::map<std::pair<uint64_t, uint64_t>, Callback> _timers; ///< (deadline, sequence)
    uint64_t _timerSequence = 0;
    std::unordered_map<uint64_t, std::pair<int, WatchCallback>> _watches;
    uint64_t _watchSequence = 0;
};

} // namespace serval::process
