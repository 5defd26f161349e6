#include "process/ConnectorLoop.h"

#include <memory>
#include <sys/epoll.h>

namespace serval::process {

void ConnectorLoop::post(std::function<void()> task)
{
    std::lock_guard<std::mutex> lock(_mutex);
    switch (_mode) {
    case Mode::Unbound:
    case Mode::Ended:
        _fallback.post(std::move(task));
        return;
    case Mode::Bound:
        if (_loop->post(task)) return; // a copy: a refused closure is destroyed, not returned
        _mode = Mode::Closing;
        [[fallthrough]];
    case Mode::Binding:
    case Mode::Closing:
        _held.push_back(std::move(task));
        return;
    }
}

void ConnectorLoop::watch(int fd, std::function<void()> onReadable)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_loop != nullptr && _loop->isLoopThread()) {
        http::WatchId id =
            _loop->watch(fd, EPOLLIN, [callback = std::move(onReadable)](uint32_t) { callback(); });
        if (id) _watches[fd] = id;
        return;
    }
    // The fallback thread: before bind() the ring is watched once the loop runs; after end()
    // nothing reads it any more (the lanes' detach() drains what is left).
    if (_mode == Mode::Unbound || _mode == Mode::Binding) _pending[fd] = std::move(onReadable);
}

void ConnectorLoop::unwatch(int fd)
{
    std::lock_guard<std::mutex> lock(_mutex);
    _pending.erase(fd);
    auto it = _watches.find(fd);
    if (it == _watches.end()) return;
    if (_loop != nullptr && _loop->isLoopThread()) _loop->unwatch(it->second);
    _watches.erase(it); // after end() the loop has dropped it already
}

void ConnectorLoop::bind(http::Loop& loop)
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_mode != Mode::Unbound) return;
        _mode = Mode::Binding;
        _loop = &loop;
    }
    _fallback.post([this] { finishBinding(); }); // behind every task posted before
    // Until then the fallback thread may still run a lane's task: an exchange this loop
    // accepted meanwhile would use the lane from two threads at once.
    std::unique_lock<std::mutex> lock(_mutex);
    _bound.wait(lock, [this] { return _mode != Mode::Binding; });
}

void ConnectorLoop::finishBinding()
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_mode != Mode::Binding) return;
    // First on the loop: the watches the lanes asked for while it was not running.
    auto pending = std::make_shared<std::unordered_map<int, std::function<void()>>>(std::move(_pending));
    _pending.clear();
    bool running = _loop->post([this, pending] {
        for (auto& [fd, callback] : *pending)
            watch(fd, std::move(callback));
    });
    _mode = running ? Mode::Bound : Mode::Closing;
    std::vector<std::function<void()>> held;
    held.swap(_held);
    for (auto& task : held) {
        if (_mode == Mode::Bound && _loop->post(task)) continue;
        _mode = Mode::Closing;
        _held.push_back(std::move(task));
    }
    _bound.notify_all();
}

void ConnectorLoop::end()
{
    std::lock_guard<std::mutex> lock(_mutex);
    _mode = Mode::Ended;
    _bound.notify_all(); // a loop that ended before its bind() finished
    _loop = nullptr;
    _watches.clear();
    _pending.clear();
    for (auto& task : _held)
        _fallback.post(std::move(task));
    _held.clear();
}

} // namespace serval::process
