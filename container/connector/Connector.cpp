#include "connector/Connector.h"

#include "connector/EventLoop.h"
#include "connector/Graveyard.h"
#include "connector/WorkerPool.h"
#include "util/Log.h"
#include "util/Redact.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace serval::connector {
namespace {

std::string hostPort(const std::string& address, uint16_t port)
{
    if (address.find(':') != std::string::npos) return "[" + address + "]:" + std::to_string(port);
    return address + ":" + std::to_string(port);
}

/// What a person can do about a failed bind/listen.
std::string adviceFor(int error)
{
    switch (error) {
    case EADDRINUSE:
        return "set port= on <Connector> or stop the other process";
    case EACCES:
        return "use a port above 1023 or grant CAP_NET_BIND_SERVICE";
    case EADDRNOTAVAIL:
        return "set address= on <Connector> to an address of this machine (127.0.0.1, 0.0.0.0, ::)";
    default:
        return "check address= and port= on <Connector>";
    }
}

/// A peer that vanished must not kill the process through sendfile(): SIGPIPE is ignored unless
/// the embedding program installed its own handler.
void ignoreSigpipe()
{
    struct sigaction current
    {
    };
    if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
        struct sigaction ignore
        {
        };
        ignore.sa_handler = SIG_IGN;
        ::sigaction(SIGPIPE, &ignore, nullptr);
    }
}

} // namespace

Connector::Connector(ConnectorConfig config, http::HttpHandler& handler, unsigned firstLoopIndex)
    : _config(std::move(config)), _handler(handler), _firstLoopIndex(firstLoopIndex),
      _loopCount(_config.ioThreads != 0 ? _config.ioThreads
                                        : std::max(1u, std::thread::hardware_concurrency()))
{}

Connector::~Connector()
{
    if (_running) stop();
    closeListeners();
}

void Connector::closeListeners() noexcept
{
    for (int fd : _listenFds)
        ::close(fd);
    _listenFds.clear();
}

namespace {

/// A bound, listening, non-blocking socket, or -1 with errno set.
int openListener(const addrinfo* address, bool reusePort)
{
    int fd = ::socket(address->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if ((reusePort && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) ||
        ::bind(fd, address->ai_addr, address->ai_addrlen) != 0 || ::listen(fd, 4096) != 0) {
        int error = errno;
        ::close(fd);
        errno = error;
        return -1;
    }
    return fd;
}

void setPort(sockaddr* address, uint16_t port)
{
    if (address->sa_family == AF_INET)
        reinterpret_cast<sockaddr_in*>(address)->sin_port = htons(port);
    else
        reinterpret_cast<sockaddr_in6*>(address)->sin6_port = htons(port);
}

} // namespace

/// One listening socket per loop. With several loops they form an SO_REUSEPORT group, so the
/// kernel spreads new connections evenly by address hash (one shared socket with EPOLLEXCLUSIVE
/// measured 98% of 512 connections landing on one loop). The port is first bound by a plain
/// socket: that fails with EADDRINUSE whoever holds it, even another SO_REUSEPORT process,
/// which would otherwise silently share our port.
void Connector::listen(unsigned loops)
{
    const std::string where = hostPort(_config.address, _config.port);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(_config.port);
    int rc = ::getaddrinfo(_config.address.empty() ? nullptr : _config.address.c_str(), port.c_str(), &hints,
                           &found);
    if (rc != 0 || found == nullptr) {
        throw std::runtime_error("cannot listen on " + where + ": " + ::gai_strerror(rc) +
                                 "; set address= on <Connector> to a numeric IPv4 or IPv6 address");
    }
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> owner(found, ::freeaddrinfo);
    auto fail = [&](int error) {
        closeListeners();
        throw std::runtime_error("cannot listen on " + where + ": " + std::strerror(error) + "; " +
                                 adviceFor(error));
    };

    int probe = openListener(found, false);
    if (probe < 0) fail(errno);
    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    ::getsockname(probe, reinterpret_cast<sockaddr*>(&bound), &length);
    if (loops == 1) {
        _listenFds.push_back(probe);
    } else {
        ::close(probe);
        const uint16_t chosen =
            ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                             : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
        setPort(found->ai_addr, chosen); // port 0: every socket of the group on the port the kernel picked
        for (unsigned i = 0; i < loops; ++i) {
            int fd = openListener(found, true);
            if (fd < 0) fail(errno);
            _listenFds.push_back(fd);
        }
    }

    char text[INET6_ADDRSTRLEN] = "";
    bool wildcard = false;
    if (bound.ss_family == AF_INET) {
        auto* in = reinterpret_cast<sockaddr_in*>(&bound);
        ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
        _boundPort = ntohs(in->sin_port);
        wildcard = in->sin_addr.s_addr == htonl(INADDR_ANY);
    } else {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&bound);
        ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
        _boundPort = ntohs(in6->sin6_port);
        wildcard = IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr);
    }
    _boundAddress = text;
    _shared.reset(new LoopShared{_config, _redirect ? static_cast<http::HttpHandler&>(*_redirect) : _handler,
                                 *_workers, wildcard ? std::string() : _boundAddress, _boundPort});
    _shared->transportFactory = _transportFactory;
    _shared->loopStartHook = _loopStartHook;
}

