#pragma once

#include "process/LaneLoop.h"

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace serval::process {

/// A LaneLoop of the process manager's own: one epoll thread that holds the lanes' ends of
/// the channels, for a server whose Connectors do not offer their I/O loops to the process
/// manager (http::Loop). Requests reach it from the connector's worker threads
/// (IsolatedApplication::forward waits there for the response).
///
/// THREADS: post() from any thread; watch/unwatch and callbacks on its thread.
class ForwardingLoop : public LaneLoop
{
public:
    ForwardingLoop();
    ~ForwardingLoop() override; ///< runs what is posted, then joins
    ForwardingLoop(const ForwardingLoop&) = delete;
    ForwardingLoop& operator=(const ForwardingLoop&) = delete;

    void post(std::function<void()> task) override;
    void watch(int fd, std::function<void()> onReadable) override;
    void unwatch(int fd) override;

private:
    void run();

    int _epoll = -1;
    int _wake = -1;
    std::atomic<bool> _stopping{false};
    std::mutex _mutex;
    std::vector<std::function<void()>> _tasks;
    std::unordered_map<int, std::shared_ptr<std::function<void()>>> _watches; ///< loop thread only
    std::thread _thread;
};

} // namespace serval::process
