#include "process/ForwardingLoop.h"

#include <cerrno>
#include <stdexcept>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace serval::process {

ForwardingLoop::ForwardingLoop()
{
    _epoll = ::epoll_create1(EPOLL_CLOEXEC);
    _wake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (_epoll < 0 || _wake < 0) throw std::runtime_error("cannot create the process manager's loop");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = _wake;
    ::epoll_ctl(_epoll, EPOLL_CTL_ADD, _wake, &ev);
    _thread = std::thread([this] { run(); });
}

ForwardingLoop::~ForwardingLoop()
{
    _stopping.store(true);
    uint64_t one = 1;
    ssize_t ignored = ::write(_wake, &one, sizeof one);
    (void)ignored;
    _thread.join();
    ::close(_epoll);
    ::close(_wake);
}

void ForwardingLoop::post(std::function<void()> task)
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _tasks.push_back(std::move(task));
    }
    uint64_t one = 1;
    ssize_t ignored = ::write(_wake, &one, sizeof one);
    (void)ignored;
}

void ForwardingLoop::watch(int fd, std::function<void()> onReadable)
{
    _watches[fd] = std::make_shared<std::function<void()>>(std::move(onReadable));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(_epoll, EPOLL_CTL_ADD, fd, &ev);
}

void ForwardingLoop::unwatch(int fd)
{
    ::epoll_ctl(_epoll, EPOLL_CTL_DEL, fd, nullptr);
    _watches.erase(fd);
}

void ForwardingLoop::run()
{
    while (true) {
        epoll_event events[64];
        int n = ::epoll_wait(_epoll, events, 64, -1);
        if (n < 0 && errno != EINTR) break;
        for (int i = 0; i < n; ++i) {
            int fd = events[i].data.fd;
            if (fd == _wake) {
                uint64_t value;
                ssize_t ignored = ::read(_wake, &value, sizeof value);
                (void)ignored;
                continue;
            }
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
