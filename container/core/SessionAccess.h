#pragma once

#include "core/HttpSession.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace serval::http {
struct HttpExchange;
}

namespace serval::core {

class Context;
class Request;

/// A Context's sessions: makes each request's HttpSession and tells the Context about sessions
/// that expired elsewhere (the sweep). Implemented by container/session, installed through
/// ContextServices::sessions by startup (and by the worker process main), so the core never
/// includes session/.
///
/// OWNERSHIP: held by the Context from start() until it is destroyed.
/// THREADS: open() on request threads, concurrently.
class SessionAccess
{
public:
    virtual ~SessionAccess() = default;
    /// A handle for one request (nothing is looked up until HttpSession::resolve).
    virtual std::unique_ptr<HttpSession> open(Request& request) = 0;
    /// Requests about to be served, read together (an isolated app's worker calls it with what
    /// it read from its channels in one pass): where the store is another process (Redis), the
    /// sessions their cookies name are fetched in one round trip and left on each exchange
    /// (HttpExchange::prefetched) for open() to find. Never throws; a failure leaves the
    /// exchanges as they were (the request's own lookup tries again). Default: nothing.
    virtual void prefetch(const std::vector<http::HttpExchange*>& exchanges) noexcept { (void)exchanges; }
    /// The Context stops: no more sessionDestroyed notifications reach it after this returns.
    virtual void close() noexcept {}
};

/// Builds a Context's SessionAccess when the Context starts; nullptr: no sessions (container
/// contexts such as /metrics).
using SessionAccessFactory = std::function<std::shared_ptr<SessionAccess>(Context& context)>;

} // namespace serval::core
