#pragma once

#include "core/Context.h"
#include "core/Host.h"
#include "core/Lifecycle.h"
#include "core/ResponseHold.h"
#include "http/HttpHandler.h"
#include "mapper/ContextMapper.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace serval::core {

/// The immutable routing table every request reads: hosts by name and alias, contexts by
/// path. Rebuilt on each change and swapped atomically; a request pins the snapshot it
/// routed with (and so every Context in it) until it completes.
struct RoutingSnapshot
{
    struct HostRoute
    {
        std::shared_ptr<Host> host;
        std::vector<std::shared_ptr<Context>> contexts; ///< ContextMapper targets
        mapper::ContextMapper mapper;
    };
    std::vector<HostRoute> hosts; ///< HostMapper targets
    mapper::HostMapper hostMapper;
};

/// The request pipeline behind every Connector (Tomcat's StandardEngine + CoyoteAdapter):
/// routes by Host header and path, then hands the request to the Context.
///
/// OWNERSHIP: owned by the Server; Connectors hold a reference (HttpHandler&) and must be
/// stopped before the Engine is destroyed.
/// THREADS: onHead() on I/O threads; service()/complete() on the thread onHead() chose;
/// addHost()/routingChanged() on control threads. Request threads never take a lock.
class Engine : public http::HttpHandler, public Lifecycle
{
public:
    Engine(std::string defaultHost, ContextServices services);
    ~Engine() override;

    /// Adds a host (before or after start; a Host added after start is started here).
    void addHost(std::shared_ptr<Host> host);
    /// By name or alias, case-insensitive; nullptr if none.
    std::shared_ptr<Host> findHost(std::string_view name) const;
    /// The host that answers unknown Host headers (nullptr before it is added).
    std::shared_ptr<Host> defaultHost() const;
    std::vector<std::shared_ptr<Host>> hosts() const;
    const std::string& defaultHostName() const noexcept { return _defaultHost; }

    /// What every Context needs injected (the app loader, the DefaultServlet factory): the
    /// deployer and the admin page build their Contexts with these.
    const ContextServices& services() const noexcept { return _services; }

    /// Rebuilds and publishes the routing snapshot. Called by Host after each change.
    void routingChanged();

    http::HeadDecision onHead(http::HttpExchange& exchange) noexcept override;
    void service(http::HttpExchange& exchange) noexcept override;
    void complete(http::HttpExchange& exchange, uint64_t bytesSent) noexcept override;

    /// During service(), on its thread: exchange.control->startAsync() with the response
    /// compression in between (compression::CompressingAsyncResponse) unless the Connector's
    /// settings are off (or absent: a worker process, whose server compresses); Engine::service hands it what
    /// service() left when it returns. Every container caller (AsyncContext, the process room's
    /// forwarded exchanges) starts async responses here, not on ExchangeControl directly. An
    /// exchange this Engine did not route gets the connector's response unchanged.
    static std::shared_ptr<http::AsyncResponse> startAsync(http::HttpExchange& exchange);
    /// startAsync() for an exchange that service() left suspended, once its service() returned
    /// (loop thread): a forwarded exchange whose worker turned out to stream its response. The
    /// compression gets what service() left (nothing) at once, as Engine::service would have.
    static std::shared_ptr<http::AsyncResponse> startAsyncAfterService(http::HttpExchange& exchange);
    /// During service(), on its thread (Context::finishSession): suspends the exchange so its
    /// complete response leaves only once the returned hold is released (the session's commit
    /// callback). Null when the exchange cannot be parked (no control or loop, or not routed by
    /// an Engine): the caller then waits on its thread. The hold learns in complete() that the
    /// exchange ended.
    static std::shared_ptr<ResponseHold> holdResponse(http::HttpExchange& exchange);

protected:
    void startInternal() override;
    void stopInternal() noexcept override;
    std::string lifecycleName() const override { return "engine"; }

private:
    /// The current snapshot, pinned for one request. Lock-free in the steady state (see .cpp).
    std::shared_ptr<const RoutingSnapshot> currentSnapshot() const;

    std::string _defaultHost;
    ContextServices _services;
    mutable std::mutex _mutex; ///< control threads only: guards _hosts and snapshot rebuilds
    std::vector<std::shared_ptr<Host>> _hosts;
    std::shared_ptr<const RoutingSnapshot> _snapshot; ///< atomic_load/atomic_store only
    /// Identifies _snapshot: a new value (unique across all Engines) on every publish, stored
    /// after the snapshot, so a request thread can tell its cached copy is still current.
    std::atomic<uint64_t> _generation{0};
};

} // namespace serval::core
