#pragma once

#include "http/Loop.h"
#include "process/LaneLoop.h"

#include <condition_variable>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace serval::process {

/// The LaneLoop of one connector I/O loop (http::Loop index i): the lanes of every isolated
/// Context for loop i run their tasks and watch their response rings there, so a forwarded
/// exchange and the ring that answers it share one thread (no hop, no lock on the hot path).
///
/// The Server deploys its apps before its Connectors start, and stops them after the
/// Connectors stopped, so a lane exists longer than the loop. Outside the loop's life the
/// tasks run on the process manager's own thread (`fallback`; no exchange can reach a lane
/// then, so that thread is the lane's only user; never the poster's thread: the group posts
/// while holding its mutex). The loop thread binds before it accepts its first connection
/// (Connector::setLoopStartHook), so no exchange ever reaches a lane that is not Bound:
///   Unbound  before bind(): tasks go to the fallback; watches are remembered for bind()
///   Binding  bind() waits for the fallback to finish this loop's tasks; new ones are held
///   Bound    tasks and watch callbacks run on the loop thread
///   Closing  the loop refused a post (it is ending): tasks are held for end()
///   Ended    after end() (the loop thread has exited): tasks go to the fallback; no watch fires
///
/// THREADS: post() any thread; watch()/unwatch() on the thread running the lane's task (above);
/// bind() on the loop's own thread; end() on the Server's main thread.
/// LIFETIME: owned by the ProcessManager; outlives every lane (its groups stop before it).
class ConnectorLoop : public LaneLoop
{
public:
    explicit ConnectorLoop(LaneLoop& fallback) noexcept : _fallback(fallback) {}
    ConnectorLoop(const ConnectorLoop&) = delete;
    ConnectorLoop& operator=(const ConnectorLoop&) = delete;

    void post(std::function<void()> task) override;
    void watch(int fd, std::function<void()> onReadable) override;
    void unwatch(int fd) override;

    /// On `loop`'s own thread before it accepts: waits until the fallback has run the tasks
    /// posted before, then the lane is Bound (what was remembered moves to the loop; the
    /// watches are registered by the loop's first turn).
    void bind(http::Loop& loop);
    /// The Connector's loop has exited (Connector::stop() returned): tasks run inline again.
    void end();

private:
    enum class Mode
    {
        Unbound,
        Binding,
        Bound,
        Closing,
        Ended
    };
    /// On the fallback thread, after every task posted before bind(): registers the remembered
    /// watches on the loop and hands it the tasks held meanwhile.
    void finishBinding();

    LaneLoop& _fallback;
    std::mutex _mutex;
    std::condition_variable _bound; ///< the mode left Binding
    Mode _mode = Mode::Unbound;
    http::Loop* _loop = nullptr;
    std::vector<std::function<void()>> _held;                ///< Binding / Closing: in posting order
    std::unordered_map<int, std::function<void()>> _pending; ///< Unbound: watches for bind()
    std::unordered_map<int, http::WatchId> _watches;         ///< Bound: loop thread only
};

} // namespace serval::process
