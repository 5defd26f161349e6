#pragma once

#include <functional>

namespace serval::process {

/// What a WorkerLane needs of the server I/O loop it belongs to: run a task there (from any
/// thread) and call back when a descriptor becomes readable. The server implements it over
/// the connector's loops (http::Loop); the tests run a small epoll loop of their own.
///
/// THREADS: post() from any thread; watch() and unwatch() and every callback on the loop's
/// thread. LIFETIME: outlives every lane on it (the Connectors stop after the apps drained).
class LaneLoop
{
public:
    virtual ~LaneLoop() = default;
    /// Runs `task` on the loop thread soon, in the order posted.
    virtual void post(std::function<void()> task) = 0;
    /// Calls `onReadable` (on the loop thread) whenever `fd` is readable (level-triggered).
    virtual void watch(int fd, std::function<void()> onReadable) = 0;
    virtual void unwatch(int fd) = 0;
};

} // namespace serval::process
