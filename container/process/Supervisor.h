#pragma once

#include "process/WakeableEpoll.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace serval::process {

/// Something the supervisor wakes on a schedule (a WorkerGroup): tick() does what is due and
/// returns when it next wants to run.
class Ticking
{
public:
    virtual ~Ticking() = default;
    virtual std::chrono::steady_clock::time_point
    tick(std::chrono::steady_clock::time_point now) noexcept = 0;
};

/// The one supervisor thread of the server: sleeps in epoll on every worker's pidfd and
/// control socket, runs tasks posted from other threads, and ticks each registered group
/// when it asked to be (restart back-off, RSS checks at least once a second, drain deadlines,
/// request deadlines). Everything that reacts to a worker dying, starting or misbehaving runs
/// here, one event at a time.
///
/// OWNERSHIP: owned by the server (startup) and stopped after every group is. Callbacks hold
/// what they need (the groups capture weak or shared pointers of themselves).
/// THREADS: watch, unwatch, post, add and remove from any thread; callbacks, tasks and ticks on
/// the supervisor thread.
class Supervisor
{
public:
    Supervisor();
    ~Supervisor();
    Supervisor(const Supervisor&) = delete;
    Supervisor& operator=(const Supervisor&) = delete;

    void start();
    /// Joins the thread; pending tasks are dropped.
    void stop();
    bool onSupervisorThread() const noexcept { return std::this_thread::get_id() == _thread.get_id(); }

    /// Calls `onReadable` on the supervisor thread while `fd` is readable (level-triggered).
    void watch(int fd, std::function<void()> onReadable);
    void unwatch(int fd);
    void post(std::function<void()> task);
    void add(std::weak_ptr<Ticking> ticking);
    /// Asks for a tick of every group at once (something changed their schedule).
    void wake() noexcept;

private:
    void run();

    WakeableEpoll _epoll;
    std::thread _thread;
    std::atomic<bool> _stopping{false};
    std::mutex _mutex;
    std::unordered_map<int, std::shared_ptr<std::function<void()>>> _watches;
    std::vector<std::function<void()>> _tasks;
    std::vector<std::weak_ptr<Ticking>> _ticking;
};

} // namespace serval::process
