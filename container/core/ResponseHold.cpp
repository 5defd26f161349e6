#include "core/ResponseHold.h"

#include "http/ExchangeControl.h"
#include "http/HttpHandler.h"
#include "http/Loop.h"

namespace serval::core {

void ResponseHold::release(Fill fill) noexcept
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (!_returned) { // serviceReturned() carries it out
            _released = true;
            _early = std::move(fill);
            return;
        }
    }
    dispatch(std::move(fill));
}

void ResponseHold::serviceReturned() noexcept
{
    Fill fill;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _returned = true;
        if (!_released) return;
        fill = std::move(_early);
    }
    // The response is still this thread's: the fill goes here, only the resume may travel.
    if (fill) releaseNow(fill, false);
    dispatch({});
}

void ResponseHold::dispatch(Fill fill) noexcept
{
    try {
        if (_anyThread || _loop.isLoopThread()) { // a worker's stream: no hop through its loop
            releaseNow(fill, true);
            return;
        }
        // The closure keeps this hold alive until it ran: the exchange may end meanwhile.
        auto self = shared_from_this();
        // False: the loop ended, and with it the connection (the exchange ended or will).
        _loop.post([self, fill = std::move(fill)] { self->releaseNow(fill, true); });
    } catch (...) {
        // std::bad_alloc: no safe way to reach the loop; the connection's close or drain
        // deadline ends the exchange.
    }
}

void ResponseHold::releaseNow(const Fill& fill, bool resume) noexcept
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
    if (resume) exchange->control->resume();
}

void ResponseHold::ended() noexcept
{
    std::lock_guard<std::mutex> lock(_mutex);
    _exchange = nullptr;
}

} // namespace serval::core
