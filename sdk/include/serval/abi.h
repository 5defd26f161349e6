/*
 * serval/abi.h: the stable C ABI between the Serval container (the host) and an app.
 *
 * An app is a shared library. It exports exactly one symbol, serval_app_init_v1 (the suffix is
 * the ABI major version), and nothing else. The host dlopen()s the library, calls the entry with
 * its host function table, receives the app descriptor, checks versions and sizes, then calls
 * on_init and creates servlets, filters and listeners by the class names web.xml uses.
 *
 * Rules (DESIGN.md "The app boundary"):
 * - Pure C11: only <stddef.h>, <stdint.h>, <stdbool.h>. No C++ type, exception, allocator or RTTI
 *   crosses this boundary. An exception must never leave an app hook: return a status instead.
 * - Versions: SERVAL_ABI_MAJOR must match exactly; an app built for minor M loads into any host
 *   whose minor is >= M. A host refuses everything else with one sentence naming both versions.
 * - Every extensible struct starts with struct_size, abi_major, abi_minor (the values the side
 *   that filled it was built with). Structs are APPEND-ONLY: a minor version adds members at the
 *   end, never removes, reorders or retypes one. Before using a member added by a later minor,
 *   check that struct_size covers it (SERVAL_HAS_MEMBER).
 * - serval_str_t and serval_pair_t are frozen value types: they never change, so they carry no
 *   struct_size and may be used in arrays.
 * - Handles are opaque in both directions. Strings and buffers are {ptr, len}, not NUL-terminated.
 * - Each side frees what it allocated. Host memory handed to the app is valid only for the
 *   duration stated on the function (usually: until the hook that received the handle returns).
 * - Errors are status codes (serval_status_t). A hook that fails may call host->set_error() with a
 *   message first; the host logs it with the app and component name.
 *
 * THREADS: apps are called concurrently on many threads, exactly like Java servlets. on_service,
 * on_do_filter and the request listener hooks of ONE instance run on many request threads at
 * the same time; they must be thread-safe. on_create, on_init and on_destroy run on a control
 * thread, never concurrently with requests to the same instance. Every host function is
 * thread-safe unless it takes a request, response or chain handle: those belong to the one thread
 * running that request.
 *
 * Room to grow (append-only, each a minor version bump): ABI 1.1 appended the sdk helpers block
 * (multipart, security, code registration) after the last ABI 1.0 member; ABI 1.2 appends, in
 * this order, sessions (serval_session_t, request_session and session_*; the listener hooks
 * on_session_created/on_session_destroyed), data sources, and async + WebSocket, each under a
 * "ABI 1.2: <block>" comment. An app reaches a member of a later minor only after
 * SERVAL_HAS_MEMBER says the host has it (for sessions: SERVAL_HAS_MEMBER(host,
 * serval_host_api_t, request_session)); the C++ layer (serval/http.hpp, serval/db.hpp,
 * serval/websocket.hpp) does that for you.
 *
 * The SHA-256 of this file is recorded in abi.h.sha256 next to it, per ABI version; a test fails
 * when this file changes without a version bump.
 */
#ifndef SERVAL_ABI_H
#define SERVAL_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SERVAL_ABI_MAJOR 1
#define SERVAL_ABI_MINOR 2

/* The one symbol an app exports. Its name carries the ABI major version. */
#define SERVAL_APP_ENTRY_NAME "serval_app_init_v1"

#if defined(__GNUC__) || defined(__clang__)
#define SERVAL_EXPORT __attribute__((visibility("default")))
#else
#define SERVAL_EXPORT
#endif

/* True if the struct `s` (with struct_size) is large enough to hold `member`. */
#define SERVAL_HAS_MEMBER(s, type, member)                                                                   \
    ((s)->struct_size >= offsetof(type, member) + sizeof(((type*)0)->member))

/* ---------------------------------------------------------------------------------------------
 * Status codes
 * OWNERSHIP: plain values. LIFETIME: n/a.
 * ------------------------------------------------------------------------------------------- */
typedef int32_t serval_status_t;
#define SERVAL_OK 0
#define SERVAL_ERROR 1               /* the operation or hook failed; see set_error */
#define SERVAL_NOT_FOUND 2           /* no such header, parameter, attribute, ... */
#define SERVAL_BUFFER_TOO_SMALL 3    /* the caller's buffer is too small; the needed size is returned */
#define SERVAL_INVALID_ARGUMENT 4    /* bad handle, bad field id, CR/LF in a header value, ... */
#define SERVAL_COMMITTED 5           /* the response head was already sent */
#define SERVAL_CLIENT_GONE 6         /* the client closed the connection; stop producing output */
#define SERVAL_NO_MEMORY 7           /* an allocation failed */
#define SERVAL_UNSUPPORTED 8         /* not available in this host (newer feature) */
#define SERVAL_MALFORMED 9           /* 1.1: the request body is not what its Content-Type says */
#define SERVAL_TOO_LARGE 10          /* 1.1: over a configured limit (<multipart-config>) */
#define SERVAL_UNAVAILABLE 11        /* 1.2: a store the call needs (sessions) is not answering */
#define SERVAL_DB_ERROR 12           /* 1.2: the database refused the statement: db_last_error has why */
#define SERVAL_DB_TIMEOUT 13         /* 1.2: the statement ran past statementTimeout and was cancelled */
#define SERVAL_DB_POOL_TIMEOUT 14    /* 1.2: no connection became free within acquireTimeout: answer 503 */
#define SERVAL_DB_CONNECTION_LOST 15 /* 1.2: the database cannot be reached or the connection broke: 503 */
#define SERVAL_ASYNC_ENDED 16        /* 1.2: the async response already ended (completed, client gone) */
#define SERVAL_UPGRADE_REFUSED 17    /* 1.2: the WebSocket handshake was refused; the refusal is answered */

/* Log levels for context_log. OWNERSHIP: plain values. LIFETIME: n/a. */
typedef int32_t serval_log_level_t;
#define SERVAL_LOG_DEBUG 0
#define SERVAL_LOG_INFO 1
#define SERVAL_LOG_WARN 2
#define SERVAL_LOG_ERROR 3

/* ---------------------------------------------------------------------------------------------
 * Value types (frozen)
 * ------------------------------------------------------------------------------------------- */

