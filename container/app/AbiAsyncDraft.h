#pragma once

/* DRAFT of the "ABI 1.1: async + WebSocket" block of serval/abi.h (issue 15). The types below
 * move verbatim into abi.h, and the members of serval_async_api_t are appended at the end of
 * serval_host_api_t under the block comment, once the other 1.1 blocks are combined on main
 * (NOTICES "ABI 1.1 combined on main"); until then the host implements them here so the
 * container side is built and tested. Pure C, like abi.h. */

#include "serval/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An async response: a request whose response outlives on_service (long poll, SSE, waiting on
 * another service). OWNERSHIP: host, reference-counted: request_start_async hands the app one
 * reference; async_retain adds one, async_release drops one. LIFETIME: until the last
 * reference is released; calls after the request ended are harmless (DROPPED / SERVAL_ERROR).
 * THREADS: every async_* call from any thread, concurrently. */
typedef struct serval_async_t serval_async_t;

/* One WebSocket connection. OWNERSHIP: host, reference-counted: the host holds one from on_open
 * until on_close has returned; an app that sends from other threads retains it. LIFETIME: until
 * the last release; sends after the close are DROPPED. THREADS: every websocket_* call from any
 * thread. */
typedef struct serval_websocket_t serval_websocket_t;

/* What a queued write became (uWebSockets' SUCCESS / BACKPRESSURE / DROPPED). */
typedef int32_t serval_send_status_t;
#define SERVAL_SEND_OK 0           /* queued; the buffered amount is below the high-water mark */
#define SERVAL_SEND_BACKPRESSURE 1 /* queued, above the high-water mark: wait for on_writable */
#define SERVAL_SEND_DROPPED 2      /* not queued: over the hard limit, or the connection ended */

/* Hooks of an async request; NULL hooks are skipped. The `async` they get is valid during the
 * call only (keep the handle request_start_async gave). THREADS: the connection's I/O thread: they
 * must not block (hand work to another thread). OWNERSHIP: app (usually static const).
 * LIFETIME: until on_async_release was called for the request. */
typedef struct serval_async_listener_t
{
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    /* The timeout passed before async_complete. The app may still write and complete now; if
     * it does not, the host completes with 503 (nothing written yet) or ends the body. */
    void (*on_async_timeout)(void* user_data, serval_async_t* async);
    /* The client left before async_complete: stop producing. */
    void (*on_async_close)(void* user_data, serval_async_t* async);
    /* Last call for this request: user_data may be freed. */
    void (*on_async_release)(void* user_data);
} serval_async_listener_t;

/* A WebSocket endpoint (Jakarta's Endpoint). THREADS: every hook on the connection's I/O
 * thread, one at a time; none may block. OWNERSHIP: app (usually static const). LIFETIME: until
 * on_close has returned for every connection accepted with it. */
typedef struct serval_websocket_endpoint_t
{
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    void (*on_open)(void* user_data, serval_websocket_t* socket);
    /* A whole message, or with websocket.partialMessages a piece (last != 0 on the final one).
     * Text is valid UTF-8. `data` is host memory valid during the call. */
    void (*on_message)(void* user_data, serval_websocket_t* socket, serval_str_t data, bool binary,
                       bool last);
    /* After a send returned BACKPRESSURE or DROPPED: the queue has drained to half the mark. */
    void (*on_writable)(void* user_data, serval_websocket_t* socket);
    /* The connection is being failed with `code` (1002 protocol error, 1007 bad UTF-8, 1009 too
     * big, 1001 idle timeout); on_close follows. */
    void (*on_error)(void* user_data, serval_websocket_t* socket, uint16_t code, serval_str_t reason);
    /* Last call for this connection: `code` is the client's (1005: none) or 1006 (dropped).
     * user_data may be freed after it returns. */
    void (*on_close)(void* user_data, serval_websocket_t* socket, uint16_t code, serval_str_t reason);
} serval_websocket_endpoint_t;

/* The members appended to serval_host_api_t (reached after SERVAL_HAS_MEMBER). */
typedef struct serval_async_api_t
{
    /* During on_service, on its thread: the response outlives the hook (no thread is held
     * while it waits). timeout_ms 0: none. `listener` may be NULL. *out gets one reference. */
    serval_status_t (*request_start_async)(serval_request_t* request, uint32_t timeout_ms,
                                           const serval_async_listener_t* listener, void* user_data,
                                           serval_async_t** out);
    /* Before the first byte: SERVAL_ERROR once the head went out. */
    serval_status_t (*async_set_status)(serval_async_t* async, int status);
    serval_status_t (*async_set_header)(serval_async_t* async, serval_str_t name, serval_str_t value);
    /* Queues body bytes (copied); an empty write sends the head now. */
    serval_send_status_t (*async_write)(serval_async_t* async, serval_str_t bytes);
    /* Once: ends the response. SERVAL_ERROR if it had already ended. */
    serval_status_t (*async_complete)(serval_async_t* async);
    size_t (*async_buffered_amount)(serval_async_t* async);
    void (*async_retain)(serval_async_t* async);
    void (*async_release)(serval_async_t* async);

    /* During on_service, after the filter chain: checks the handshake (the servlet's
     * websocket.* init-params: origins, subprotocols, limits) and answers 101, with the
     * connection handed to `endpoint` once it is written; or answers the refusal (400, 403,
     * 426). SERVAL_OK if it will switch, SERVAL_ERROR if refused (the response is set). */
    serval_status_t (*request_upgrade_websocket)(serval_request_t* request,
                                                 const serval_websocket_endpoint_t* endpoint,
                                                 void* user_data);
    /* Copies `data` into a text (binary = false) or binary message. */
    serval_send_status_t (*websocket_send)(serval_websocket_t* socket, serval_str_t data, bool binary);
    serval_send_status_t (*websocket_ping)(serval_websocket_t* socket, serval_str_t payload);
    /* Starts the close handshake (1000, 1001, 1008, 1011, 3000-4999). */
    serval_status_t (*websocket_close)(serval_websocket_t* socket, uint16_t code, serval_str_t reason);
    size_t (*websocket_buffered_amount)(serval_websocket_t* socket);
    /* The subprotocol chosen at the handshake (empty if none); valid while the handle is. */
    serval_str_t (*websocket_subprotocol)(serval_websocket_t* socket);
    void (*websocket_retain)(serval_websocket_t* socket);
    void (*websocket_release)(serval_websocket_t* socket);
} serval_async_api_t;

#ifdef __cplusplus
} /* extern "C" */
#endif
