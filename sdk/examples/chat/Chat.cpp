// The chat (docs/sdk.md walks through it): one room, a static page (static/index.html) that
// talks WebSocket to /chat/ws, and falls back to Server-Sent Events (/chat/events) plus a POST
// (/chat/send) where WebSocket is not available. Every message goes to every client of both
// kinds; the last 100 are kept, so an event stream that reconnects with Last-Event-ID gets what
// it missed. All declared in code: no web.xml.
//
// Messages are JSON: {"name": "...", "text": "..."} in, {"id": 7, "name": "...", "text": "..."}
// out. THREADS: WebSocket hooks run on I/O threads, doGet/doPost on request threads; the Room's
// mutex guards everything, and sends never block (a slow client is dropped, not waited for).
#include <algorithm>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <serval/json.hpp>
#include <serval/websocket.hpp>
#include <vector>

namespace {

using namespace std::chrono_literals;
namespace json = serval::json;

constexpr size_t kHistory = 100;
constexpr size_t kMaxName = 40;
constexpr size_t kMaxText = 2000;

/// The room: who listens, and the last messages.
class Room
{
public:
    static Room& instance()
    {
        static Room room; // the library's lifetime: the host drains connections first
        return room;
    }

    /// A new client first gets the recent messages (under the lock: none twice, none missed).
    void join(const serval::WebSocket& socket)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        for (const Message& m : _history)
            socket.sendText(m.json);
        _sockets.push_back(socket);
    }
    void leave(const serval::WebSocket& socket)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        auto it = std::find(_sockets.begin(), _sockets.end(), socket);
        if (it != _sockets.end()) _sockets.erase(it);
    }
    /// An event stream resuming after `lastId` (0: a first connection) gets what it missed.
    void listen(const serval::EventStream& stream, long lastId)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        for (const Message& m : _history)
            if (m.id > lastId) stream.send(m.json, "message", std::to_string(m.id));
        _streams.push_back(stream);
    }
    void forget(const serval::EventStream& stream)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        auto it = std::find(_streams.begin(), _streams.end(), stream);
        if (it != _streams.end()) _streams.erase(it);
    }

    /// Throws serval::HttpError(400) for an empty or oversized message.
    void post(std::string_view name, std::string_view text)
    {
        if (name.empty() || name.size() > kMaxName || text.empty() || text.size() > kMaxText)
            throw serval::HttpError(400, "a name (up to 40 bytes) and a text (up to 2000) are required");
        std::lock_guard<std::mutex> lock(_mutex);
        Message m{_nextId++, ""};
        m.json = json::Value{{"id", m.id}, {"name", name}, {"text", text}}.dump(
            -1, ' ', false, nlohmann::json::error_handler_t::replace);
        for (const serval::WebSocket& socket : _sockets)
            socket.sendText(m.json); // Dropped for a client that stopped reading: it is closed
        for (const serval::EventStream& stream : _streams)
            stream.send(m.json, "message", std::to_string(m.id));
        _history.push_back(std::move(m));
        if (_history.size() > kHistory) _history.pop_front();
    }

private:
    struct Message
    {
        long id;
        std::string json;
    };
    std::mutex _mutex;
    std::vector<serval::WebSocket> _sockets;
    std::vector<serval::EventStream> _streams;
    std::deque<Message> _history;
    long _nextId = 1;
};

/// GET /chat/ws: the WebSocket endpoint.
class ChatSocket : public serval::WebSocketServlet
{
public:
    void onOpen(serval::WebSocket& socket) override { Room::instance().join(socket); }
    void onMessage(serval::WebSocket& socket, std::string_view data, bool binary) override
    {
        if (binary) {
            socket.close(1003, "text only");
            return;
        }
        json::Value message = json::Value::parse(data, nullptr, false);
        if (!message.is_object() || !message["name"].is_string() || !message["text"].is_string()) {
            socket.close(1008, "expected {\"name\": ..., \"text\": ...}");
            return;
        }
        try {
            Room::instance().post(message["name"].get<std::string>(), message["text"].get<std::string>());
        } catch (const serval::HttpError&) {
            socket.close(1008, "a name up to 40 bytes and a text up to 2000");
        }
    }
    void onClose(serval::WebSocket& socket, uint16_t, std::string_view) override
    {
        Room::instance().leave(socket);
    }
};

/// GET /chat/events: the Server-Sent Events fallback (EventSource reconnects by itself and
/// sends Last-Event-ID).
class ChatEvents : public serval::HttpServlet
{
public:
    void doGet(serval::Request& request, serval::Response& response) override
    {
        long lastId = std::atol(serval::EventStream::lastEventId(request).c_str());
        auto stream = std::make_shared<std::optional<serval::EventStream>>();
        serval::AsyncHooks hooks;
        // Each hook drops the stream it holds, so the request's last reference goes with it.
        hooks.onClose = [stream](const serval::Async&) {
            if (*stream) Room::instance().forget(**stream);
            stream->reset();
        };
        hooks.onTimeout = [stream](const serval::Async& async) { // the browser reconnects
            if (*stream) Room::instance().forget(**stream);
            stream->reset();
            async.complete();
        };
        *stream = serval::EventStream::start(request, response, 5min, std::move(hooks));
        (*stream)->retry(2s);
        Room::instance().listen(**stream, lastId);
    }
};

/// POST /chat/send (name, text as form fields): the fallback's way in.
class ChatSend : public serval::HttpServlet
{
public:
    void doPost(serval::Request& request, serval::Response& response) override
    {
        Room::instance().post(request.parameter("name", ""), request.parameter("text", ""));
        response.setStatus(204);
    }
};

} // namespace

SERVAL_APP("chat")
{
    app.servlet<ChatSocket>("ws", {"/ws"});
    app.servlet<ChatEvents>("events", {"/events"});
    app.servlet<ChatSend>("send", {"/send"});
}