/* A byte string: not NUL-terminated, may be empty (ptr may then be NULL).
 * OWNERSHIP: never owns; whoever produced it owns the bytes.
 * LIFETIME: as stated by the function that returned it; a string passed INTO the host is only
 * read during that call (the host copies what it keeps). */
typedef struct serval_str_t
{
    const char* ptr;
    size_t len;
} serval_str_t;

/* A name/value pair (headers, parameters, cookies, init params).
 * OWNERSHIP and LIFETIME: as serval_str_t. */
typedef struct serval_pair_t
{
    serval_str_t name;
    serval_str_t value;
} serval_pair_t;

/* One part of a multipart/form-data body (RFC 7578), from request_parts. Frozen like
 * serval_pair_t (ABI 1.1): it never changes, so it may be used in arrays; anything more about a
 * part comes from later host functions.
 * OWNERSHIP: host. LIFETIME: until the hook that received the request returns. */
typedef struct serval_part_t
{
    serval_str_t name;         /* the form field's name */
    serval_str_t filename;     /* as the client sent it: any bytes, never a path to trust; empty if none */
    serval_str_t content_type; /* the part's Content-Type; empty when it had none (text/plain) */
    serval_str_t content;      /* the part's bytes (a view into the request body) */
    uint32_t flags;            /* SERVAL_PART_FILE: the part carried a filename (a file field) */
} serval_part_t;
#define SERVAL_PART_FILE 1u

/* ---------------------------------------------------------------------------------------------
 * Opaque handles (host objects; the app never dereferences or frees them)
 * ------------------------------------------------------------------------------------------- */

/* One request. OWNERSHIP: host. LIFETIME: until the hook that received it returns.
 * THREADS: only the thread running that hook. */
typedef struct serval_request_t serval_request_t;
/* The response to that request. OWNERSHIP, LIFETIME, THREADS: as serval_request_t. */
typedef struct serval_response_t serval_response_t;
/* The rest of a filter chain (later filters, then the servlet).
 * OWNERSHIP: host. LIFETIME: until on_do_filter returns. THREADS: that request's thread. */
typedef struct serval_chain_t serval_chain_t;
/* A servlet's or filter's configuration (<servlet>/<filter> in web.xml).
 * OWNERSHIP: host. LIFETIME: until the instance's on_destroy returns. THREADS: any. */
typedef struct serval_config_t serval_config_t;
/* The web application (ServletContext). OWNERSHIP: host.
 * LIFETIME: from the first hook that receives it until on_context_destroyed / on_destroy of every
 * instance has returned. THREADS: any. */
typedef struct serval_context_t serval_context_t;

/* ABI 1.2: one request's HttpSession. OWNERSHIP: host. LIFETIME: until the hook that received
 * it returns (a request hook, or a listener's on_session_* hook). THREADS: that hook's thread. */
typedef struct serval_session_t serval_session_t;

/* Field ids for request_str. Append-only. OWNERSHIP: plain values. LIFETIME: n/a. */
typedef int32_t serval_request_field_t;
#define SERVAL_REQ_METHOD 0       /* "GET" */
#define SERVAL_REQ_REQUEST_URI 1  /* raw path, still percent-encoded, no query: "/shop/a%20b" */
#define SERVAL_REQ_CONTEXT_PATH 2 /* "" for the root context, "/shop" */
#define SERVAL_REQ_SERVLET_PATH 3 /* decoded: "/hello" */
#define SERVAL_REQ_PATH_INFO 4    /* decoded; SERVAL_NOT_FOUND when the Servlet spec says null */
#define SERVAL_REQ_QUERY_STRING 5 /* raw, without '?'; empty when none */
#define SERVAL_REQ_PROTOCOL 6     /* "HTTP/1.1" */
#define SERVAL_REQ_SCHEME 7       /* "http" or "https" */
#define SERVAL_REQ_REMOTE_ADDR 8  /* "127.0.0.1", "::1" */
#define SERVAL_REQ_LOCAL_ADDR 9
#define SERVAL_REQ_SERVER_NAME 10  /* Host header without the port */
#define SERVAL_REQ_CONTENT_TYPE 11 /* SERVAL_NOT_FOUND when absent */

/* Field ids for request_int. Append-only. OWNERSHIP: plain values. LIFETIME: n/a. */
typedef int32_t serval_request_int_field_t;
#define SERVAL_REQ_REMOTE_PORT 0
#define SERVAL_REQ_LOCAL_PORT 1
#define SERVAL_REQ_CONTENT_LENGTH 2 /* body length in bytes (the body is complete and within limits) */
#define SERVAL_REQ_SECURE 3         /* 1 behind TLS, else 0 */
#define SERVAL_REQ_DISPATCHER 4     /* SERVAL_DISPATCH_REQUEST or SERVAL_DISPATCH_ERROR */

/* Values of SERVAL_REQ_DISPATCHER (why the filter chain runs). OWNERSHIP: plain values. */
#define SERVAL_DISPATCH_REQUEST 0
#define SERVAL_DISPATCH_ERROR 1
/* 1.1: bits of serval_filter_class_t.dispatchers (<dispatcher> in web.xml). */
#define SERVAL_DISPATCH_ON_REQUEST (1u << SERVAL_DISPATCH_REQUEST)
#define SERVAL_DISPATCH_ON_ERROR (1u << SERVAL_DISPATCH_ERROR)

/* Field ids for context_str. Append-only. OWNERSHIP: plain values. LIFETIME: n/a. */
typedef int32_t serval_context_field_t;
#define SERVAL_CTX_CONTEXT_PATH 0 /* "" for the root context, "/shop" */
#define SERVAL_CTX_DISPLAY_NAME 1 /* <display-name>, may be empty */
#define SERVAL_CTX_DATA_DIR                                                                                  \
    2 /* 1.1: data/<host>/<app>, a directory for the app's own files, shared                                 \
         by its versions and kept across redeploys; SERVAL_NOT_FOUND when                                    \
         the container gives the app none (older hosts: INVALID_ARGUMENT) */

/* A Set-Cookie to add to a response.
 * OWNERSHIP: the app's (usually on its stack); the host copies it during response_add_cookie.
 * LIFETIME: only read during that call. */
