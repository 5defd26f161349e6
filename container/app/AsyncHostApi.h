#pragma once

// The host side of the ABI 1.2 async + WebSocket block of serval/abi.h: async responses over
// core::AsyncContext, WebSocket endpoints over core::upgradeToWebSocket, and the definitions of
// their reference-counted handles. In a worker process the same functions run against the
// worker's exchange, whose control crosses the channel (container/process).

#include "connector/websocket/WebSocket.h"
#include "core/AsyncContext.h"
#include "serval/abi.h"

#include <atomic>
#include <memory>

/// serval_async_t: one app reference-holder of an async request (refs counts the app's
/// references; the last release frees it). The AsyncContext itself lives on while its timeout
/// timer or the connection needs it.
struct serval_async_t
{
    std::shared_ptr<serval::core::AsyncContext> async;
    std::atomic<int> refs{1};
};

/// serval_websocket_t: the any-thread WebSocket handle; the host's reference lasts from
/// on_open until on_close has returned, the app's from websocket_retain to websocket_release.
struct serval_websocket_t
{
    std::shared_ptr<serval::websocket::WebSocket> socket;
    std::atomic<int> refs{1};
};

namespace serval::app {

/// Fills the block's members of the host table (HostApi's makeTable(), once, at start-up).
void addAsyncApi(serval_host_api_t& table) noexcept;

} // namespace serval::app
