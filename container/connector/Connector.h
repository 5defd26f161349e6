#pragma once

#include "config/ConnectorConfig.h"
#include "connector/ConnectorStats.h"
#include "connector/DrainReport.h"
#include "connector/HttpsRedirect.h"
#include "connector/Transport.h"
#include "connector/tls/TlsContext.h"
#include "http/HttpHandler.h"
#include "http/Loop.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
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
    /// `firstLoopIndex`: the http::Loop::index() of this Connector's first loop; the Server
    /// gives each Connector the next free one, so indices are dense across the Server.
    Connector(ConnectorConfig config, http::HttpHandler& handler, unsigned firstLoopIndex = 0);
    ~Connector(); ///< stops (with the configured drain timeout) if still running
    Connector(const Connector&) = delete;
    Connector& operator=(const Connector&) = delete;

    /// Makes the Transport of each accepted connection (given its socket); none = plain TCP.
    /// For TLS (issue 16). Call before start(); the factory runs on the loop threads.
    using TransportFactory = std::function<std::unique_ptr<Transport>(int fd)>;
    void setTransportFactory(TransportFactory factory) { _transportFactory = std::move(factory); }
    /// Runs on each loop's own thread when it starts, before it accepts a connection: what
    /// the rooms above must attach to a loop before the first exchange reaches it (startup:
    /// the process manager's lanes). Call before start().
    using LoopStartHook = std::function<void(http::Loop&)>;
    void setLoopStartHook(LoopStartHook hook) { _loopStartHook = std::move(hook); }

    /// TLS (config.certificates not empty): how a certificate's host name expands to that
    /// Host's aliases (startup knows the Hosts; the connector does not). Call before start().
    void setHostAliases(tls::TlsContext::HostAliases aliases) { _hostAliases = std::move(aliases); }
    /// redirect="https" (config.redirectAll): which Host header names may be redirected to
    /// (startup: the Hosts' names and aliases). Unset: every request gets 400. Before start().
    void setKnownHosts(HttpsRedirect::KnownHost isKnownHost) { _knownHosts = std::move(isKnownHost); }
    /// The TLS side, from start() on; nullptr on a plain connector.
    /// THREADS: any thread while the Connector exists (TlsContext is thread-safe).
    const std::shared_ptr<tls::TlsContext>& tls() const noexcept { return _tls; }

    /// Binds, listens, starts the event loops and the worker pool. A second call is a no-op.
    /// Throws std::runtime_error with one actionable line if the address or a certificate
    /// cannot be used.
    void start();
    /// The port actually bound (the kernel's pick when config.port is 0). 0 before start().
    uint16_t boundPort() const noexcept { return _boundPort; }
    /// The numeric address bound ("127.0.0.1", "::").
    const std::string& boundAddress() const noexcept { return _boundAddress; }
    bool running() const noexcept { return _running; }

    /// Graceful stop: no new connections, idle keep-alive connections close at once, requests
    /// in flight finish (their responses carry `Connection: close`) within `drain`; after that
    /// every remaining connection is closed, suspended and upgraded ones included, and
    /// exchanges still waiting for a worker are withdrawn. The deadline is hard: a handler that
    /// has not returned by then (on a worker, or Inline on an I/O thread) is abandoned, listed
    /// in the report (and the log), and stop() returns about a second after `drain` at most.
    /// Then the Connector keeps (leaks) every object those threads use; its owner must not
    /// destroy the handler, and should exit the process. Joins every thread that did stop.
    DrainReport stop(std::chrono::milliseconds drain);
    DrainReport stop() { return stop(std::chrono::milliseconds(_config.drainTimeoutMs)); }
    /// What the last stop() reported (empty before one).
    const DrainReport& lastDrainReport() const noexcept { return _lastReport; }

    /// How many I/O loops start() runs (config ioThreads, or one per core when 0). Fixed at
    /// construction, so the Server can hand out loop indices before anything starts.
    unsigned loopCount() const noexcept { return _loopCount; }
    /// The running loops, by index (valid from start() until stop() returns; empty otherwise).
    /// The set does not change in between: per-loop resources (the process manager's rings)
    /// can be attached to each at start-up, or lazily on the first exchange seen from a loop.
    /// THREADS: the controlling thread, or any thread while the Connector runs.
    std::vector<http::Loop*> loops() const;

    ConnectorStats stats() const noexcept;
    const ConnectorConfig& config() const noexcept { return _config; }

private:
    void listen(unsigned loops);
    void closeListeners() noexcept;
    void watchCertificates();
    void stopWatchingCertificates();

    ConnectorConfig _config;
    http::HttpHandler& _handler;
    unsigned _firstLoopIndex;
    unsigned _loopCount;
    std::vector<int> _listenFds; ///< one per loop
    uint16_t _boundPort = 0;
    std::string _boundAddress;
    bool _running = false;
    DrainReport _lastReport;
    TransportFactory _transportFactory;
    LoopStartHook _loopStartHook;
    tls::TlsContext::HostAliases _hostAliases;
    HttpsRedirect::KnownHost _knownHosts;
    std::unique_ptr<HttpsRedirect> _redirect; ///< in front of _handler when config.redirectAll
    std::shared_ptr<tls::TlsContext> _tls;
    /// TLS: checks the certificate files every certificateCheckInterval (TlsContext::
    /// reloadChanged()) and rotates the session-ticket key every ticketKeyRotationInterval
    /// (TlsContext::rotateTicketKeysIfDue()) from start() to stop(); its own thread, so a slow
    /// disk or a big key never stalls a loop.
    std::thread _certificateWatcher;
    std::mutex _watcherMutex;
    std::condition_variable _watcherWake;
    bool _watcherStop = false;
    std::unique_ptr<WorkerPool> _workers;
    std::unique_ptr<LoopShared> _shared;
    std::vector<std::unique_ptr<EventLoop>> _loops;
};

} // namespace serval::connector
