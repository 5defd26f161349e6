#pragma once

#include "core/AsyncContext.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace serval::core {

/// A Server-Sent Events response (HTML Living Standard 9.2, `text/event-stream`) on an
/// AsyncContext: event / id / retry fields, multi-line data, comment heartbeats that keep
/// proxies from closing an idle stream, and the client's Last-Event-ID to resume from.
///
/// THREADS: every call from any thread (the AsyncContext's mutex orders the writes; one
/// event is one write, so events never interleave). The heartbeat runs on the loop.
/// OWNERSHIP: shared, like its AsyncContext; the heartbeat timer holds a weak reference.
class EventStream : public std::enable_shared_from_this<EventStream>
{
public:
    /// During service(): starts the async response (no timeout unless given: a stream lives
    /// until complete() or the client leaves), sends the head at once (200,
    /// `text/event-stream`, no caching, `X-Accel-Buffering: no` for nginx), and, if
    /// `heartbeat` is positive, a `:` comment line whenever that long passed without an event.
    static std::shared_ptr<EventStream>
    start(Request& request, Response& response,
          std::chrono::milliseconds heartbeat = std::chrono::seconds(15),
          std::shared_ptr<AsyncListener> listener = nullptr,
          std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

    /// The Last-Event-ID the client sent when it reconnected, if any (read during service()).
    static std::optional<std::string> lastEventId(const Request& request);

    /// One event. `data` may hold newlines (each line becomes a data: field); `event` and
    /// `id` may not (an id with CR, LF or NUL, or an event name with CR/LF, is Dropped).
    http::WriteStatus send(std::string_view data, std::string_view event = {}, std::string_view id = {});
    /// Tells the client how long to wait before reconnecting.
    http::WriteStatus retry(std::chrono::milliseconds delay);
    /// A comment line (ignored by EventSource), as the heartbeat sends.
    http::WriteStatus comment(std::string_view text);
    bool complete() { return _async->complete(); }
    bool clientGone() const { return _async->clientGone(); }
    size_t bufferedAmount() const { return _async->bufferedAmount(); }
    /// Heartbeats sent so far.
    uint64_t heartbeats() const noexcept { return _heartbeats.load(); }

    /// The wire form of one event (for tests and for apps that batch).
    static std::string format(std::string_view data, std::string_view event, std::string_view id);

private:
    explicit EventStream(std::shared_ptr<AsyncContext> async) : _async(std::move(async)) {}
    void scheduleHeartbeat(uint64_t intervalNanos);
    /// Loop thread: the next heartbeat timer.
    void armHeartbeat(uint64_t intervalNanos);
    http::WriteStatus emit(const std::string& bytes);

    std::shared_ptr<AsyncContext> _async;
    std::atomic<bool> _wroteSinceBeat{false};
    std::atomic<uint64_t> _heartbeats{0};
};

} // namespace serval::core
