#include "process/ForwardingLoop.h"

#include <cerrno>
#include <stdexcept>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace serval::process {

ForwardingLoop::ForwardingLoop() : _epoll("the process manager's loop")
{
    _thread = std::thread([this] { run(); });
}

ForwardingLoop::~ForwardingLoop()
{
    _stopping.store(true);
    _epoll.wake();
    _thread.join();
}

void ForwardingLoop::post(std::function<void()> task)
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _tasks.push_back(std::move(task));
    }
    _epoll.wake();
}

void ForwardingLoop::watch(int fd, std::function<void()> onReadable)
{
    _watches[fd] = std::make_shared<std::function<void()>>(std::move(onReadable));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(_epoll.fd(), EPOLL_CTL_ADD, fd, &ev);
}

void ForwardingLoop::unwatch(int fd)
{
    ::epoll_ctl(_epoll.fd(), EPOLL_CTL_DEL, fd, nullptr);
    _watches.erase(fd);
}

void ForwardingLoop::run()
{
    while (true) {
        epoll_event events[64];
        int n = ::epoll_wait(_epoll.fd(), events, 64, -1);
        if (n < 0 && errno != EINTR) break;
        for (int i = 0; i < n; ++i) {
            int fd = events[i].data.fd;
            if (_epoll.consumeWake(fd)) continue;
            auto it = _watches.find(fd);
            if (it == _watches.end()) continue;
            std::shared_ptr<std::function<void()>> callback = it->second; // it may unwatch itself
            (*callback)();
        }
        std::vector<std::function<void()>> tasks;
        {
            std::lock_guard<std::mutex> lock(_mutex);
            tasks.swap(_tasks);
        }
        for (auto& task : tasks)
            task();
        if (_stopping.load() && tasks.empty()) break;
    }
}

} // namespace serval::process