void Connector::start()
{
    if (_running) return;
    ignoreSigpipe();
    if (!_config.certificates.empty() && !_tls) {
        auto tls = tls::TlsContext::create(_config.certificates, _hostAliases);
        if (!tls) throw std::runtime_error(tls.error());
        _tls = std::move(*tls);
        _tls->setOfferHttp2(_config.http2);
        _tls->setTicketKeyRotation(std::chrono::milliseconds(_config.ticketKeyRotationIntervalMs));
        _transportFactory = [context = _tls.get()](int fd) { return context->newTransport(fd); };
    }
    if (_config.redirectAll && !_redirect)
        _redirect = std::make_unique<HttpsRedirect>(_handler, _config.redirectPort, _knownHosts);
    _loops.clear(); // from an earlier start(); kept until now so stats() still answers
    _workers = std::make_unique<WorkerPool>(_config.workerThreads, _config.workerQueue);
    listen(_loopCount);
    try {
        for (unsigned i = 0; i < _loopCount; ++i) {
            _loops.push_back(std::make_unique<EventLoop>(*_shared, _firstLoopIndex + i, _listenFds[i]));
            _loops.back()->start();
        }
    } catch (...) {
        for (auto& loop : _loops)
            loop->requestStop(0);
        _loops.clear();
        closeListeners();
        throw;
    }
    _workers->start();
    _running = true;
    if (_tls) {
        _watcherStop = false;
        _certificateWatcher = std::thread([this] { watchCertificates(); });
    }
}

void Connector::watchCertificates()
{
    using Clock = std::chrono::steady_clock;
    std::unique_lock<std::mutex> lock(_watcherMutex);
    const auto checkInterval = std::chrono::milliseconds(_config.certificateCheckIntervalMs);
    Clock::time_point nextCheck = Clock::now() + checkInterval;
    std::chrono::milliseconds untilRotation = _tls->rotateTicketKeysIfDue(Clock::now());
    for (;;) {
        Clock::time_point wake = Clock::now() + untilRotation;
        if (checkInterval.count() > 0) wake = std::min(wake, nextCheck);
        if (_watcherWake.wait_until(lock, wake, [this] { return _watcherStop; })) return;
        lock.unlock();
        const Clock::time_point now = Clock::now();
        if (checkInterval.count() > 0 && now >= nextCheck) {
            _tls->reloadChanged();
            nextCheck = Clock::now() + checkInterval;
        }
        untilRotation = _tls->rotateTicketKeysIfDue(Clock::now());
        lock.lock();
    }
}

void Connector::stopWatchingCertificates()
{
    if (!_certificateWatcher.joinable()) return;
    {
        std::lock_guard<std::mutex> lock(_watcherMutex);
        _watcherStop = true;
    }
    _watcherWake.notify_all();
    _certificateWatcher.join();
}

