#include "core/AsyncContext.h"

#include "core/Engine.h"
#include "core/Request.h"
#include "core/Response.h"
#include "http/ExchangeControl.h"

#include <stdexcept>

namespace serval::core {

std::shared_ptr<AsyncContext> AsyncContext::start(Request& request, Response& response,
                                                  std::chrono::milliseconds timeout,
                                                  std::shared_ptr<AsyncListener> listener, int timeoutStatus)
{
    (void)response; // the head is exchange.response as service() leaves it
    http::HttpExchange& exchange = request.exchange();
    if (exchange.control == nullptr || exchange.loop == nullptr)
        throw std::logic_error("this exchange cannot outlive service()");
    std::shared_ptr<AsyncContext> async(
        new AsyncContext(Engine::startAsync(exchange), *exchange.loop, std::move(listener), timeoutStatus));
    std::weak_ptr<AsyncContext> weak = async;
    async->_response->onClientGone([weak] {
        if (auto self = weak.lock())
            if (self->_listener) self->_listener->onClientGone(*self);
    });
    if (timeout.count() > 0) async->arm(timeout);
    return async;
}

void AsyncContext::arm(std::chrono::milliseconds timeout)
{
    // Timers are the loop's: arm it there (the deadline from the loop's clock). The timer
    // keeps the context alive, so a request whose handles were all dropped still times out.
    std::shared_ptr<AsyncContext> self = shared_from_this();
    const uint64_t nanos = static_cast<uint64_t>(timeout.count()) * 1000000;
    _loop.post([self, nanos] {
        if (self->completed()) return;
        self->_timer = self->_loop.addTimer(self->_loop.now() + nanos, [self] { self->onTimeout(); });
    });
}

http::WriteStatus AsyncContext::write(std::string_view bytes)
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_completed) return http::WriteStatus::Dropped;
        _written = true;
    }
    return _response->write(bytes);
}

bool AsyncContext::complete()
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_completed) return false;
        _completed = true;
    }
    if (_response->clientGone()) return false; // the response ended already: nothing to complete
    // The timer holds a reference: cancel it, so a long poll answered early frees its context
    // now rather than at its timeout. Posted before the response ends: once it has, the client
    // may have its answer and the server may stop, taking the loop with it.
    std::shared_ptr<AsyncContext> self = shared_from_this();
    _loop.post([self] {
        if (self->_timer) self->_loop.cancelTimer(self->_timer);
        self->_timer = {};
        if (self->_listener) self->_listener->onComplete();
    });
    return _response->complete();
}

bool AsyncContext::started() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _written;
}

bool AsyncContext::completed() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _completed;
}

void AsyncContext::onTimeout() noexcept
{
    _timer = {}; // fired
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_completed) return;
    }
    if (_response->clientGone()) return;
    if (_listener) _listener->onTimeout(*this);
    if (!started()) {
        _response->setStatus(_timeoutStatus);
        _response->setHeader("Content-Type", "text/plain; charset=utf-8");
        write("The request timed out.\n");
    }
    complete();
}

} // namespace serval::core
