#pragma once

// The host side of the ABI 1.1 async + WebSocket block (AbiAsyncDraft.h until it moves into
// serval/abi.h): async responses over core::AsyncContext, WebSocket endpoints over
// core::upgradeToWebSocket, and the definitions of their reference-counted handles.

#include "app/AbiAsyncDraft.h"
#include "connector/websocket/WebSocket.h"
#include "core/AsyncContext.h"

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

/// The block's functions. Static, valid for the life of the process.
const serval_async_api_t& asyncHostApi() noexcept;

} // namespace serval::app
