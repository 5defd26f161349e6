#pragma once

#include "http/HttpHandler.h"

#include <memory>

namespace serval::core {

class Context;

/// A Context's decision on a request head, before one byte of its body is read: a container
/// Context (the manager) authenticates there, so an unauthenticated upload costs nothing.
/// Installed with Context::setHeadCheck() before the Context starts; the Engine asks it for every
/// request it routes to that Context, after mapping.
///
/// THREADS: checkHead() runs on I/O threads, concurrently: it must not block (no disk or network
/// waits; in-memory state behind short locks).
/// OWNERSHIP: shared by the Context (and by whoever installed it).
class HeadCheck
{
public:
    virtual ~HeadCheck() = default;
    /// To refuse: fill exchange.response and set decision.rejectStatus; the Connector sends it
    /// without reading the body and closes the connection if a body was announced. May lower
    /// decision.maxBodySize (for example for routes that take small JSON bodies only).
    /// To take an accepted body as it arrives instead of buffered in request.body (the manager's
    /// upload, staged to a file), set `bodyConsumer`: the Engine owns it for the exchange (until
    /// HttpHandler::complete()), hands it to the Connector and to Request::bodyConsumer().
    virtual void checkHead(const Context& context, http::HttpExchange& exchange, http::HeadDecision& decision,
                           std::unique_ptr<http::BodyConsumer>& bodyConsumer) noexcept = 0;
};

} // namespace serval::core
