// serval/websocket.hpp: async responses, Server-Sent Events and WebSocket endpoints for C++ apps,
// over the ABI 1.2 "async + WebSocket" block of serval/abi.h (issue 15). Header-only, like
// servlet.hpp.
//
//   class Chat : public serval::WebSocketServlet {           // map it in web.xml like any servlet
//       void onMessage(serval::WebSocket& ws, std::string_view text, bool binary) override {
//           ws.sendText(text);                               // Ok / Backpressure / Dropped
//       }
//   };
//   void doGet(serval::Request& req, serval::Response&) override {  // a long poll
//       auto async = serval::Async::start(req, std::chrono::seconds(30));
//       std::thread([async] { async.write("late"); async.complete(); }).detach();
//   }
//
// THREADS: Async and WebSocket handles may be copied and used from any thread. Endpoint hooks
// (WebSocketServlet::on...) run on the connection's I/O thread and must not block.
// Exceptions thrown by hooks are caught at the boundary (logged by the host, the connection is
// closed with 1011); none crosses the C ABI.
#pragma once

#include "serval/servlet.hpp"

#if SERVAL_ABI_MINOR < 2
#error "serval/websocket.hpp needs serval/abi.h 1.2 (the async + WebSocket block)"
#endif

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace serval {

/// What a send became (uWebSockets' contract).
enum class SendStatus
{
    Ok = SERVAL_SEND_OK,
    Backpressure = SERVAL_SEND_BACKPRESSURE, ///< queued; wait for onWritable before sending more
    Dropped = SERVAL_SEND_DROPPED            ///< not queued (over maxBackpressure, or closed)
};

namespace detail {

/// The 1.2 block is there (the host is 1.2 or newer). The data plane answers Dropped/false
/// without it; Async::start and acceptWebSocket throw (they run in on_service).
inline bool hasAsyncApi() noexcept
{
    return SERVAL_HAS_MEMBER(&host(), serval_host_api_t, websocket_release);
}

} // namespace detail

class Async;

/// What an async request's app hears (Servlet's AsyncListener). Both run on the connection's
/// I/O thread (an isolated app's: the worker's) and must not block; an exception is caught at
/// the boundary (the host then completes the request itself).
struct AsyncHooks
{
    /// The timeout passed before complete(): write and complete now, or the host answers 503
    /// (nothing written yet) or ends the body.
    std::function<void(const Async&)> onTimeout;
    /// The client left before complete(): stop producing.
    std::function<void(const Async&)> onClose;
};

/// An async response (Servlet's AsyncContext): copyable, any thread. The last copy releases
/// the host's handle; the request itself ends with complete(), the timeout, or the client.
class Async
{
public:
    /// In on_service: the response outlives the hook (no thread is held while it waits);
    /// timeout zero: none. Throws serval::Error if the host lacks ABI 1.2 or refuses (not
    /// inside on_service, an error dispatch).
    static Async start(Request& request, std::chrono::milliseconds timeout, AsyncHooks hooks = {})
    {
        if (!detail::hasAsyncApi())
            throw Error(SERVAL_UNSUPPORTED,
                        "this host has no async requests (ABI 1.2 needed, the host is older)");
        const bool listen = hooks.onTimeout || hooks.onClose;
        AsyncHooks* owned = listen ? new AsyncHooks(std::move(hooks)) : nullptr;
        serval_async_t* handle = nullptr;
        serval_status_t s =
            detail::host().request_start_async(request.handle(), static_cast<uint32_t>(timeout.count()),
                                               listen ? &listener() : nullptr, owned, &handle);
        if (s != SERVAL_OK) {
            delete owned; // the host copies the listener only when it succeeds
            throw Error(s, "request_start_async failed");
        }
        return Async(handle);
    }
    /// Wraps a handle the host passed to a hook (valid during the call): takes a reference.
    static Async borrowed(serval_async_t* handle) noexcept
    {
        Async a(handle);
        a.retain();
        return a;
    }

    Async(const Async& other) noexcept : _handle(other._handle) { retain(); }
    Async& operator=(Async other) noexcept
    {
        std::swap(_handle, other._handle);
        return *this;
    }
    ~Async()
    {
        if (_handle != nullptr) detail::host().async_release(_handle);
    }

    bool setStatus(int status) const noexcept
    {
        return detail::host().async_set_status(_handle, status) == SERVAL_OK;
    }
    bool setHeader(std::string_view name, std::string_view value) const noexcept
    {
        return detail::host().async_set_header(_handle, detail::str(name), detail::str(value)) == SERVAL_OK;
    }
    SendStatus write(std::string_view bytes) const noexcept
    {
        return static_cast<SendStatus>(detail::host().async_write(_handle, detail::str(bytes)));
    }
    bool complete() const noexcept { return detail::host().async_complete(_handle) == SERVAL_OK; }
    /// The same request (copies of one handle).
    bool operator==(const Async& other) const noexcept { return _handle == other._handle; }
    size_t bufferedAmount() const noexcept { return detail::host().async_buffered_amount(_handle); }

private:
    explicit Async(serval_async_t* handle) noexcept : _handle(handle) {}
    template <typename F> static void guarded(F&& body) noexcept
    {
        try {
            body();
        } catch (...) { // never unwinds into the host: it completes the request itself
        }
    }
    static const serval_async_listener_t& listener() noexcept
    {
        static const serval_async_listener_t l = {
            sizeof(serval_async_listener_t),
            SERVAL_ABI_MAJOR,
            SERVAL_ABI_MINOR,
            [](void* hooks, serval_async_t* a) {
                guarded([&] {
                    auto& h = *static_cast<AsyncHooks*>(hooks);
                    if (h.onTimeout) h.onTimeout(borrowed(a));
                });
            },
            [](void* hooks, serval_async_t* a) {
                guarded([&] {
                    auto& h = *static_cast<AsyncHooks*>(hooks);
                    if (h.onClose) h.onClose(borrowed(a));
                });
            },
            [](void* hooks) { delete static_cast<AsyncHooks*>(hooks); },
        };
        return l;
    }
    void retain() noexcept
    {
        if (_handle != nullptr) detail::host().async_retain(_handle);
    }
    serval_async_t* _handle;
};

/// Server-Sent Events over an Async (text/event-stream; event/id/data fields, retry).
class EventStream
{
public:
    /// In on_service: the stream's head goes out now; `lastEventId` is what the client
    /// resumes from (empty on a first connection).
    static EventStream start(Request& request, Response& response, std::chrono::milliseconds timeout,
                             AsyncHooks hooks = {})
    {
        response.setHeader("Content-Type", "text/event-stream; charset=utf-8");
        response.setHeader("Cache-Control", "no-cache");
        EventStream stream(Async::start(request, timeout, std::move(hooks)));
        stream._async.write({});
        return stream;
    }
    static std::string lastEventId(const Request& request)
    {
        return std::string(request.header("Last-Event-ID").value_or(std::string_view()));
    }

    /// One event; `data` may hold newlines, `event` and `id` may not (then Dropped).
    SendStatus send(std::string_view data, std::string_view event = {}, std::string_view id = {}) const
    {
        if (id.find_first_of("\r\n") != std::string_view::npos ||
            event.find_first_of("\r\n") != std::string_view::npos)
            return SendStatus::Dropped;
        std::string out;
        if (!id.empty()) out.append("id: ").append(id).append("\n");
        if (!event.empty()) out.append("event: ").append(event).append("\n");
        size_t at = 0;
        while (true) {
            size_t end = data.find('\n', at);
            out.append("data: ")
                .append(data.substr(at, end == std::string_view::npos ? end : end - at))
                .append("\n");
            if (end == std::string_view::npos) break;
            at = end + 1;
        }
        out.append("\n");
        return _async.write(out);
    }
    SendStatus retry(std::chrono::milliseconds delay) const
    {
        return _async.write("retry: " + std::to_string(delay.count()) + "\n\n");
    }
    SendStatus heartbeat() const { return _async.write(": heartbeat\n\n"); }
    bool complete() const noexcept { return _async.complete(); }
    bool operator==(const EventStream& other) const noexcept { return _async == other._async; }

private:
    explicit EventStream(Async async) : _async(std::move(async)) {}
    Async _async;
};

/// One WebSocket connection's any-thread handle: copyable; a copy kept past onClose is
/// harmless (sends are Dropped).
class WebSocket
{
public:
    explicit WebSocket(serval_websocket_t* handle, bool retain = true) noexcept : _handle(handle)
    {
        if (retain) detail::host().websocket_retain(_handle);
    }
    WebSocket(const WebSocket& other) noexcept : WebSocket(other._handle) {}
    WebSocket& operator=(WebSocket other) noexcept
    {
        std::swap(_handle, other._handle);
        return *this;
    }
    ~WebSocket()
    {
        if (_handle != nullptr) detail::host().websocket_release(_handle);
    }

    SendStatus sendText(std::string_view text) const noexcept
    {
        return static_cast<SendStatus>(detail::host().websocket_send(_handle, detail::str(text), false));
    }
    SendStatus sendBinary(std::string_view bytes) const noexcept
    {
        return static_cast<SendStatus>(detail::host().websocket_send(_handle, detail::str(bytes), true));
    }
    SendStatus ping(std::string_view payload = {}) const noexcept
    {
        return static_cast<SendStatus>(detail::host().websocket_ping(_handle, detail::str(payload)));
    }
    bool close(uint16_t code = 1000, std::string_view reason = {}) const noexcept
    {
        return detail::host().websocket_close(_handle, code, detail::str(reason)) == SERVAL_OK;
    }
    size_t bufferedAmount() const noexcept { return detail::host().websocket_buffered_amount(_handle); }
    /// The same connection (every hook of one connection gets the same handle).
    bool operator==(const WebSocket& other) const noexcept { return _handle == other._handle; }
    std::string_view subprotocol() const noexcept
    {
        serval_str_t s = detail::host().websocket_subprotocol(_handle);
        return std::string_view(s.ptr, s.len);
    }

private:
    serval_websocket_t* _handle;
};

/// A servlet whose GET is a WebSocket endpoint: map it in web.xml (filters run first; the
/// websocket.* init-params set origins, subprotocols and limits). One instance serves every
/// connection, like any servlet: keep per-connection state keyed by the WebSocket handle or
/// in your own structures.
class WebSocketServlet : public HttpServlet
{
public:
    /// I/O thread, one call per connection at a time; none may block.
    virtual void onOpen(WebSocket& socket) { (void)socket; }
    virtual void onMessage(WebSocket& socket, std::string_view data, bool binary) = 0;
    virtual void onWritable(WebSocket& socket) { (void)socket; }
    virtual void onClose(WebSocket& socket, uint16_t code, std::string_view reason)
    {
        (void)socket;
        (void)code;
        (void)reason;
    }

    /// The handshake (the Context's filters have run): 101 and onOpen, or the refusal.
    void doGet(Request& request, Response&) override
    {
        if (!detail::hasAsyncApi())
            throw Error(SERVAL_UNSUPPORTED, "this host has no WebSocket (ABI 1.2 needed, the host is older)");
        detail::host().request_upgrade_websocket(request.handle(), &endpoint(), this);
    }

private:
    template <typename F> static void guarded(serval_websocket_t* s, F&& body) noexcept
    {
        try {
            body();
        } catch (...) {
            detail::host().websocket_close(s, 1011,
                                           detail::str("endpoint failed")); // never unwinds into the host
        }
    }
    static const serval_websocket_endpoint_t& endpoint() noexcept
    {
        static const serval_websocket_endpoint_t e = {
            sizeof(serval_websocket_endpoint_t),
            SERVAL_ABI_MAJOR,
            SERVAL_ABI_MINOR,
            [](void* self, serval_websocket_t* s) {
                guarded(s, [&] {
                    WebSocket ws(s);
                    static_cast<WebSocketServlet*>(self)->onOpen(ws);
                });
            },
            [](void* self, serval_websocket_t* s, serval_str_t data, bool binary, bool) {
                guarded(s, [&] {
                    WebSocket ws(s);
                    static_cast<WebSocketServlet*>(self)->onMessage(ws, std::string_view(data.ptr, data.len),
                                                                    binary);
                });
            },
            [](void* self, serval_websocket_t* s) {
                guarded(s, [&] {
                    WebSocket ws(s);
                    static_cast<WebSocketServlet*>(self)->onWritable(ws);
                });
            },
            nullptr,
            [](void* self, serval_websocket_t* s, uint16_t code, serval_str_t reason) {
                try {
                    WebSocket ws(s);
                    static_cast<WebSocketServlet*>(self)->onClose(ws, code,
                                                                  std::string_view(reason.ptr, reason.len));
                } catch (...) {
                }
            },
        };
        return e;
    }
};

} // namespace serval
