#pragma once

#include "util/FileDescriptor.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace serval::process {

/// An epoll set with an eventfd already in it, so another thread can wake the one thread that
/// waits on the set: the shared part of the process room's small loops (ForwardingLoop,
/// Supervisor; the tests' TestLoop). The owner keeps its own watch table and task queue.
/// wake() is any-thread; consumeWake() is called by the waiting thread for each ready fd.
class WakeableEpoll
{
public:
    /// Throws std::runtime_error("cannot create <what>") when the kernel refuses either fd.
    explicit WakeableEpoll(const std::string& what)
        : _epoll(::epoll_create1(EPOLL_CLOEXEC)), _wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC))
    {
        if (!_epoll || !_wake) throw std::runtime_error("cannot create " + what);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = _wake.get();
        ::epoll_ctl(_epoll.get(), EPOLL_CTL_ADD, _wake.get(), &ev);
    }

    /// The epoll fd, for epoll_ctl and epoll_wait by the owner.
    int fd() const noexcept { return _epoll.get(); }

    /// Any thread: makes the waiting thread's epoll_wait return.
    void wake() noexcept
    {
        uint64_t one = 1;
        ssize_t ignored = ::write(_wake.get(), &one, sizeof one);
        (void)ignored;
    }

    /// Waiting thread: true (and the wake-up drained) when `readyFd` is the wake eventfd.
    bool consumeWake(int readyFd) noexcept
    {
        if (readyFd != _wake.get()) return false;
        uint64_t value;
        ssize_t ignored = ::read(_wake.get(), &value, sizeof value);
        (void)ignored;
        return true;
    }

private:
    util::FileDescriptor _epoll;
    util::FileDescriptor _wake;
};

} // namespace serval::process
