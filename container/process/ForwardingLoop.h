#pragma once

#include "process/LaneLoop.h"
#include "process/WakeableEpoll.h"

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace serval::process {

/// The process manager's own thread for lane tasks while the connector loops do not run
/// (ConnectorLoop's fallback: deploys before the Connectors start, drains after they stopped):
/// one epoll thread that runs posted tasks in order and calls watches back.
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

    WakeableEpoll _epoll;
    std::atomic<bool> _stopping{false};
    std::mutex _mutex;
    std::vector<std::function<void()>> _tasks;
    std::unordered_map<int, std::shared_ptr<std::function<void()>>> _watches; ///< loop thread only
    std::thread _thread;
};

} // namespace serval::process
