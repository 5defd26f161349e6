#include "process/Supervisor.h"

#include "util/Log.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace serval::process {

using Clock = std::chrono::steady_clock;

Supervisor::Supervisor() : _epoll("the supervisor's epoll set") {}

Supervisor::~Supervisor()
{
    stop();
}

void Supervisor::start()
{
    if (_thread.joinable()) return;
    _stopping.store(false);
    _thread = std::thread([this] { run(); });
}

void Supervisor::stop()
{
    if (!_thread.joinable()) return;
    _stopping.store(true);
    wake();
    _thread.join();
    std::lock_guard<std::mutex> lock(_mutex);
    _tasks.clear();
}

void Supervisor::watch(int fd, std::function<void()> onReadable)
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _watches[fd] = std::make_shared<std::function<void()>>(std::move(onReadable));
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::epoll_ctl(_epoll.fd(), EPOLL_CTL_ADD, fd, &ev) != 0 && errno == EEXIST)
        ::epoll_ctl(_epoll.fd(), EPOLL_CTL_MOD, fd, &ev);
}

void Supervisor::unwatch(int fd)
{
    ::epoll_ctl(_epoll.fd(), EPOLL_CTL_DEL, fd, nullptr);
    std::lock_guard<std::mutex> lock(_mutex);
    _watches.erase(fd);
}

void Supervisor::post(std::function<void()> task)
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _tasks.push_back(std::move(task));
    }
    wake();
}

void Supervisor::add(std::weak_ptr<Ticking> ticking)
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _ticking.push_back(std::move(ticking));
    }
    wake();
}

void Supervisor::wake() noexcept
{
    _epoll.wake();
}

void Supervisor::run()
{
    Clock::time_point next = Clock::now();
    while (!_stopping.load()) {
        auto now = Clock::now();
        int timeout =
            next <= now
                ? 0
                : static_cast<int>(std::min<int64_t>(
                      1000, std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1));
        epoll_event events[32];
        int n = ::epoll_wait(_epoll.fd(), events, 32, timeout);
        if (n < 0 && errno != EINTR) {
            LOG_ERROR("supervisor", std::string("epoll_wait failed: ") + std::strerror(errno));
            break;
        }
        for (int i = 0; i < n; ++i) {
            int fd = events[i].data.fd;
            if (_epoll.consumeWake(fd)) continue;
            std::shared_ptr<std::function<void()>> callback;
            {
                std::lock_guard<std::mutex> lock(_mutex);
                auto it = _watches.find(fd);
                if (it != _watches.end()) callback = it->second;
            }
            if (callback) (*callback)();
        }
        std::vector<std::function<void()>> tasks;
        std::vector<std::weak_ptr<Ticking>> ticking;
        {
            std::lock_guard<std::mutex> lock(_mutex);
            tasks.swap(_tasks);
            ticking = _ticking;
        }
        for (auto& task : tasks)
            task();
        now = Clock::now();
        next = now + std::chrono::seconds(1);
        bool expired = false;
        for (auto& weak : ticking) {
            if (auto group = weak.lock()) {
                next = std::min(next, group->tick(now));
            } else {
                expired = true;
            }
        }
        if (expired) {
            std::lock_guard<std::mutex> lock(_mutex);
            _ticking.erase(
                std::remove_if(_ticking.begin(), _ticking.end(), [](auto& w) { return w.expired(); }),
                _ticking.end());
        }
    }
}

} // namespace serval::process
