#pragma once

#include "http/AsyncResponse.h"
#include "http/Upgrade.h"

#include <memory>

namespace serval::http {

/// What a handler may ask of the connection that carries an exchange, beyond filling the
/// response: keep it open after service() returns (suspend / resume, AsyncResponse), or
/// switch it to another protocol (upgrade).
/// Implemented by the Connector's connection; HttpExchange::control points to it for the life
/// of the exchange. OWNERSHIP: the connector's; never deleted through this interface.
class ExchangeControl
{
public:
    /// During service(), on the thread running it: when service() returns, the connection does
    /// not finish the response; it parks the exchange (state Suspended) until resume(). The
    /// connection keeps watching the socket: a client that leaves ends the exchange (complete()
    /// follows on the loop thread; resume() must not be called after that). Pipelined requests
    /// wait. A suspended exchange has no connector timeout (arm one with the Loop's timers)
    /// except the drain deadline at shutdown, which closes it.
    virtual void suspend() noexcept = 0;
    /// On the exchange's loop thread, for a suspended exchange whose complete() has not been
    /// called: exchange.response now holds the whole response (or the rest of a streamed one);
    /// the connection finishes it as if service() had just returned. Called before service()
    /// has returned (from a worker's point of view), it takes effect when it does.
    virtual void resume() noexcept = 0;
    /// True if resume() may be called from any thread (a worker process's stream queues the
    /// exchange for a request thread): who resumes need not post to the loop first.
    virtual bool resumesFromAnyThread() const noexcept { return false; }
    /// During service(), on the thread running it: suspends the exchange and returns the
    /// any-thread handle that writes and completes its response (the same handle if called
    /// again). Never null (throws std::bad_alloc only).
    virtual std::shared_ptr<AsyncResponse> startAsync() = 0;
    /// During service(), on the thread running it: if the response goes out as a 101 to a
    /// request that asked for an upgrade (Connection: upgrade + Upgrade), the connection hands
    /// itself to `handler` once the 101 is written (see UpgradeHandler); otherwise `handler` is
    /// destroyed unused. The connector writes `Connection: Upgrade`; the handler sets `Upgrade`.
    virtual void upgrade(std::unique_ptr<UpgradeHandler> handler) noexcept = 0;
    /// During service() or while its response is held, on the thread running it: the request is
    /// about to make a change that must not happen twice (a durable session write). Where a
    /// failed exchange may be replayed (an isolated app's worker crashed before the head), it
    /// is not replayed from now on: 502. Default: nothing (in the server nothing replays).
    virtual void markIrrevocable() noexcept {}

protected:
    ~ExchangeControl() = default;
};

} // namespace serval::http