typedef struct serval_cookie_t
{
    uint32_t struct_size; /* sizeof(serval_cookie_t) as the app was built */
    uint16_t abi_major;
    uint16_t abi_minor;
    serval_str_t name;
    serval_str_t value;
    serval_str_t path;   /* empty: no Path attribute */
    serval_str_t domain; /* empty: no Domain attribute */
    int64_t max_age;     /* seconds; -1 = session cookie, 0 = delete */
    bool http_only;
    bool secure;
    serval_str_t same_site; /* "", "Lax", "Strict", "None" */
} serval_cookie_t;

/* ---------------------------------------------------------------------------------------------
 * ABI 1.2: data sources
 *
 * An app declares the data sources it needs in WEB-INF/web.xml
 * (<resource-ref><res-ref-name>main</res-ref-name></resource-ref>); the operator binds each one
 * in server.xml (PostgreSQL), or it is an embedded SQLite database in the app's data directory.
 * The same calls work on both engines: placeholders are `?` (bound by position from 1), columns
 * are numbered from 0, and failures carry the database's message and a SQLSTATE (SQLite's codes
 * mapped to the same classes), read with db_last_error.
 * ------------------------------------------------------------------------------------------- */

/* 1.2: A data source of the app's context. OWNERSHIP: host. LIFETIME: the context's (it may be kept
 * in an instance from on_init to on_destroy). THREADS: any, concurrently. */
typedef struct serval_datasource_t serval_datasource_t;
/* 1.2: A connection lent by a data source's bounded pool.
 * OWNERSHIP: host; the app hands it back with db_release (a transaction left open is rolled back,
 * statements left open are finished). Hold it for one request at most: until it is released,
 * nobody else can use it.
 * LIFETIME: until db_release. THREADS: one thread at a time (never used concurrently). */
typedef struct serval_db_t serval_db_t;
/* 1.2: A prepared statement of one connection, cached by the connection for the next db_prepare of
 * the same SQL. OWNERSHIP: host; handed back with stmt_finish (db_release does it too).
 * LIFETIME: until stmt_finish or the release of its connection. THREADS: as its connection. */
typedef struct serval_stmt_t serval_stmt_t;

/* 1.2: Column types for stmt_column_type. OWNERSHIP: plain values. LIFETIME: n/a. PostgreSQL's
 * integer types and boolean read as INT64, real/double/numeric as DOUBLE, bytea as BLOB, every
 * other type as TEXT. */
typedef int32_t serval_db_type_t;
#define SERVAL_DB_NULL 0
#define SERVAL_DB_INT64 1
#define SERVAL_DB_DOUBLE 2
#define SERVAL_DB_TEXT 3
#define SERVAL_DB_BLOB 4

/* 1.2: The last data source failure on the calling thread, filled by db_last_error.
 * OWNERSHIP: the app's (usually on its stack; set struct_size, the host fills what fits).
 * LIFETIME: the views point into host memory valid until the next data source call on this
 * thread. */
typedef struct serval_db_error_t
{
    uint32_t struct_size; /* sizeof(serval_db_error_t) as the app was built */
    uint16_t abi_major;
    uint16_t abi_minor;
    serval_status_t status; /* SERVAL_DB_*, SERVAL_INVALID_ARGUMENT, ...; SERVAL_OK if none */
    serval_str_t message;   /* one line: the database's own message, or the pool's */
    serval_str_t sql_state; /* five characters ("23505", "42P01"); empty when no database answered */
    int64_t offset;         /* byte offset in the SQL text the error points at; -1 if unknown */
} serval_db_error_t;

/* ---------------------------------------------------------------------------------------------
 * ABI 1.2: async + WebSocket (types; the host functions are the last block of serval_host_api_t)
 * ------------------------------------------------------------------------------------------- */

/* 1.2: an async response: a request whose response outlives on_service (long poll, Server-Sent
 * Events, waiting on another service). No thread is held while it waits.
 * OWNERSHIP: host, reference-counted: request_start_async hands the app one reference;
 * async_retain adds one, async_release drops one (each retain needs its release).
 * LIFETIME: until the last reference is released; the request itself ends earlier or later
 * (async_complete, the timeout, the client leaving). Calls after the request ended are harmless:
 * writes are SERVAL_SEND_DROPPED, the rest SERVAL_ASYNC_ENDED.
 * THREADS: every async_* function from any thread, concurrently. */
typedef struct serval_async_t serval_async_t;

/* 1.2: one WebSocket connection (RFC 6455).
 * OWNERSHIP: host, reference-counted: the host holds one reference from on_open until on_close
 * has returned; an app that keeps the handle past a hook (to send from other threads) takes its
 * own with websocket_retain and drops it with websocket_release.
 * LIFETIME: until the last reference is released; sends after the close are SERVAL_SEND_DROPPED.
 * THREADS: every websocket_* function from any thread, concurrently. */
typedef struct serval_websocket_t serval_websocket_t;

/* 1.2: what a queued write became (uWebSockets' SUCCESS / BACKPRESSURE / DROPPED): the results of
 * async_write, websocket_send and websocket_ping, a set of its own (not serval_status_t).
 * OWNERSHIP: plain values. LIFETIME: n/a. */
typedef int32_t serval_send_status_t;
#define SERVAL_SEND_OK 0           /* queued; the buffered amount is below the high-water mark */
#define SERVAL_SEND_BACKPRESSURE 1 /* queued, above the high-water mark: wait for on_writable */
#define SERVAL_SEND_DROPPED 2      /* not queued: over the hard limit, or the connection ended */

/* 1.2: hooks of one async request; a NULL hook is skipped. The `async` a hook receives is valid
 * during the call only (keep the reference request_start_async gave).
 * THREADS: the connection's I/O thread (in an isolated app: the worker's I/O thread); hooks must
 * not block (hand work to another thread). OWNERSHIP: app (usually static const); the host copies
 * the struct (struct_size bytes) at request_start_async. LIFETIME: the copy lasts until
 * on_async_release returned; user_data must stay valid until then. */
typedef struct serval_async_listener_t
{
    uint32_t struct_size; /* sizeof(serval_async_listener_t) as the app was built */
    uint16_t abi_major;
    uint16_t abi_minor;
    /* The timeout passed before async_complete. The app may still write and complete now; if it
     * does not, the host completes it: 503 when nothing was written yet, else the body ends. */
    void (*on_async_timeout)(void* user_data, serval_async_t* async);
    /* The client left (or a write passed the hard limit) before async_complete: stop producing. */
    void (*on_async_close)(void* user_data, serval_async_t* async);
    /* Last call for this request, once the request ended and the app released every reference:
     * user_data may be freed. */
    void (*on_async_release)(void* user_data);
} serval_async_listener_t;

