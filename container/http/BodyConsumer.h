#pragma once

#include <string_view>

namespace serval::http {

struct HttpExchange;

/// What a BodyConsumer says about what it got.
struct BodyVerdict
{
    /// 0: go on. Otherwise the Connector answers this status (with exchange.response if the
    /// consumer filled it, else a plain page) instead of calling service().
    int abortStatus = 0;

    static BodyVerdict proceed() noexcept { return {}; }
    static BodyVerdict abort(int status) noexcept { return {status}; }
};

/// Takes a request body as it arrives instead of having it buffered in request.body: the
/// manager's upload streams to a file under staging (authorised on the head, never held in
/// memory), an isolated app's body goes to its worker process in bounded chunks.
/// Returned by HttpHandler::onHead() in HeadDecision::bodyConsumer; the limits still apply
/// (maxBodySize -> 413 as bytes arrive, the body timeout -> 408, 100-continue is answered only
/// for an accepting decision).
///
/// THREADS: both calls on the exchange's loop thread, in order; they must not block.
/// OWNERSHIP: the handler's (typically part of its ExchangeState); it must stay valid until
/// HttpHandler::complete() for the exchange. If the body never completes (client gone, timeout,
/// 413, parse error) neither onEnd() nor service() is called; complete() always is.
class BodyConsumer
{
public:
    virtual ~BodyConsumer() = default;
    /// The next body bytes (de-chunked; never empty). Valid only during the call. An abort
    /// stops reading: the answer carries `Connection: close` and the unread rest of the body is
    /// drained for a moment (linger) so the answer is not reset away.
    virtual BodyVerdict onData(HttpExchange& exchange, std::string_view bytes) noexcept = 0;
    /// After the last body byte (and any trailers). proceed(): service() runs as onHead()
    /// decided, with request.body empty. abort(status): answered at once; the connection stays
    /// open for the next request (the whole body was read).
    virtual BodyVerdict onEnd(HttpExchange& exchange) noexcept = 0;
};

} // namespace serval::http
