#include "connector/EventLoop.h"

#include "connector/Connection.h"
#include "util/Log.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdexcept>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace serval::connector {
namespace {

// epoll tags: connections are stored as their (aligned) pointer, watches as pointer | 1, and
// these two as small even numbers no object lives at.
constexpr uint64_t kListenTag = 2;
constexpr uint64_t kWakeTag = 4;
constexpr uint64_t kWatchBit = 1;
constexpr uint64_t kMillis = 1000 * 1000;
constexpr size_t kReadBufferSize = 64 * 1024;
constexpr size_t kMaxFreeConnections = 1024;
constexpr size_t kMaxFreeSlots = 1024;
constexpr size_t kMaxPooledBuffer = 64 * 1024;

/// _posted once the loop has ended: post() refuses.
http::LoopTask* const kClosedQueue = reinterpret_cast<http::LoopTask*>(uintptr_t(8));

/// The loop whose thread this is (isLoopThread()).
thread_local const EventLoop* t_currentLoop = nullptr;

/// post(Callback): one heap node per closure, freed after it ran.
class CallbackTask final : public http::LoopTask
{
public:
    explicit CallbackTask(http::Loop::Callback callback) : _callback(std::move(callback)) {}
    void run() noexcept override
    {
        _callback();
        delete this;
    }

private:
    http::Loop::Callback _callback;
};

uint64_t clockNanos(clockid_t clock) noexcept
{
    timespec ts;
    ::clock_gettime(clock, &ts);
    return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

} // namespace

uint64_t coarseNowNanos() noexcept
{
    return clockNanos(CLOCK_MONOTONIC_COARSE);
}
uint64_t monotonicNowNanos() noexcept
{
    return clockNanos(CLOCK_MONOTONIC);
}

EventLoop::EventLoop(LoopShared& shared, unsigned index, int listenFd)
    : _shared(shared), _index(index), _listenFd(listenFd)
{
    // Deadlines are checked a few times per their shortest span: coarse, but never late by
    // more than a quarter of it (10 ms .. 250 ms).
    const ConnectorConfig& c = shared.config;
    uint64_t shortest = 250;
    for (uint32_t ms : {c.keepAliveTimeoutMs, c.headerTimeoutMs, c.bodyTimeoutMs, c.sendTimeoutMs}) {
        if (ms != 0) shortest = std::min<uint64_t>(shortest, ms / 4);
    }
    _tickNanos = std::max<uint64_t>(shortest, 10) * kMillis;
}

EventLoop::~EventLoop()
{
    join();
    for (Connection* c : _live)
        delete c;
    for (Connection* c : _retired)
        delete c;
    for (Watch* w : _watches)
        delete w;
    for (Watch* w : _deadWatches)
        delete w;
    if (_epollFd >= 0) ::close(_epollFd);
    if (_wakeFd >= 0) ::close(_wakeFd);
    if (_spareFd >= 0) ::close(_spareFd);
}

void EventLoop::start()
{
    _epollFd = ::epoll_create1(EPOLL_CLOEXEC);
    _wakeFd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (_epollFd < 0 || _wakeFd < 0)
        throw std::runtime_error(std::string("cannot create event loop: ") + std::strerror(errno));
    _spareFd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    epoll_event wake{};
    wake.events = EPOLLIN;
    wake.data.u64 = kWakeTag;
    epoll_event listen{};
    listen.events = EPOLLIN;
    listen.data.u64 = kListenTag;
    if (::epoll_ctl(_epollFd, EPOLL_CTL_ADD, _wakeFd, &wake) != 0 ||
        ::epoll_ctl(_epollFd, EPOLL_CTL_ADD, _listenFd, &listen) != 0)
        throw std::runtime_error(std::string("cannot set up event loop: ") + std::strerror(errno));
    _listening = true;
    _readBuffer.resize(kReadBufferSize);
    _now = coarseNowNanos();
    _nextTick = _now + _tickNanos;
    _nextWake = _nextTick;
    _thread = std::thread([this] {
        char name[16];
        std::snprintf(name, sizeof name, "serval-io-%u", _index);
        ::pthread_setname_np(::pthread_self(), name);
        t_currentLoop = this;
        if (_shared.loopStartHook) _shared.loopStartHook(*this);
        run();
        t_currentLoop = nullptr;
        std::lock_guard<std::mutex> lock(_exitMutex);
        _exited = true;
        _exitCondition.notify_all();
    });
}

void EventLoop::requestStop(uint64_t drainDeadlineNanos)
{
    _stopDeadline.store(drainDeadlineNanos, std::memory_order_relaxed);
    _stopRequested.store(true, std::memory_order_release);
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(_wakeFd, &one, sizeof one);
}

void EventLoop::join()
{
    if (_thread.joinable()) _thread.join();
}

bool EventLoop::joinUntil(uint64_t deadlineNanos)
{
    if (!_thread.joinable()) return true;
    {
        std::unique_lock<std::mutex> lock(_exitMutex);
        const uint64_t now = coarseNowNanos();
        _exitCondition.wait_for(lock, std::chrono::nanoseconds(deadlineNanos > now ? deadlineNanos - now : 0),
                                [this] { return _exited; });
        if (!_exited) {
            _thread.detach(); // stuck in a handler: it keeps this loop, which the Connector leaks
            return false;
        }
    }
    _thread.join();
    return true;
}

bool EventLoop::isLoopThread() const noexcept
{
    return t_currentLoop == this;
}

bool EventLoop::post(http::LoopTask& task) noexcept
{
    http::LoopTask* head = _posted.load(std::memory_order_relaxed);
    do {
        if (head == kClosedQueue) return false;
        task.loopNext = head;
    } while (
        !_posted.compare_exchange_weak(head, &task, std::memory_order_release, std::memory_order_relaxed));
    // Otherwise a wake-up is already on its way, or the loop's own thread posted: it runs what
    // is posted before it sleeps again (run()), so a task it posts itself (a lane's deferred
    // publish, an exchange resumed) costs no eventfd write, read and extra epoll_wait.
    if (head == nullptr && t_currentLoop != this) {
        uint64_t one = 1;
        [[maybe_unused]] ssize_t n = ::write(_wakeFd, &one, sizeof one);
    }
    return true;
}

bool EventLoop::post(Callback callback)
{
    auto* task = new CallbackTask(std::move(callback));
    if (post(*task)) return true;
    delete task;
    return false;
}

void EventLoop::runPosted(bool close) noexcept
{
    http::LoopTask* list = _posted.exchange(close ? kClosedQueue : nullptr, std::memory_order_acquire);
    if (list == nullptr || list == kClosedQueue) return;
    // The stack holds the newest first: run oldest first, as posted.
    for (; list != nullptr; list = list->loopNext)
        _postedWork.push_back(list);
    for (size_t i = _postedWork.size(); i > 0; --i)
        _postedWork[i - 1]->run(); // may free the task (CallbackTask) or post it again
    _postedWork.clear();
}

http::WatchId EventLoop::watch(int fd, uint32_t epollEvents, WatchCallback callback)
{
    auto* w = new Watch{fd, std::move(callback)};
    epoll_event event{};
    event.events = epollEvents;
    event.data.u64 = reinterpret_cast<uintptr_t>(w) | kWatchBit;
    if (::epoll_ctl(_epollFd, EPOLL_CTL_ADD, fd, &event) != 0) {
        int error = errno;
        delete w;
        errno = error;
        return {};
    }
    _watches.insert(w);
    return http::WatchId{reinterpret_cast<uintptr_t>(w)};
}

bool EventLoop::setWatchEvents(http::WatchId id, uint32_t epollEvents) noexcept
{
    auto* w = reinterpret_cast<Watch*>(id.value);
    epoll_event event{};
    event.events = epollEvents;
    event.data.u64 = id.value | kWatchBit;
    return ::epoll_ctl(_epollFd, EPOLL_CTL_MOD, w->fd, &event) == 0;
}

void EventLoop::unwatch(http::WatchId id) noexcept
{
    auto* w = reinterpret_cast<Watch*>(id.value);
    if (w == nullptr || w->dead) return;
    ::epoll_ctl(_epollFd, EPOLL_CTL_DEL, w->fd, nullptr);
    w->dead = true;
    _watches.erase(w);
    _deadWatches.push_back(w); // events of this iteration may still name it
}

http::TimerId EventLoop::addTimer(uint64_t deadlineNanos, Callback callback)
{
    http::TimerId id{deadlineNanos, ++_timerSequence};
    _timers.emplace(std::make_pair(id.deadline, id.sequence), std::move(callback));
    _nextWake = std::min(_nextWake, deadlineNanos);
    return id;
}

bool EventLoop::cancelTimer(http::TimerId id) noexcept
{
    return _timers.erase(std::make_pair(id.deadline, id.sequence)) != 0;
}

void EventLoop::runTimers() noexcept
{
    while (!_timers.empty() && _timers.begin()->first.first <= _now) {
        // Out of the table before the call: the callback may add or cancel timers.
        Callback callback = std::move(_timers.begin()->second);
        _timers.erase(_timers.begin());
        callback();
    }
}

ExchangeSlot* EventLoop::acquireSlot()
{
    if (_freeSlots.empty()) {
        auto* slot = new ExchangeSlot();
        slot->exchange.loop = this; // a slot never leaves its loop
        return slot;
    }
    ExchangeSlot* slot = _freeSlots.back().release();
    _freeSlots.pop_back();
    return slot;
}

void EventLoop::releaseSlot(ExchangeSlot* slot) noexcept
{
    // A large upload or response should not pin its memory in the pool for ever.
    std::string& requestBody = slot->exchange.request.body;
    std::string& responseBody = slot->exchange.response.body();
    if (requestBody.capacity() > kMaxPooledBuffer) std::string().swap(requestBody);
    if (responseBody.capacity() > kMaxPooledBuffer) std::string().swap(responseBody);
    if (slot->out.capacity() > kMaxPooledBuffer) std::string().swap(slot->out);
    if (_freeSlots.size() >= kMaxFreeSlots) {
        delete slot;
        return;
    }
    _freeSlots.emplace_back(slot);
}

void EventLoop::retire(Connection* connection) noexcept
{
    size_t index = connection->liveIndex;
    _live[index] = _live.back();
    _live[index]->liveIndex = index;
    _live.pop_back();
    _retired.push_back(connection);
    _shared.openConnections.fetch_sub(1, std::memory_order_relaxed);
    LoopCounters::bump(_counters.closed);
}

void EventLoop::freeRetired() noexcept
{
    for (Connection* c : _retired) {
        c->releaseClosed();
        if (_freeConnections.size() < kMaxFreeConnections)
            _freeConnections.emplace_back(c);
        else
            delete c;
    }
    _retired.clear();
}

void EventLoop::onTick() noexcept
{
    if (!_timers.empty()) runTimers();
    if (_now >= _nextTick) {
        checkDeadlines();
        _nextTick = _now + _tickNanos;
        _nextWake = _nextTick;
        for (Watch* w : _deadWatches) // unwatched at least one iteration ago
            delete w;
        _deadWatches.clear();
    }
    _nextWake = _timers.empty() ? _nextTick : std::min(_nextTick, _timers.begin()->first.first);
}

void EventLoop::run()
{
    epoll_event events[256];
    for (;;) {
        _now = coarseNowNanos();
        int timeoutMs = _nextWake > _now ? static_cast<int>((_nextWake - _now) / kMillis) + 1 : 0;
        // Tasks posted by this thread's last pass of posted tasks (no wake-up was written for
        // them): look at the sockets, but do not sleep.
        if (_posted.load(std::memory_order_acquire) != nullptr) timeoutMs = 0;
        int n = ::epoll_wait(_epollFd, events, 256, timeoutMs);
        if (n < 0 && errno != EINTR) {
            LOG_ERROR("connector", std::string("epoll_wait failed: ") + std::strerror(errno));
            break;
        }
        _now = coarseNowNanos();
        for (int i = 0; i < n; ++i) {
            const uint64_t tag = events[i].data.u64;
            if ((tag & kWatchBit) == 0 && tag > kWakeTag) { // a connection: the common case first
                auto* connection = static_cast<Connection*>(events[i].data.ptr);
                if (!connection->closed()) connection->onEvents(events[i].events);
            } else if (tag == kListenTag) {
                onAccept();
            } else if (tag == kWakeTag) {
                onWake();
            } else {
                auto* w = reinterpret_cast<Watch*>(tag & ~kWatchBit);
                if (!w->dead) w->callback(events[i].events);
            }
        }
        // What this iteration posted to its own loop runs now, after all of its events (once:
        // a task that posts itself again waits for the next iteration's look at the sockets).
        if (_posted.load(std::memory_order_acquire) != nullptr) runPosted(false);
        if (_now >= _nextWake) onTick();
        freeRetired();
        if (_draining && (_live.empty() || _abandoned)) break;
    }
    // Reached when nothing is dispatched any more, at a hard stop, or when epoll failed: close
    // what is left but the abandoned.
    for (size_t i = _live.size(); i > 0; --i) {
        if (!_live[i - 1]->dispatched()) _live[i - 1]->close();
    }
    runPosted(true); // what was posted until now still runs; later posts are refused
    freeRetired();
}

void EventLoop::onAccept()
{
    const ConnectorConfig& config = _shared.config;
    for (int i = 0; i < 64; ++i) {
        sockaddr_storage peer{};
        socklen_t peerLength = sizeof peer;
        int fd = ::accept4(_listenFd, reinterpret_cast<sockaddr*>(&peer), &peerLength,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            if ((errno == EMFILE || errno == ENFILE) && _spareFd >= 0) {
                // Out of descriptors: accept with the spare one and close at once, so the
                // level-triggered listener does not spin and the client is told.
                if (_now >= _nextFdWarning) { // at most one line per second
                    LOG_WARN("connector",
                             "out of file descriptors: refusing connections; raise `ulimit -n` or "
                             "lower maxConnections");
                    _nextFdWarning = _now + 1000 * kMillis;
                }
                ::close(_spareFd);
                int refused = ::accept4(_listenFd, nullptr, nullptr, SOCK_CLOEXEC);
                if (refused >= 0) ::close(refused);
                _spareFd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
                return;
            }
            // EINVAL: the listener was shut down by stop().
            if (_listening) {
                ::epoll_ctl(_epollFd, EPOLL_CTL_DEL, _listenFd, nullptr);
                _listening = false;
            }
            return;
        }
        if (_draining || _shared.openConnections.load(std::memory_order_relaxed) >= config.maxConnections) {
            LoopCounters::bump(_counters.refused); // first: the client may look as soon as it is closed
            ::close(fd);
            continue;
        }
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        Connection* connection;
        if (_freeConnections.empty()) {
            connection = new Connection(*this);
        } else {
            connection = _freeConnections.back().release();
            _freeConnections.pop_back();
        }
        connection->open(fd, reinterpret_cast<sockaddr*>(&peer), peerLength);
        if (_shared.transportFactory) connection->setTransport(_shared.transportFactory(fd));
        epoll_event event{};
        event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
        event.data.ptr = connection;
        connection->liveIndex = _live.size();
        _live.push_back(connection);
        _shared.openConnections.fetch_add(1, std::memory_order_relaxed);
        LoopCounters::bump(_counters.accepted);
        if (::epoll_ctl(_epollFd, EPOLL_CTL_ADD, fd, &event) != 0) connection->close();
    }
}

void EventLoop::onWake()
{
    uint64_t value;
    [[maybe_unused]] ssize_t n = ::read(_wakeFd, &value, sizeof value);
    if (_stopRequested.load(std::memory_order_acquire) && !_draining) beginDrain();
    runPosted(false);
}

void EventLoop::beginDrain()
{
    _draining.store(true, std::memory_order_relaxed);
    _drainDeadline = _stopDeadline.load(std::memory_order_relaxed);
    if (_listening) {
        ::epoll_ctl(_epollFd, EPOLL_CTL_DEL, _listenFd, nullptr);
        _listening = false;
    }
    // Backwards: close() moves the last live connection into the closed one's place.
    for (size_t i = _live.size(); i > 0; --i) {
        if (_live[i - 1]->idle())
            _live[i - 1]->close();
        else
            _live[i - 1]->onDrain(); // HTTP/2: GOAWAY, then close once its streams are done
    }
}

void EventLoop::checkDeadlines()
{
    const bool force = _draining && _now >= _drainDeadline;
    for (size_t i = _live.size(); i > 0; --i) {
        Connection* connection = _live[i - 1];
        if (force) {
            // Past the drain deadline everything closes; a dispatched exchange only if it is
            // still waiting in its lane (it will never run now).
            if (!connection->dispatched() || connection->withdraw()) connection->close();
            continue;
        }
        uint64_t deadline = connection->deadline();
        if (deadline != 0 && deadline <= _now) connection->onTimeout();
    }
    if (force && !_live.empty()) abandonRunning();
}

void EventLoop::abandonRunning() noexcept
{
    // What is left runs in a handler that did not return in time. The worker keeps using its
    // Connection (and this loop's memory, which the Connector leaks): only the socket is shut
    // (the client sees the end; the worker's writes fail), never closed (its number could be
    // reused under the worker's feet).
    for (Connection* connection : _live) {
        try {
            UnfinishedExchange unfinished = connection->describeRunning();
            unfinished.loopIndex = _index;
            _unfinished.push_back(std::move(unfinished));
        } catch (...) {
            // Out of memory while describing: the exchange is still abandoned, just not listed.
        }
        connection->shutdownSocket();
    }
    _abandoned = true;
}

} // namespace serval::connector