/* 1.2: a WebSocket endpoint (Jakarta WebSocket's Endpoint); a NULL hook is skipped.
 * THREADS: every hook of one connection on its I/O thread, one at a time (in an isolated app:
 * the worker's I/O thread); none may block. OWNERSHIP: app (usually static const); the host
 * copies the struct (struct_size bytes) at request_upgrade_websocket. LIFETIME: user_data must
 * stay valid until on_close has returned for every connection accepted with it. */
typedef struct serval_websocket_endpoint_t
{
    uint32_t struct_size; /* sizeof(serval_websocket_endpoint_t) as the app was built */
    uint16_t abi_major;
    uint16_t abi_minor;
    /* The 101 was written: the connection is open. */
    void (*on_open)(void* user_data, serval_websocket_t* socket);
    /* A whole message, or with the websocket.partialMessages init-param a piece of one (last is
     * true on the final piece). Text is valid UTF-8. `data` is host memory valid during the call. */
    void (*on_message)(void* user_data, serval_websocket_t* socket, serval_str_t data, bool binary,
                       bool last);
    /* After a send returned SERVAL_SEND_BACKPRESSURE: the queue has drained to half the mark. */
    void (*on_writable)(void* user_data, serval_websocket_t* socket);
    /* The connection is being failed with `code` (1002 protocol error, 1007 bad UTF-8, 1009 too
     * big, 1001 idle timeout); on_close follows. `reason` is valid during the call. */
    void (*on_error)(void* user_data, serval_websocket_t* socket, uint16_t code, serval_str_t reason);
    /* Last hook for this connection: `code` is the client's (1005: it gave none), 1006 (the
     * connection dropped) or 1011 (an isolated app's worker died). The host's reference ends
     * when it returns. `reason` is valid during the call. */
    void (*on_close)(void* user_data, serval_websocket_t* socket, uint16_t code, serval_str_t reason);
} serval_websocket_endpoint_t;

/* ---------------------------------------------------------------------------------------------
 * The host function table
 *
 * OWNERSHIP: host. LIFETIME: valid from the entry call until the app's on_destroy has returned
 * (the app may keep the pointer in a global for that long). THREADS: see the file comment.
 * Handles and out pointers must be valid: they are not checked (a NULL or stale one is undefined
 * behaviour). Values are checked: a bad field id, status, header name or value, cookie or
 * redirect target gives SERVAL_INVALID_ARGUMENT and changes nothing.
 *
 * Strings OUT of the host ("out" serval_str_t) point into host memory and are valid until the
 * hook that received the handle returns, unless said otherwise; copy what you keep.
 * Lists are read in two calls: pass out=NULL, capacity=0 to learn *count, then pass a buffer;
 * the host always sets *count to the total and writes min(capacity, total) entries.
 * ------------------------------------------------------------------------------------------- */
