#pragma once

#include <functional>
#include <memory>
#include <mutex>

namespace serval::http {
struct HttpExchange;
class Loop;
} // namespace serval::http

namespace serval::core {

/// A response that is complete but must not leave yet: Context::finishSession holds it while
/// the session store makes the request's writes durable (the group commit), so the request's
/// thread goes back to its pool instead of waiting for the fsync. Made by
/// Engine::holdResponse() during service(), which suspends the exchange (ExchangeControl);
/// release() hands it back, and the connection sends it as if service() had just returned.
///
/// THREADS: release() from any thread, once (the store's commit callback); it posts to the
/// exchange's loop, where `fill` may still change the response (a 503 when the commit failed)
/// before the exchange resumes. ended() on the loop thread (Engine::complete(): the client left
/// while the response was held, or the connector closed the connection at shutdown); a release
/// after that does nothing.
/// OWNERSHIP: shared by the exchange's EngineExchangeState and whoever will release it.
class ResponseHold : public std::enable_shared_from_this<ResponseHold>
{
public:
    using Fill = std::function<void(http::HttpExchange& exchange)>;

    ResponseHold(http::HttpExchange& exchange, http::Loop& loop) noexcept : _exchange(&exchange), _loop(loop)
    {}

    /// Any thread, once: `fill` (may be empty) then resume, on the exchange's loop thread.
    void release(Fill fill) noexcept;
    /// Engine::complete(), loop thread: the exchange is gone; forget it.
    void ended() noexcept;

private:
    void releaseOnLoop(const Fill& fill) noexcept;

    std::mutex _mutex;             ///< guards _exchange (ended() and the posted task)
    http::HttpExchange* _exchange; ///< null once the exchange ended
    http::Loop& _loop;             ///< the exchange's loop: outlives its exchanges
};

} // namespace serval::core
