#include "process/WorkerLoop.h"

#include <algorithm>
#include <cerrno>
#include <ctime>

namespace serval::process {

WorkerLoop::WorkerLoop()
{
    _now = clockNanos();
}

WorkerLoop::~WorkerLoop()
{
    stop();
}

uint64_t WorkerLoop::clockNanos() noexcept
{
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

void WorkerLoop::start()
{
    _thread = std::thread([this] { run(); });
}

void WorkerLoop::stop()
{
    if (!_thread.joinable()) return;
    _stopping.store(true);
    _epoll.wake();
    _thread.join();
}

bool WorkerLoop::isLoopThread() const noexcept
{
    return std::this_thread::get_id() == _thread.get_id();
}

void WorkerLoop::wake(bool wasEmpty) noexcept
{
    if (!wasEmpty) return; // a wake-up is already on its way, or the loop will not sleep
    if (isLoopThread())
        _selfPosted = true; // run() does not sleep before it ran them: no eventfd write
    else
        _epoll.wake();
}

bool WorkerLoop::post(http::LoopTask& task) noexcept
{
    bool wasEmpty;
    {
        std::lock_guard<std::mutex> lock(_postMutex);
        if (_closed) return false;
        wasEmpty = _tasks.empty() && _callbacks.empty();
        _tasks.push_back(&task);
    }
    wake(wasEmpty);
    return true;
}

bool WorkerLoop::post(Callback callback)
{
    bool wasEmpty;
    {
        std::lock_guard<std::mutex> lock(_postMutex);
        if (_closed) return false;
        wasEmpty = _tasks.empty() && _callbacks.empty();
        _callbacks.push_back(std::move(callback));
    }
    wake(wasEmpty);
    return true;
}

http::WatchId WorkerLoop::watch(int fd, uint32_t epollEvents, WatchCallback callback)
{
    // Above 2^32: the wake eventfd's entry carries its fd number in the same union.
    uint64_t id = (uint64_t(1) << 32) + ++_watchSequence;
    epoll_event ev{};
    ev.events = epollEvents;
    ev.data.u64 = id;
    if (::epoll_ctl(_epoll.fd(), EPOLL_CTL_ADD, fd, &ev) != 0) return {};
    _watches.emplace(id, std::make_pair(fd, std::move(callback)));
    return http::WatchId{id};
}

bool WorkerLoop::setWatchEvents(http::WatchId id, uint32_t epollEvents) noexcept
{
    auto it = _watches.find(id.value);
    if (it == _watches.end()) {
        errno = ENOENT;
        return false;
    }
    epoll_event ev{};
    ev.events = epollEvents;
    ev.data.u64 = id.value;
    return ::epoll_ctl(_epoll.fd(), EPOLL_CTL_MOD, it->second.first, &ev) == 0;
}

void WorkerLoop::unwatch(http::WatchId id) noexcept
{
    auto it = _watches.find(id.value);
    if (it == _watches.end()) return;
    ::epoll_ctl(_epoll.fd(), EPOLL_CTL_DEL, it->second.first, nullptr);
    _watches.erase(it);
}

http::TimerId WorkerLoop::addTimer(uint64_t deadlineNanos, Callback callback)
{
    http::TimerId id{deadlineNanos, ++_timerSequence};
    _timers.emplace(std::make_pair(id.deadline, id.sequence), std::move(callback));
    return id;
}

bool WorkerLoop::cancelTimer(http::TimerId id) noexcept
{
    return _timers.erase(std::make_pair(id.deadline, id.sequence)) > 0;
}

void WorkerLoop::runPosted() noexcept
{
    _selfPosted = false; // what this thread posted is taken now
    // Swapped with the (empty) run lists, so both pairs keep their capacity: no allocation per turn.
    {
        std::lock_guard<std::mutex> lock(_postMutex);
        _runningTasks.swap(_tasks);
        _runningCallbacks.swap(_callbacks);
    }
    for (http::LoopTask* task : _runningTasks)
        task->run();
    for (Callback& callback : _runningCallbacks)
        callback();
    _runningTasks.clear();
    _runningCallbacks.clear();
}

void WorkerLoop::runTimers() noexcept
{
    while (!_timers.empty() && _timers.begin()->first.first <= _now) {
        Callback callback = std::move(_timers.begin()->second);
        _timers.erase(_timers.begin());
        callback();
    }
}

void WorkerLoop::run()
{
    while (!_stopping.load()) {
        int timeoutMs = -1;
        if (!_timers.empty()) {
            uint64_t next = _timers.begin()->first.first;
            timeoutMs =
                next <= _now ? 0 : static_cast<int>(std::min<uint64_t>((next - _now) / 1000000 + 1, 1000));
        }
        if (_selfPosted) { // this thread posted after its last runPosted(): do not sleep
            _selfPosted = false;
            timeoutMs = 0;
        }
        epoll_event events[16];
        int n = ::epoll_wait(_epoll.fd(), events, 16, timeoutMs);
        _now = clockNanos();
        for (int i = 0; i < n; ++i) {
            if (events[i].data.u64 < (uint64_t(1) << 32)) {
                _epoll.consumeWake(events[i].data.fd);
                continue;
            }
            auto it = _watches.find(events[i].data.u64);
            if (it != _watches.end()) {
                WatchCallback callback = it->second.second; // the callback may unwatch itself
                callback(events[i].events);
            }
        }
        runPosted();
        runTimers();
    }
    {
        std::lock_guard<std::mutex> lock(_postMutex);
        _closed = true;
    }
    runPosted();
    _timers.clear();
    _watches.clear();
}

} // namespace serval::process