typedef struct serval_host_api_t
{
    uint32_t struct_size; /* sizeof(serval_host_api_t) as the host was built */
    uint16_t abi_major;
    uint16_t abi_minor;

    /* Records the message explaining why the hook running on this thread fails. The host logs it
     * (with app and component) when the hook returns a status other than SERVAL_OK, and clears
     * it before each hook. Call it right before returning the failure. */
    void (*set_error)(serval_str_t message);

    /* ---- request ---- */
    /* One of the SERVAL_REQ_* string fields. SERVAL_NOT_FOUND for an absent optional field. */
    serval_status_t (*request_str)(serval_request_t* request, serval_request_field_t field,
                                   serval_str_t* out);
    /* One of the SERVAL_REQ_* integer fields. */
    serval_status_t (*request_int)(serval_request_t* request, serval_request_int_field_t field, int64_t* out);
    /* First header with this name (ASCII case-insensitive). SERVAL_NOT_FOUND if absent. */
    serval_status_t (*request_header)(serval_request_t* request, serval_str_t name, serval_str_t* out);
    /* Every header in arrival order (two-call list). */
    serval_status_t (*request_headers)(serval_request_t* request, serval_pair_t* out, size_t capacity,
                                       size_t* count);
    /* First value of a parameter from the query string or an urlencoded POST body.
     * Values are decoded. SERVAL_NOT_FOUND if absent. */
    serval_status_t (*request_parameter)(serval_request_t* request, serval_str_t name, serval_str_t* out);
    /* Every value of one parameter, in order (two-call list). */
    serval_status_t (*request_parameter_values)(serval_request_t* request, serval_str_t name,
                                                serval_str_t* out, size_t capacity, size_t* count);
    /* Every parameter: query first, then body (two-call list). */
    serval_status_t (*request_parameters)(serval_request_t* request, serval_pair_t* out, size_t capacity,
                                          size_t* count);
    /* A cookie's value from the Cookie headers. SERVAL_NOT_FOUND if absent. */
    serval_status_t (*request_cookie)(serval_request_t* request, serval_str_t name, serval_str_t* out);
    /* Every cookie (two-call list). */
    serval_status_t (*request_cookies)(serval_request_t* request, serval_pair_t* out, size_t capacity,
                                       size_t* count);
    /* Reads the next body bytes into the app's buffer; *read = 0 at the end of the body.
     * The body is already complete and within the context's size limit. */
    serval_status_t (*request_read)(serval_request_t* request, char* buffer, size_t capacity, size_t* read);
    /* Request attributes (string values). The out view is valid until the attribute is set or
     * removed, or the hook returns. */
    serval_status_t (*request_attribute)(serval_request_t* request, serval_str_t name, serval_str_t* out);
    serval_status_t (*request_set_attribute)(serval_request_t* request, serval_str_t name,
                                             serval_str_t value);
    serval_status_t (*request_remove_attribute)(serval_request_t* request, serval_str_t name);
    /* The context this request runs in. LIFETIME: as serval_context_t. */
    serval_context_t* (*request_context)(serval_request_t* request);

    /* ---- response ---- */
    /* SERVAL_COMMITTED once the head was sent (nothing changes). */
    serval_status_t (*response_set_status)(serval_response_t* response, int32_t status);
    int32_t (*response_status)(serval_response_t* response);
    /* Replaces every header of that name, or adds it. SERVAL_INVALID_ARGUMENT if the name is not
     * a token or the value holds CR, LF or NUL; SERVAL_COMMITTED after the head was sent. */
    serval_status_t (*response_set_header)(serval_response_t* response, serval_str_t name,
                                           serval_str_t value);
    /* Adds a header even if one of that name exists. Errors as response_set_header. */
    serval_status_t (*response_add_header)(serval_response_t* response, serval_str_t name,
                                           serval_str_t value);
    /* The first response header of that name. SERVAL_NOT_FOUND if absent. The view is valid until
     * the headers change or the hook returns. */
    serval_status_t (*response_header)(serval_response_t* response, serval_str_t name, serval_str_t* out);
    serval_status_t (*response_remove_header)(serval_response_t* response, serval_str_t name);
    serval_status_t (*response_set_content_type)(serval_response_t* response, serval_str_t type);
    /* Declares the body length before streaming (flush then sends Content-Length, not chunked). */
    serval_status_t (*response_set_content_length)(serval_response_t* response, int64_t length);
    /* Adds a Set-Cookie header. Errors as response_set_header. */
    serval_status_t (*response_add_cookie)(serval_response_t* response, const serval_cookie_t* cookie);
    /* Appends to the buffered body (copied). Sent when the hook returns, or on the next flush.
     * For HEAD requests the host counts the bytes for Content-Length and never sends them. */
    serval_status_t (*response_write)(serval_response_t* response, const char* data, size_t len);
    /* Commits the head (chunked unless a length was declared) and sends the buffered body.
     * SERVAL_CLIENT_GONE if the client went away: stop producing output. */
    serval_status_t (*response_flush)(serval_response_t* response);
    bool (*response_is_committed)(serval_response_t* response);
    /* Discards the buffered, unsent body. */
    serval_status_t (*response_reset_buffer)(serval_response_t* response);
    /* Clears buffer and headers, sets the status; once the hook returns, the host renders the
     * context's <error-page> for that status or its own error page. SERVAL_COMMITTED if too late. */
    serval_status_t (*response_send_error)(serval_response_t* response, int32_t status, serval_str_t message);
    /* Redirect with a Location header (absolute, or host-relative "/x"); status 301, 302, 303,
     * 307 or 308 (0 means 302). Discards the buffered body; headers and cookies set before it
     * stay (a login cookie, then the redirect). SERVAL_COMMITTED if too late. */
    serval_status_t (*response_send_redirect)(serval_response_t* response, serval_str_t location,
                                              int32_t status);

    /* ---- filter chain ---- */
    /* Runs the rest of the chain (next filter or the servlet) on this thread. A status other than
     * SERVAL_OK means something later failed (the host has its message): return it to fail
     * closed, or answer the response yourself and return SERVAL_OK to handle it. */
    serval_status_t (*chain_do_filter)(serval_chain_t* chain, serval_request_t* request,
                                       serval_response_t* response);

    /* ---- servlet / filter config ---- */
    /* The <servlet-name> / <filter-name>. Valid for the config's lifetime. */
    serval_status_t (*config_name)(serval_config_t* config, serval_str_t* out);
    /* An <init-param>. Valid for the config's lifetime. SERVAL_NOT_FOUND if absent. */
    serval_status_t (*config_init_parameter)(serval_config_t* config, serval_str_t name, serval_str_t* out);
    serval_status_t (*config_init_parameters)(serval_config_t* config, serval_pair_t* out, size_t capacity,
                                              size_t* count);
    serval_context_t* (*config_context)(serval_config_t* config);

    /* ---- context ---- */
    /* One of the SERVAL_CTX_* fields. Valid for the context's lifetime. */
    serval_status_t (*context_str)(serval_context_t* context, serval_context_field_t field,
                                   serval_str_t* out);
    /* A <context-param>. Valid for the context's lifetime. SERVAL_NOT_FOUND if absent. */
    serval_status_t (*context_init_parameter)(serval_context_t* context, serval_str_t name,
                                              serval_str_t* out);
    serval_status_t (*context_init_parameters)(serval_context_t* context, serval_pair_t* out, size_t capacity,
                                               size_t* count);
    /* Application attributes are shared by all threads, so they are COPIED into the app's
     * buffer: *len is set to the value's length; SERVAL_BUFFER_TOO_SMALL if capacity < *len
     * (nothing useful written: call again with a larger buffer). SERVAL_NOT_FOUND if absent. */
    serval_status_t (*context_attribute)(serval_context_t* context, serval_str_t name, char* buffer,
                                         size_t capacity, size_t* len);
    serval_status_t (*context_set_attribute)(serval_context_t* context, serval_str_t name,
                                             serval_str_t value);
    serval_status_t (*context_remove_attribute)(serval_context_t* context, serval_str_t name);
    /* The file system path of a resource ("/index.html") in the docBase, copied like
     * context_attribute. SERVAL_NOT_FOUND if it would leave the docBase. */
    serval_status_t (*context_real_path)(serval_context_t* context, serval_str_t path, char* buffer,
                                         size_t capacity, size_t* len);
    /* One line in the server log, tagged with the app. */
    void (*context_log)(serval_context_t* context, serval_log_level_t level, serval_str_t message);

    /* ABI 1.0 ends here. Later minors append members below this line. */

    /* ---- ABI 1.1: sdk helpers ---- */
    /* The parts of a multipart/form-data body, in order (two-call list); *count = 0 for any other
     * Content-Type. The host parses the body once, strictly, within the limits of the servlet's
     * <multipart-config>; the parts' text fields (no filename) are request parameters too.
     * SERVAL_MALFORMED: not valid multipart; SERVAL_TOO_LARGE: over those limits. */
    serval_status_t (*request_parts)(serval_request_t* request, serval_part_t* out, size_t capacity,
                                     size_t* count);
    /* Fills buffer with `len` bytes from the kernel's CSPRNG (getrandom). Any thread. */
    serval_status_t (*security_random)(char* buffer, size_t len);
    /* Hashes a password with the container's realm hash (PBKDF2-HMAC-SHA256, random salt, the
     * realm's iteration count) into a self-describing ASCII string, copied into the app's buffer
     * as context_attribute does (SERVAL_BUFFER_TOO_SMALL sets *len). Slow on purpose (a good
     * fraction of a second): call it when a password is set, not per request. Any thread. */
    serval_status_t (*security_hash_password)(serval_str_t password, char* buffer, size_t capacity,
                                              size_t* len);
    /* Sets *matches to whether `password` is the one `hash` (from security_hash_password) was
     * made of, compared in constant time. SERVAL_INVALID_ARGUMENT (and false) for a malformed
     * hash. As slow as hashing. Any thread. */
    serval_status_t (*security_verify_password)(serval_str_t password, serval_str_t hash, bool* matches);
    /* HMAC-SHA256 of `data` under this context's secret key, 32 bytes into `mac` (capacity >= 32,
     * else SERVAL_BUFFER_TOO_SMALL). The key comes from the server's secret and the context path:
     * the same for every version of the app, never readable by it. For signed cookies and CSRF
     * tokens. Any thread. */
    serval_status_t (*context_sign)(serval_context_t* context, serval_str_t data, char* mac, size_t capacity);

    /* ---- ABI 1.2: sessions ----
     * An HttpSession belongs to the host and context path, not to one version of the app: it
     * survives redeploys, restarts and crashes, and every worker process and node sees it.
     * Reads come from one snapshot taken when the request first asks; each write names one
     * attribute and is durable before the response head leaves (two requests that set different
     * attributes never lose each other's writes). Values are bytes. Names are 1 to 1024 bytes,
     * values at most 1 MiB (SERVAL_INVALID_ARGUMENT beyond). After session_invalidate every
     * session_* call on the handle answers SERVAL_INVALID_ARGUMENT. */
    /* HttpServletRequest.getSession(create). SERVAL_NOT_FOUND: no session and `create` is
     * false. SERVAL_UNAVAILABLE: the session store is not answering; the host answers 503 when
     * the hook returns. A session the client never had gets a fresh id (never the client's). */
    serval_status_t (*request_session)(serval_request_t* request, bool create, serval_session_t** out);
    /* The id as the session cookie carries it. Valid until session_change_id or the hook returns. */
    serval_status_t (*session_id)(serval_session_t* session, serval_str_t* out);
    /* Milliseconds since the Unix epoch. */
    serval_status_t (*session_creation_time)(serval_session_t* session, int64_t* out);
    /* The previous request's access (this one's, for a new session). */
    serval_status_t (*session_last_accessed)(serval_session_t* session, int64_t* out);
    /* Seconds without a request before the session expires; <= 0: never. */
    serval_status_t (*session_get_max_inactive)(serval_session_t* session, int32_t* out);
    serval_status_t (*session_set_max_inactive)(serval_session_t* session, int32_t seconds);
    /* True when this request created the session (the client does not know it yet). */
    serval_status_t (*session_is_new)(serval_session_t* session, bool* out);
    /* The value's bytes. Valid until that attribute is set or removed, or the hook returns.
     * SERVAL_NOT_FOUND if absent. */
    serval_status_t (*session_get_attribute)(serval_session_t* session, serval_str_t name, serval_str_t* out);
    /* Copies name and value. */
    serval_status_t (*session_set_attribute)(serval_session_t* session, serval_str_t name,
                                             serval_str_t value);
    serval_status_t (*session_remove_attribute)(serval_session_t* session, serval_str_t name);
    /* Every attribute name (two-call list). Valid until an attribute is set or removed, or the
     * hook returns. */
    serval_status_t (*session_attribute_names)(serval_session_t* session, serval_str_t* out, size_t capacity,
                                               size_t* count);
    /* Ends the session (listeners get on_session_destroyed first); request_session(create)
     * afterwards makes a new one. SERVAL_INVALID_ARGUMENT inside a listener hook. */
    serval_status_t (*session_invalidate)(serval_session_t* session);
    /* A new id for the same session, keeping its attributes; the old id is retired at once.
     * Call it at login (against session fixation). SERVAL_INVALID_ARGUMENT inside a listener
     * hook, or after the response head was sent (the client could not learn the new id). */
    serval_status_t (*session_change_id)(serval_session_t* session);
    /* ---- ABI 1.2: data sources (every member of this block is 1.2) ---- */
    /* 1.2: The data source the app declared as `name` in web.xml. SERVAL_NOT_FOUND if it declares
     * none of that name. Cheap (a lookup): may be called per request. */
    serval_status_t (*context_data_source)(serval_context_t* context, serval_str_t name,
                                           serval_datasource_t** out);
    /* 1.2: Lends a connection: an idle one, a new one while fewer than maxConnections are open, or
     * the first one returned within acquireTimeout. SERVAL_DB_POOL_TIMEOUT when none came back in
     * time, SERVAL_DB_CONNECTION_LOST when the database cannot be reached (at once, no waiting):
     * both mean "answer 503". */
    serval_status_t (*datasource_acquire)(serval_datasource_t* source, serval_db_t** out);
    /* 1.2: Hands the connection back to its pool (see serval_db_t). */
    void (*db_release)(serval_db_t* db);
    /* 1.2: A statement for one SQL statement with `?` placeholders, prepared once per connection and
     * cached. SERVAL_DB_ERROR for SQL the database refuses. */
    serval_status_t (*db_prepare)(serval_db_t* db, serval_str_t sql, serval_stmt_t** out);
    /* 1.2: Runs one or more statements without parameters (";"-separated), discarding rows. */
    serval_status_t (*db_exec)(serval_db_t* db, serval_str_t sql);
    /* 1.2: Transactions. SQLite's begin takes the write lock at once (BEGIN IMMEDIATE); PostgreSQL's
     * is read committed. After a failed statement PostgreSQL refuses everything until rollback,
     * and db_commit then fails (SQLSTATE 25P02). */
    serval_status_t (*db_begin)(serval_db_t* db);
    serval_status_t (*db_commit)(serval_db_t* db);
    serval_status_t (*db_rollback)(serval_db_t* db);
    /* 1.2: The last failure of a data source call on this thread (see serval_db_error_t). */
    void (*db_last_error)(serval_db_error_t* out);
    /* 1.2: Binds parameter `index` (1 = the first `?`); values are copied. An unbound parameter is
     * NULL. SERVAL_INVALID_ARGUMENT for an index out of range. */
    serval_status_t (*stmt_bind_null)(serval_stmt_t* stmt, int32_t index);
    serval_status_t (*stmt_bind_int64)(serval_stmt_t* stmt, int32_t index, int64_t value);
    serval_status_t (*stmt_bind_double)(serval_stmt_t* stmt, int32_t index, double value);
    serval_status_t (*stmt_bind_text)(serval_stmt_t* stmt, int32_t index, serval_str_t value);
    serval_status_t (*stmt_bind_blob)(serval_stmt_t* stmt, int32_t index, const void* data, size_t len);
    /* 1.2: Runs the statement (first call after binding), then moves to the next row: *row is true
     * while a row is there, false once it is done. Stepping again after that runs it again. */
    serval_status_t (*stmt_step)(serval_stmt_t* stmt, bool* row);
    /* 1.2: Ends the current run early (rows not read are dropped); bindings stay. */
    serval_status_t (*stmt_reset)(serval_stmt_t* stmt);
    /* 1.2: Columns of the result, known before the first step (as of when the statement was prepared:
     * after a migration changed them, the first step shows the new ones). */
    int32_t (*stmt_column_count)(serval_stmt_t* stmt);
    /* 1.2: Column getters for the current row (0 = the first column). An index out of range reads as
     * NULL. Values convert as SQLite does: NULL reads as 0 or "", text as a number where it can.
     * Text and blob views are valid until the next stmt_step, stmt_reset or stmt_finish. */
    serval_str_t (*stmt_column_name)(serval_stmt_t* stmt, int32_t column);
    serval_db_type_t (*stmt_column_type)(serval_stmt_t* stmt, int32_t column);
    int64_t (*stmt_column_int64)(serval_stmt_t* stmt, int32_t column);
    double (*stmt_column_double)(serval_stmt_t* stmt, int32_t column);
    serval_str_t (*stmt_column_text)(serval_stmt_t* stmt, int32_t column);
    serval_str_t (*stmt_column_blob)(serval_stmt_t* stmt, int32_t column);
    /* 1.2: Rows inserted, updated or deleted by the run that just finished. */
    int64_t (*stmt_changes)(serval_stmt_t* stmt);
    /* 1.2: Hands the statement back to its connection's cache (see serval_stmt_t). */
    void (*stmt_finish)(serval_stmt_t* stmt);

    /* ---- ABI 1.2: async + WebSocket ---- */
    /* In on_service, on its thread: the response outlives the hook; when on_service returns the
     * request parks (no thread is held) until async_complete, the timeout or the client leaving.
     * timeout_ms 0: no timeout. `listener` may be NULL (copied; see serval_async_listener_t).
     * Status and headers set on the response before this call are kept. *out gets one
     * reference. SERVAL_UNSUPPORTED if this request cannot go async (an error dispatch). */
    serval_status_t (*request_start_async)(serval_request_t* request, uint32_t timeout_ms,
                                           const serval_async_listener_t* listener, void* user_data,
                                           serval_async_t** out);
    /* Before the first body byte is queued. SERVAL_COMMITTED once the head went out,
     * SERVAL_ASYNC_ENDED after the end. Header values as response_set_header. */
    serval_status_t (*async_set_status)(serval_async_t* async, int32_t status);
    serval_status_t (*async_set_header)(serval_async_t* async, serval_str_t name, serval_str_t value);
    /* Queues body bytes (copied; the head goes first). An empty write sends the head now (an
     * event stream with no event yet). Never blocks. */
    serval_send_status_t (*async_write)(serval_async_t* async, serval_str_t bytes);
    /* Once: ends the response. SERVAL_ASYNC_ENDED if it had already ended. */
    serval_status_t (*async_complete)(serval_async_t* async);
    /* Bytes queued and not yet taken by the client's connection (framing included). */
    size_t (*async_buffered_amount)(serval_async_t* async);
    void (*async_retain)(serval_async_t* async);
    void (*async_release)(serval_async_t* async);

    /* In on_service, after the filter chain ran (authentication filters applied): checks the
     * handshake against the servlet's websocket.* init-params (origins, subprotocols, limits,
     * permessage-deflate) and answers 101, handing the connection to `endpoint` once it is
     * written (copied; see serval_websocket_endpoint_t); or answers the refusal (400, 403, 426)
     * and returns SERVAL_UPGRADE_REFUSED. */
    serval_status_t (*request_upgrade_websocket)(serval_request_t* request,
                                                 const serval_websocket_endpoint_t* endpoint,
                                                 void* user_data);
    /* Copies `data` into a text (binary false; must be valid UTF-8) or binary message. */
    serval_send_status_t (*websocket_send)(serval_websocket_t* socket, serval_str_t data, bool binary);
    /* A ping (payload at most 125 bytes, else SERVAL_SEND_DROPPED). */
    serval_send_status_t (*websocket_ping)(serval_websocket_t* socket, serval_str_t payload);
    /* Starts the close handshake (1000, 1001, 1008, 1011, 3000-4999; reason at most 123 bytes);
     * on_close follows. SERVAL_INVALID_ARGUMENT for another code, SERVAL_ASYNC_ENDED if closing. */
    serval_status_t (*websocket_close)(serval_websocket_t* socket, uint16_t code, serval_str_t reason);
    /* Bytes queued and not yet taken by the client's connection (framing included). */
    size_t (*websocket_buffered_amount)(serval_websocket_t* socket);
    /* The subprotocol chosen at the handshake (empty if none); valid while the handle is. */
    serval_str_t (*websocket_subprotocol)(serval_websocket_t* socket);
    void (*websocket_retain)(serval_websocket_t* socket);
    void (*websocket_release)(serval_websocket_t* socket);
} serval_host_api_t;

