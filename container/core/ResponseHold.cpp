#include "core/ResponseHold.h"

#include "http/ExchangeControl.h"
#include "http/HttpHandler.h"
#include "http/Loop.h"

namespace serval::core {

void ResponseHold::release(Fill fill) noexcept
{
    try {
        if (_loop.isLoopThread()) {
            releaseOnLoop(fill);
            return;
        }
        // The closure keeps this hold alive until it ran: the exchange may end meanwhile.
        auto self = shared_from_this();
        // False: the loop ended, and with it the connection (the exchange ended or will).
        _loop.post([self, fill = std::move(fill)] { self->releaseOnLoop(fill); });
    } catch (...) {
        // std::bad_alloc: no safe way to reach the loop; the connection's close or drain
        // deadline ends the exchange.
    }
}

void ResponseHold::releaseOnLoop(const Fill& fill) noexcept
{
    http::HttpExchange* exchange = nullptr;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        exchange = _exchange;
    }
    if (exchange == nullptr) return; // the client left while its response was held
    if (fill) {
        try {
            fill(*exchange);
        } catch (...) { // out of memory editing the response: send what it holds
        }
    }
    exchange->control->resume();
}

void ResponseHold::ended() noexcept
{
    std::lock_guard<std::mutex> lock(_mutex);
    _exchange = nullptr;
}

} // namespace serval::core
