#pragma once

#include "http/HttpHandler.h"

#include <string>
#include <vector>

namespace serval::connector {

/// The per-request memory of a connection: the exchange handed to the handler, the output
/// queue, and spare header strings. Pooled per event loop and lent to a connection from the
/// first byte of a request until its response is written, so idle keep-alive connections hold
/// no request memory and steady-state requests reuse capacity instead of allocating.
/// OWNERSHIP: owned by the EventLoop's pool; borrowed by one Connection at a time.
struct ExchangeSlot
{
    http::HttpExchange exchange;
    /// Bytes to write before the body view: status line and headers, 100 Continue, chunk
    /// frames of a streamed body, error pages. `outOffset` bytes of it are already written.
    std::string out;
    size_t outOffset = 0;
    /// Header objects of earlier requests, kept so their string capacity is reused.
    std::vector<http::Header> spareHeaders;

    /// Moves the request's headers to the spare list and clears everything for the next use.
    void recycle() noexcept
    {
        exchange.recycle(spareHeaders);
        out.clear();
        outOffset = 0;
    }

    /// A fresh header at the end of the request's list, reusing a spare one's capacity.
    http::Header& newHeader() { return exchange.request.newHeader(spareHeaders); }
};

} // namespace serval::connector