/* ---------------------------------------------------------------------------------------------
 * Classes the app implements (on_... hooks). An instance is app memory the host only passes
 * back. A NULL hook means "nothing to do" (on_create may not be NULL).
 * ------------------------------------------------------------------------------------------- */

/* A servlet class, named by <servlet-class>.
 * OWNERSHIP: app (usually static const). LIFETIME: until the app's on_destroy returns. */
typedef struct serval_servlet_class_t
{
    uint32_t struct_size; /* sizeof(serval_servlet_class_t) as the app was built */
    uint16_t abi_major;
    uint16_t abi_minor;
    serval_str_t name; /* "hello.Hello" */
    void* class_data;  /* passed to on_create */
    /* Control thread. Creates an instance; the host owns it until on_destroy. */
    serval_status_t (*on_create)(void* class_data, void** out_instance);
    /* Control thread, once, before any request. A failure stops the context from starting. */
    serval_status_t (*on_init)(void* instance, serval_config_t* config);
    /* Request threads, concurrently. A failure makes the host answer 500 (unless committed) and
     * log the message. */
    serval_status_t (*on_service)(void* instance, serval_request_t* request, serval_response_t* response);
    /* Control thread, once, after the last request: releases the instance. */
    serval_status_t (*on_destroy)(void* instance);

    /* ---- ABI 1.1: sdk helpers ---- */
    /* Mapped from code (Servlet 3.0's @WebServlet). With url_pattern_count > 0 the host declares a
     * servlet whose servlet-name and servlet-class are `name`, mapped to these url-patterns, as if
     * WEB-INF/web.xml said so; web.xml overrides it: a <servlet> of that servlet-name replaces
     * the class and init params, its <servlet-mapping>s replace these patterns, and a pattern
     * web.xml maps to another servlet is dropped. 0: the class is only offered to web.xml. */
    const serval_str_t* url_patterns;
    size_t url_pattern_count;
} serval_servlet_class_t;

