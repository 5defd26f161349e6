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

    ResponseHold(http::HttpExchange& exchange, http::Loop& loop, bool anyThread) noexcept
        : _exchange(&exchange), _loop(loop), _anyThread(anyThread)
    {}

    /// Any thread, once: `fill` (may be empty) then resume, on the exchange's loop thread (on
    /// the caller's when the exchange's control resumes from any thread: a worker's stream).
    /// Before service() returned, both wait for serviceReturned(): the response is still the
    /// request thread's until then.
    void release(Fill fill) noexcept;
    /// Engine::service(), on its thread, once the response is final: a release that came
    /// early is carried out now (its fill on this thread, the resume as release() does).
    void serviceReturned() noexcept;
    /// Engine::complete() (the loop thread; a worker's request thread): the exchange is gone.
    void ended() noexcept;

private:
    /// Unless the exchange ended: `fill` (the caller owns the response now), then the resume
    /// if `resume`.
    void releaseNow(const Fill& fill, bool resume) noexcept;
    /// releaseNow() where release() says: here, or posted to the loop.
    void dispatch(Fill fill) noexcept;

    std::mutex _mutex;             ///< guards the members below
    http::HttpExchange* _exchange; ///< null once the exchange ended
    bool _returned = false;        ///< serviceReturned() ran
    bool _released = false;        ///< release() came before serviceReturned()
    Fill _early;                   ///< that release's fill
    http::Loop& _loop;             ///< the exchange's loop: outlives its exchanges
    const bool _anyThread;         ///< ExchangeControl::resumesFromAnyThread()
};

} // namespace serval::core
