#pragma once

#include "process/WakeableEpoll.h"

// A small epoll loop thread standing in for a connector I/O loop (process::LaneLoop), and a
// StreamOwner that records what a lane delivers: the process room's tests drive lanes with
// these, as the server's forwarding backend does with the connector's loops.
#include "process/LaneLoop.h"
#include "process/WorkerLane.h"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace serval::test {

class TestLoop : public process::LaneLoop
{
public:
    TestLoop() : _epoll("the test loop")
    {
        _thread = std::thread([this] { run(); });
    }
    ~TestLoop() override
    {
        post([this] { _stop = true; });
        _thread.join();
    }

    void post(std::function<void()> task) override
    {
        {
            std::lock_guard<std::mutex> lock(_mutex);
            _tasks.push_back(std::move(task));
        }
        _epoll.wake();
    }
    void watch(int fd, std::function<void()> onReadable) override
    {
        _watches[fd] = std::move(onReadable);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        ::epoll_ctl(_epoll.fd(), EPOLL_CTL_ADD, fd, &ev);
    }
    void unwatch(int fd) override
    {
        ::epoll_ctl(_epoll.fd(), EPOLL_CTL_DEL, fd, nullptr);
        _watches.erase(fd);
    }
    /// Runs `task` on the loop and waits for it.
    template <typename F> auto call(F task) -> decltype(task())
    {
        std::packaged_task<decltype(task())()> packaged(std::move(task));
        auto result = packaged.get_future();
        post([&packaged] { packaged(); });
        return result.get();
    }

private:
    void run()
    {
        while (!_stop) {
            epoll_event events[16];
            int n = ::epoll_wait(_epoll.fd(), events, 16, 100);
            for (int i = 0; i < n; ++i) {
                int fd = events[i].data.fd;
                if (_epoll.consumeWake(fd)) continue;
                auto it = _watches.find(fd);
                if (it != _watches.end()) {
                    auto callback = it->second; // the callback may unwatch itself
                    callback();
                }
            }
            std::vector<std::function<void()>> tasks;
            {
                std::lock_guard<std::mutex> lock(_mutex);
                tasks.swap(_tasks);
            }
            for (auto& task : tasks)
                task();
        }
    }

    process::WakeableEpoll _epoll;
    bool _stop = false;
    std::thread _thread;
    std::mutex _mutex;
    std::vector<std::function<void()>> _tasks;
    std::map<int, std::function<void()>> _watches; ///< loop thread only
};

/// What a lane delivered for one request. Complete once `done` is set (loop thread).
class RecordingOwner : public process::StreamOwner
{
public:
    explicit RecordingOwner(process::WorkerLane* lane = nullptr) : _lane(lane) {}

    void onResponseHead(const process::ResponseHead& head, bool endStream) noexcept override
    {
        std::lock_guard<std::mutex> lock(_mutex);
        status = head.status;
        headers = head.headers;
        contentLength = head.contentLength;
        if (endStream) finishLocked();
    }
    void onResponseBody(std::string_view bytes, bool endStream) noexcept override
    {
        if (_lane != nullptr && stream != nullptr && !endStream)
            _lane->consumed(stream, static_cast<uint32_t>(bytes.size()));
        std::lock_guard<std::mutex> lock(_mutex);
        body.append(bytes);
        if (endStream) finishLocked();
    }
    void onStreamFailed(const process::StreamFailure& f) noexcept override
    {
        std::lock_guard<std::mutex> lock(_mutex);
        failed = true;
        failure = f;
        status = f.status;
        finishLocked();
    }
    /// Waits until the response ended or failed; false on timeout.
    bool wait(std::chrono::milliseconds timeout = std::chrono::seconds(20))
    {
        std::unique_lock<std::mutex> lock(_mutex);
        return _cv.wait_for(lock, timeout, [this] { return done; });
    }
    std::string header(const std::string& name) const
    {
        for (const auto& h : headers) {
            if (h.name == name) return h.value;
        }
        return {};
    }

    process::ForwardedStream* stream = nullptr; ///< set by whoever submitted (loop thread)
    int status = 0;
    int64_t contentLength = -1;
    std::vector<http::Header> headers;
    std::string body;
    bool failed = false;
    process::StreamFailure failure;
    bool done = false;

private:
    void finishLocked()
    {
        done = true;
        stream = nullptr;
        _cv.notify_all();
    }
    process::WorkerLane* _lane;
    std::mutex _mutex;
    std::condition_variable _cv;
};

} // namespace serval::test