/* A filter class, named by <filter-class>. OWNERSHIP, LIFETIME: as serval_servlet_class_t. */
typedef struct serval_filter_class_t
{
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    serval_str_t name;
    void* class_data;
    serval_status_t (*on_create)(void* class_data, void** out_instance);
    serval_status_t (*on_init)(void* instance, serval_config_t* config);
    /* Request threads, concurrently. Call host->chain_do_filter(chain, request, response) to
     * continue, or answer the response and return without calling it. */
    serval_status_t (*on_do_filter)(void* instance, serval_request_t* request, serval_response_t* response,
                                    serval_chain_t* chain);
    serval_status_t (*on_destroy)(void* instance);

    /* ---- ABI 1.1: sdk helpers ---- */
    /* Mapped from code (@WebFilter): with a url-pattern or a servlet name the host declares a
     * filter named `name` with that <filter-mapping>, running before (outside) the filters of
     * web.xml; a <filter> of that filter-name in web.xml replaces it and its mapping.
     * dispatchers: SERVAL_DISPATCH_ON_* bits; 0 means REQUEST only, as in web.xml. */
    const serval_str_t* url_patterns;
    size_t url_pattern_count;
    const serval_str_t* servlet_names; /* "*" = every servlet */
    size_t servlet_name_count;
    uint32_t dispatchers;
} serval_filter_class_t;