DrainReport Connector::stop(std::chrono::milliseconds drain)
{
    if (!_running) return {};
    stopWatchingCertificates();
    _shared->stopping.store(true, std::memory_order_relaxed); // responses from now on close
    // No new connections from here on: the loops see EINVAL on accept and drop their listener.
    for (int fd : _listenFds)
        ::shutdown(fd, SHUT_RDWR);
    const uint64_t deadline =
        coarseNowNanos() + static_cast<uint64_t>(std::max<int64_t>(drain.count(), 0)) * 1000000u;
    for (auto& loop : _loops)
        loop->requestStop(deadline);
    // A loop closes what is left at its first deadline check after `deadline` (a tick is at
    // most 250 ms); one that has not ended a second later is stuck in a handler.
    const uint64_t grace = deadline + 1000 * 1000000ull;
    DrainReport report;
    bool loopStuck = false;
    for (auto& loop : _loops) {
        if (loop->joinUntil(grace)) {
            const auto& unfinished = loop->unfinished();
            report.unfinished.insert(report.unfinished.end(), unfinished.begin(), unfinished.end());
            continue;
        }
        loopStuck = true;
        UnfinishedExchange stuck;
        stuck.loopIndex = loop->index();
        stuck.onLoopThread = true;
        report.unfinished.push_back(std::move(stuck));
    }
    // With abandoned exchanges listed, their workers will not return: wait only for the idle
    // ones to leave (their wake-up is immediate), not for the whole grace.
    const uint64_t workersDeadline =
        report.clean() ? grace : std::min<uint64_t>(grace, coarseNowNanos() + 100 * 1000000ull);
    if (_workers->stop(workersDeadline) > 0 && report.clean()) {
        UnfinishedExchange stuck; // a worker still busy although every loop let go of its exchange
        stuck.method = "(worker)";
        report.unfinished.push_back(std::move(stuck));
    }
    _running = false;
    _lastReport = report;
    if (report.clean()) {
        closeListeners();
        return report;
    }
    // Threads that did not stop still use the loops, their connections, the shared state and
    // the pool: all of it is kept for the rest of the process (leaked on purpose). A stuck
    // loop may even accept again: its listener stays open too.
    for (auto& loop : _loops)
        keepForever(std::shared_ptr<EventLoop>(std::move(loop)));
    _loops.clear();
    keepForever(std::shared_ptr<WorkerPool>(std::move(_workers)));
    keepForever(std::shared_ptr<LoopShared>(std::move(_shared)));
    if (loopStuck)
        _listenFds.clear();
    else
        closeListeners();
    for (const UnfinishedExchange& unfinished : report.unfinished)
        LOG_ERROR("connector", "still running after the drain deadline: " + unfinished.describe());
    return report;
}

std::string UnfinishedExchange::describe() const
{
    if (onLoopThread) return "a handler on I/O thread " + std::to_string(loopIndex) + " that never returned";
    std::string redacted; // a secret in the query never reaches a log (util/Redact.h)
    const std::string& shown = util::redactTarget(target, redacted) ? redacted : target;
    std::string text = method + " " + shown + " (host " + (host.empty() ? "-" : host) + ", from " +
                       (remoteAddress.empty() ? "-" : remoteAddress) + ", running ";
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.1f s)", static_cast<double>(runningMs) / 1000.0);
    return text + seconds;
}

std::vector<http::Loop*> Connector::loops() const
{
    std::vector<http::Loop*> loops;
    if (!_running) return loops;
    for (const auto& loop : _loops)
        loops.push_back(loop.get());
    return loops;
}

ConnectorStats Connector::stats() const noexcept
{
    ConnectorStats s;
    if (_shared) {
        s.openConnections = _shared->openConnections.load(std::memory_order_relaxed);
        s.bytesOut = _shared->workerBytesOut.load(std::memory_order_relaxed);
    }
    for (const auto& loop : _loops) {
        const LoopCounters& c = static_cast<const EventLoop&>(*loop).counters();
        s.acceptedConnections += c.accepted.load(std::memory_order_relaxed);
        s.refusedConnections += c.refused.load(std::memory_order_relaxed);
        s.requests += c.requests.load(std::memory_order_relaxed);
        s.bytesIn += c.bytesIn.load(std::memory_order_relaxed);
        s.bytesOut += c.bytesOut.load(std::memory_order_relaxed);
    }
    s.ioThreads = static_cast<uint32_t>(_loops.size());
    if (_workers) {
        s.workerThreads = _workers->threads();
        s.workersBusy = _workers->busy();
        s.workersQueued = _workers->queued();
        s.workerRejected = _workers->rejected();
    }
    return s;
}

} // namespace serval::connector
