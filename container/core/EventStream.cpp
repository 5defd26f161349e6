#include "core/EventStream.h"

#include "core/Request.h"
#include "core/Response.h"

namespace serval::core {

std::shared_ptr<EventStream> EventStream::start(Request& request, Response& response,
                                                std::chrono::milliseconds heartbeat,
                                                std::shared_ptr<AsyncListener> listener,
                                                std::chrono::milliseconds timeout)
{
    response.setStatus(200);
    response.setContentType("text/event-stream; charset=utf-8");
    response.setHeader("Cache-Control", "no-cache");
    response.setHeader("X-Accel-Buffering", "no");
    std::shared_ptr<EventStream> stream(
        new EventStream(AsyncContext::start(request, response, timeout, std::move(listener))));
    stream->_async->write({}); // the head now: EventSource's onopen fires before the first event
    if (heartbeat.count() > 0) stream->scheduleHeartbeat(static_cast<uint64_t>(heartbeat.count()) * 1000000);
    return stream;
}

std::optional<std::string> EventStream::lastEventId(const Request& request)
{
    if (!request.http().hasHeader("Last-Event-ID")) return std::nullopt;
    return std::string(request.http().header("Last-Event-ID"));
}

std::string EventStream::format(std::string_view data, std::string_view event, std::string_view id)
{
    std::string out;
    out.reserve(data.size() + event.size() + id.size() + 24);
    if (!id.empty()) out.append("id: ").append(id).push_back('\n');
    if (!event.empty()) out.append("event: ").append(event).push_back('\n');
    // Each line of data is one field; CRLF, CR and LF all end a line.
    size_t at = 0;
    while (true) {
        size_t end = data.find_first_of("\r\n", at);
        out.append("data: ")
            .append(data.substr(at, end == std::string_view::npos ? end : end - at))
            .push_back('\n');
        if (end == std::string_view::npos) break;
        at = end + ((data[end] == '\r' && end + 1 < data.size() && data[end + 1] == '\n') ? 2 : 1);
        if (at == data.size()) break;
    }
    out.push_back('\n');
    return out;
}

http::WriteStatus EventStream::emit(const std::string& bytes)
{
    _wroteSinceBeat = true;
    return _async->write(bytes);
}

http::WriteStatus EventStream::send(std::string_view data, std::string_view event, std::string_view id)
{
    if (id.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
        return http::WriteStatus::Dropped;
    if (event.find_first_of("\r\n") != std::string_view::npos) return http::WriteStatus::Dropped;
    try {
        return emit(format(data, event, id));
    } catch (const std::bad_alloc&) {
        return http::WriteStatus::Dropped;
    }
}

http::WriteStatus EventStream::retry(std::chrono::milliseconds delay)
{
    return emit("retry: " + std::to_string(delay.count()) + "\n\n");
}

http::WriteStatus EventStream::comment(std::string_view text)
{
    if (text.find_first_of("\r\n") != std::string_view::npos) return http::WriteStatus::Dropped;
    return _async->write(": " + std::string(text) + "\n\n");
}

void EventStream::scheduleHeartbeat(uint64_t intervalNanos)
{
    std::weak_ptr<EventStream> weak = shared_from_this();
    _async->loop().post([weak, intervalNanos] {
        if (auto self = weak.lock()) self->armHeartbeat(intervalNanos);
    });
}

void EventStream::armHeartbeat(uint64_t intervalNanos)
{
    std::weak_ptr<EventStream> weak = shared_from_this();
    http::Loop& loop = _async->loop();
    loop.addTimer(loop.now() + intervalNanos, [weak, intervalNanos] {
        auto self = weak.lock();
        if (!self || self->_async->clientGone()) return;
        // A beat only if nothing was written during the last interval.
        if (!self->_wroteSinceBeat.exchange(false)) {
            if (self->comment("heartbeat") == http::WriteStatus::Dropped) return; // completed
            ++self->_heartbeats;
        }
        self->armHeartbeat(intervalNanos);
    });
}

} // namespace serval::core