/* A listener class, named by <listener-class>. OWNERSHIP, LIFETIME: as serval_servlet_class_t. */
typedef struct serval_listener_class_t
{
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    serval_str_t name;
    void* class_data;
    serval_status_t (*on_create)(void* class_data, void** out_instance);
    /* Control thread, when the context has started. A failure stops the context. */
    serval_status_t (*on_context_initialized)(void* instance, serval_context_t* context);
    /* Control thread, when the context stops (failures are logged only). */
    serval_status_t (*on_context_destroyed)(void* instance, serval_context_t* context);
    /* Request threads, concurrently: before the filter chain and after the response. */
    serval_status_t (*on_request_initialized)(void* instance, serval_request_t* request);
    serval_status_t (*on_request_destroyed)(void* instance, serval_request_t* request);
    serval_status_t (*on_destroy)(void* instance);

    /* ---- ABI 1.1: sdk helpers ---- */
    /* true: declared from code (@WebListener): the host adds it as if web.xml listed
     * <listener-class>name</listener-class> (before web.xml's own listeners; once, even if
     * web.xml lists it too). */
    bool declared;

    /* ---- ABI 1.2: sessions (HttpSessionListener); the host reads them only when struct_size
     * covers them ----
     * Created: on the thread of the request that created the session. Destroyed: on the thread
     * of the request that invalidates it (attributes still readable), or on the host's sweep
     * thread when it expired (the id only: every attribute is SERVAL_NOT_FOUND). Concurrently,
     * like request hooks. Failures are logged only. */
    serval_status_t (*on_session_created)(void* instance, serval_session_t* session);
    serval_status_t (*on_session_destroyed)(void* instance, serval_session_t* session);
} serval_listener_class_t;

/* ---------------------------------------------------------------------------------------------
 * The app descriptor
 *
 * OWNERSHIP: app (usually a static object). LIFETIME: from the entry call until on_destroy has
 * returned. The host reads abi_major, abi_minor and struct_size before anything else, calls
 * on_init, and only then reads the class lists, so on_init may fill them. The class lists are
 * arrays of POINTERS so each class struct can grow on its own.
 * ------------------------------------------------------------------------------------------- */
typedef struct serval_app_t
{
    uint32_t struct_size; /* sizeof(serval_app_t) as the app was built */
    uint16_t abi_major;   /* SERVAL_ABI_MAJOR as the app was built */
    uint16_t abi_minor;   /* SERVAL_ABI_MINOR as the app was built */
    serval_str_t name;    /* for logs: "hello" */
    void* app_data;       /* passed to on_init and on_destroy */
    /* Control thread, once, after the version gate. A failure refuses the app. */
    serval_status_t (*on_init)(void* app_data);
    /* Control thread, once, after every instance was destroyed, right before dlclose(). */
    serval_status_t (*on_destroy)(void* app_data);
    const serval_servlet_class_t* const* servlets;
    size_t servlet_count;
    const serval_filter_class_t* const* filters;
    size_t filter_count;
    const serval_listener_class_t* const* listeners;
    size_t listener_count;
} serval_app_t;

/* The entry point, exported by the app: the handshake.
 * It stores `host` (valid until on_destroy returns), sets *out_app to its descriptor and returns
 * SERVAL_OK. It runs BEFORE the version gate, so it must do nothing else: no allocation, no
 * threads, no host calls except set_error. Real initialisation belongs in on_init.
 * Control thread, once per load.
 * OWNERSHIP: the function is the app's code. LIFETIME: callable until dlclose(). */
typedef serval_status_t (*serval_app_init_fn)(const serval_host_api_t* host, const serval_app_t** out_app);
SERVAL_EXPORT serval_status_t serval_app_init_v1(const serval_host_api_t* host, const serval_app_t** out_app);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SERVAL_ABI_H */
