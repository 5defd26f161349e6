#include "app/AsyncHostApi.h"

#include "app/HostApi.h"
#include "core/WebSocketUpgrade.h"
#include "util/Log.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

namespace serval::app {
namespace {

std::string_view view(serval_str_t s) noexcept
{
    return s.len == 0 || s.ptr == nullptr ? std::string_view() : std::string_view(s.ptr, s.len);
}

serval_send_status_t sendStatus(http::WriteStatus s) noexcept
{
    switch (s) {
    case http::WriteStatus::Ok:
        return SERVAL_SEND_OK;
    case http::WriteStatus::Backpressure:
        return SERVAL_SEND_BACKPRESSURE;
    case http::WriteStatus::Dropped:
        break;
    }
    return SERVAL_SEND_DROPPED;
}

/// An app's serval_async_listener_t as a core::AsyncListener. Hooks get a handle valid for the
/// call only (the app keeps the one request_start_async gave it). on_async_release runs when
/// the AsyncContext is gone, i.e. after the app's last release and the end of the request.
class NativeAsyncListener final : public core::AsyncListener
{
public:
    NativeAsyncListener(const serval_async_listener_t* hooks, void* userData)
        : _hooks(*hooks), _userData(userData)
    {}
    ~NativeAsyncListener() override
    {
        if (_hooks.on_async_release != nullptr) _hooks.on_async_release(_userData);
    }
    void onTimeout(core::AsyncContext& async) noexcept override { call(_hooks.on_async_timeout, async); }
    void onClientGone(core::AsyncContext& async) noexcept override { call(_hooks.on_async_close, async); }

private:
    /// The hook gets a handle of its own (the app may retain it and keep it past the call),
    /// released here when the hook returns.
    void call(void (*hook)(void*, serval_async_t*), core::AsyncContext& async) noexcept
    {
        if (hook == nullptr) return;
        auto* handle = new (std::nothrow) serval_async_t{async.shared_from_this(), {1}};
        if (handle == nullptr) return;
        hook(_userData, handle);
        if (handle->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete handle;
    }

    serval_async_listener_t _hooks; ///< copied: the app's struct may be shorter (struct_size)
    void* _userData;
};

serval_status_t requestStartAsync(serval_request_t* request, uint32_t timeoutMs,
                                  const serval_async_listener_t* listener, void* userData,
                                  serval_async_t** out) noexcept
{
    if (request == nullptr || out == nullptr) return SERVAL_INVALID_ARGUMENT;
    try {
        std::shared_ptr<core::AsyncListener> adapter;
        if (listener != nullptr) {
            serval_async_listener_t hooks{};
            std::memcpy(&hooks, listener, std::min<size_t>(listener->struct_size, sizeof hooks));
            adapter = std::make_shared<NativeAsyncListener>(&hooks, userData);
        }
        core::Response response(request->request->exchange());
        auto async = core::AsyncContext::start(*request->request, response,
                                               std::chrono::milliseconds(timeoutMs), std::move(adapter));
        *out = new serval_async_t{std::move(async), {1}};
        return SERVAL_OK;
    } catch (const std::bad_alloc&) {
        return SERVAL_NO_MEMORY;
    } catch (const std::logic_error&) { // an exchange that cannot outlive service()
        return SERVAL_UNSUPPORTED;
    } catch (const std::exception&) {
        return SERVAL_ERROR;
    }
}

/// Why a head change was refused: the request ended, or only the head went out already.
serval_status_t refusal(const core::AsyncContext& async) noexcept
{
    return async.completed() || async.clientGone() ? SERVAL_ASYNC_ENDED : SERVAL_COMMITTED;
}

serval_status_t asyncSetStatus(serval_async_t* a, int32_t status) noexcept
{
    if (a == nullptr || status < 100 || status > 999) return SERVAL_INVALID_ARGUMENT;
    return a->async->setStatus(status) ? SERVAL_OK : refusal(*a->async);
}

serval_status_t asyncSetHeader(serval_async_t* a, serval_str_t name, serval_str_t value) noexcept
{
    if (a == nullptr) return SERVAL_INVALID_ARGUMENT;
    std::string_view v = view(value);
    if (view(name).empty() || v.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
        return SERVAL_INVALID_ARGUMENT;
    try {
        return a->async->setHeader(view(name), v) ? SERVAL_OK : refusal(*a->async);
    } catch (const std::bad_alloc&) {
        return SERVAL_NO_MEMORY;
    }
}

serval_send_status_t asyncWrite(serval_async_t* a, serval_str_t bytes) noexcept
{
    if (a == nullptr) return SERVAL_SEND_DROPPED;
    try {
        return sendStatus(a->async->write(view(bytes)));
    } catch (const std::bad_alloc&) {
        return SERVAL_SEND_DROPPED;
    }
}

serval_status_t asyncComplete(serval_async_t* a) noexcept
{
    if (a == nullptr) return SERVAL_INVALID_ARGUMENT;
    try {
        return a->async->complete() ? SERVAL_OK : SERVAL_ASYNC_ENDED;
    } catch (const std::bad_alloc&) {
        return SERVAL_NO_MEMORY;
    }
}

size_t asyncBufferedAmount(serval_async_t* a) noexcept
{
    return a == nullptr ? 0 : a->async->bufferedAmount();
}

void asyncRetain(serval_async_t* a) noexcept
{
    if (a != nullptr) a->refs.fetch_add(1, std::memory_order_relaxed);
}

void asyncRelease(serval_async_t* a) noexcept
{
    if (a != nullptr && a->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete a;
}

void websocketRelease(serval_websocket_t* s) noexcept
{
    if (s != nullptr && s->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete s;
}

/// An app's serval_websocket_endpoint_t as a WebSocketEndpoint (loop thread, like the hooks).
class NativeEndpoint final : public websocket::WebSocketEndpoint
{
public:
    NativeEndpoint(const serval_websocket_endpoint_t& hooks, void* userData)
        : _hooks(hooks), _userData(userData)
    {}
    ~NativeEndpoint() override { websocketRelease(_handle); }

    void onOpen(const std::shared_ptr<websocket::WebSocket>& socket) noexcept override
    {
        _handle = new (std::nothrow) serval_websocket_t{socket, {1}};
        if (_handle == nullptr) {
            socket->close(websocket::CloseCode::InternalError, "out of memory");
            return;
        }
        if (_hooks.on_open != nullptr) _hooks.on_open(_userData, _handle);
    }
    void onMessage(websocket::MessageType type, std::string_view data, bool last) noexcept override
    {
        if (_hooks.on_message == nullptr || _handle == nullptr) return;
        _hooks.on_message(_userData, _handle, serval_str_t{data.data(), data.size()},
                          type == websocket::MessageType::Binary, last);
    }
    void onWritable() noexcept override
    {
        if (_hooks.on_writable != nullptr && _handle != nullptr) _hooks.on_writable(_userData, _handle);
    }
    void onError(uint16_t code, std::string_view reason) noexcept override
    {
        if (_hooks.on_error != nullptr && _handle != nullptr)
            _hooks.on_error(_userData, _handle, code, serval_str_t{reason.data(), reason.size()});
    }
    void onClose(uint16_t code, std::string_view reason) noexcept override
    {
        if (_hooks.on_close != nullptr && _handle != nullptr)
            _hooks.on_close(_userData, _handle, code, serval_str_t{reason.data(), reason.size()});
    }

private:
    serval_websocket_endpoint_t _hooks; ///< copied, zero-extended to this host's size
    void* _userData;
    serval_websocket_t* _handle = nullptr; ///< the host's reference, until this is destroyed
};

serval_status_t requestUpgradeWebSocket(serval_request_t* request,
                                        const serval_websocket_endpoint_t* endpoint, void* userData) noexcept
{
    if (request == nullptr || endpoint == nullptr) return SERVAL_INVALID_ARGUMENT;
    core::Request& r = *request->request;
    core::Response response(r.exchange());
    try {
        websocket::WebSocketConfig config = r.wrapper() != nullptr
                                                ? core::webSocketConfig(r.wrapper()->config().initParams)
                                                : websocket::WebSocketConfig{};
        serval_websocket_endpoint_t hooks{};
        std::memcpy(&hooks, endpoint, std::min<size_t>(endpoint->struct_size, sizeof hooks));
        return core::upgradeToWebSocket(r, response, config,
                                        std::make_unique<NativeEndpoint>(hooks, userData))
                   ? SERVAL_OK
                   : SERVAL_UPGRADE_REFUSED;
    } catch (const std::bad_alloc&) {
        return SERVAL_NO_MEMORY;
    } catch (const std::invalid_argument& e) {
        // A bad websocket.* init-param: the operator's mistake, named in the log.
        LOG_ERROR("websocket", std::string("endpoint refused: ") + e.what());
        response.sendError(500);
        return SERVAL_UPGRADE_REFUSED;
    }
}

serval_send_status_t websocketSend(serval_websocket_t* s, serval_str_t data, bool binary) noexcept
{
    if (s == nullptr) return SERVAL_SEND_DROPPED;
    try {
        return sendStatus(binary ? s->socket->sendBinary(view(data)) : s->socket->sendText(view(data)));
    } catch (const std::bad_alloc&) {
        return SERVAL_SEND_DROPPED;
    }
}

serval_send_status_t websocketPing(serval_websocket_t* s, serval_str_t payload) noexcept
{
    if (s == nullptr) return SERVAL_SEND_DROPPED;
    try {
        return sendStatus(s->socket->ping(view(payload)));
    } catch (const std::bad_alloc&) {
        return SERVAL_SEND_DROPPED;
    }
}

serval_status_t websocketClose(serval_websocket_t* s, uint16_t code, serval_str_t reason) noexcept
{
    if (s == nullptr || !websocket::CloseCode::validOnWire(code) ||
        code == websocket::CloseCode::ProtocolError || code == websocket::CloseCode::InvalidPayload ||
        reason.len > 123)
        return SERVAL_INVALID_ARGUMENT;
    try {
        return s->socket->close(code, view(reason)) ? SERVAL_OK : SERVAL_ASYNC_ENDED;
    } catch (const std::bad_alloc&) {
        return SERVAL_NO_MEMORY;
    }
}

size_t websocketBufferedAmount(serval_websocket_t* s) noexcept
{
    return s == nullptr ? 0 : s->socket->bufferedAmount();
}

serval_str_t websocketSubprotocol(serval_websocket_t* s) noexcept
{
    if (s == nullptr) return serval_str_t{nullptr, 0};
    const std::string& p = s->socket->subprotocol();
    return serval_str_t{p.data(), p.size()};
}

void websocketRetain(serval_websocket_t* s) noexcept
{
    if (s != nullptr) s->refs.fetch_add(1, std::memory_order_relaxed);
}

} // namespace

void addAsyncApi(serval_host_api_t& t) noexcept
{
    t.request_start_async = &requestStartAsync;
    t.async_set_status = &asyncSetStatus;
    t.async_set_header = &asyncSetHeader;
    t.async_write = &asyncWrite;
    t.async_complete = &asyncComplete;
    t.async_buffered_amount = &asyncBufferedAmount;
    t.async_retain = &asyncRetain;
    t.async_release = &asyncRelease;
    t.request_upgrade_websocket = &requestUpgradeWebSocket;
    t.websocket_send = &websocketSend;
    t.websocket_ping = &websocketPing;
    t.websocket_close = &websocketClose;
    t.websocket_buffered_amount = &websocketBufferedAmount;
    t.websocket_subprotocol = &websocketSubprotocol;
    t.websocket_retain = &websocketRetain;
    t.websocket_release = &websocketRelease;
}

} // namespace serval::app
