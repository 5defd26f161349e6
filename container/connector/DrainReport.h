#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace serval::connector {

/// One exchange that was still running when a Connector's drain deadline passed: its handler
/// (app code on a worker, or an Inline handler on an I/O thread) did not return in time.
struct UnfinishedExchange
{
    std::string method;        ///< "GET"; empty when only the I/O thread is known (onLoopThread)
    std::string target;        ///< "/shop/cart?id=1"
    std::string host;          ///< the Host header
    std::string remoteAddress; ///< the client
    uint64_t runningMs = 0;    ///< since its head was complete
    unsigned loopIndex = 0;    ///< http::Loop::index() of its connection
    /// True: an I/O thread did not stop (an Inline handler, or a loop callback, never returned);
    /// what it runs is not known, only the loop.
    bool onLoopThread = false;

    /// "GET /shop/cart (host shop.example, from 10.0.0.7, running 12.3 s)" for a log line.
    std::string describe() const;
};

/// What Connector::stop() left behind. Empty: everything finished or was closed in time.
/// Otherwise the listed handlers still run on threads the Connector let go of; the Connector
/// has kept (leaked) everything they use, but the HttpHandler behind it must not be destroyed
/// either: the process should log the list and exit (startup does).
struct DrainReport
{
    std::vector<UnfinishedExchange> unfinished;
    bool clean() const noexcept { return unfinished.empty(); }
};

} // namespace serval::connector
