#pragma once

#include "config/ConnectorConfig.h"
#include "connector/ConnectorStats.h"
#include "http/HttpHandler.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace serval::connector {

using config::ConnectorConfig;

class EventLoop;
class WorkerPool;
struct LoopShared;

/// Serval's HTTP/1.1 server engine: `ioThreads` epoll event loops that
/// parse requests with llhttp under strict RFC 9112 rules, and a bounded worker pool for
/// handlers that may block. Requests go to an http::HttpHandler (the Engine).
///
/// Listening: one socket per loop, an SO_REUSEPORT group when there are several (see listen()).
///
/// THREADS: start(), stop() and the destructor are called by one controlling thread (the
/// server's main thread); stats(), boundPort() and boundAddress() from any thread.
/// OWNERSHIP: the handler is borrowed and must outlive the Connector (or at least stop()).
class Connector
{
public:
    Connector(ConnectorConfig config, http::HttpHandler& handler);
    ~Connector(); ///< stops (with the configured drain timeout) if still running
    Connector(const Connector&) = delete;
    Connector& operator=(const Connector&) = delete;

    /// Binds, listens, starts the event loops and the worker pool. A second call is a no-op.
    /// Throws std::runtime_error with one actionable line if the address cannot be used.
    void start();
    /// The port actually bound (the kernel's pick when config.port is 0). 0 before start().
    uint16_t boundPort() const noexcept { return _boundPort; }
    /// The numeric address bound ("127.0.0.1", "::").
    const std::string& boundAddress() const noexcept { return _boundAddress; }
    bool running() const noexcept { return _running; }

    /// Graceful stop: no new connections, idle keep-alive connections close at once, requests
    /// in flight finish (their responses carry `Connection: close`) within `drain`; after that
    /// every remaining connection is closed. Joins all threads. A handler still running in a
    /// worker after `drain` is waited for (it cannot be interrupted), its client is closed.
    void stop(std::chrono::milliseconds drain);
    void stop() { stop(std::chrono::milliseconds(_config.drainTimeoutMs)); }

    ConnectorStats stats() const noexcept;
    const ConnectorConfig& config() const noexcept { return _config; }

private:
    void listen(unsigned loops);
    void closeListeners() noexcept;

    ConnectorConfig _config;
    http::HttpHandler& _handler;
    std::vector<int> _listenFds; ///< one per loop
    uint16_t _boundPort = 0;
    std::string _boundAddress;
    bool _running = false;
    std::unique_ptr<WorkerPool> _workers;
    std::unique_ptr<LoopShared> _shared;
    std::vector<std::unique_ptr<EventLoop>> _loops;
};

} // namespace serval::connector
