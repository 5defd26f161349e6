#include "connector/http2/Http2Session.h"

#include "connector/http2/Http2Stream.h"

#include <nghttp2/nghttp2.h>

namespace serval::http2 {
namespace {

/// Output queued for the socket above which the session stops asking nghttp2 for frames (a
/// client that does not read holds at most this much, plus one frame).
constexpr size_t kHighWater = 256 * 1024;
/// CONTINUATION frames accepted after one HEADERS (CVE-2024-28182; nghttp2's own default).
constexpr size_t kMaxContinuations = 8;
/// Client RST_STREAMs nghttp2 lets through at once, and per second after that (rapid reset,
/// CVE-2023-44487); beyond it the connection gets GOAWAY. The glitch budget counts them too.
constexpr uint64_t kResetBurst = 200;
constexpr uint64_t kResetRate = 33;
/// PING and SETTINGS acknowledgements queued before the client is treated as a flood.
constexpr size_t kMaxOutboundAck = 100;
constexpr uint64_t kMillis = 1000 * 1000;

/// A WINDOW_UPDATE this small (or on a window nobody is waiting on) does no useful work.
constexpr int32_t kUsefulWindowIncrement = 1024;

/// The UpgradeHandler the connection holds: forwards to the shared session.
class SessionHandle final : public http::UpgradeHandler
{
public:
    explicit SessionHandle(std::shared_ptr<Http2Session> session) noexcept : _session(std::move(session)) {}
    void onOpen(http::UpgradedConnection& connection) noexcept override { _session->open(connection); }
    void onData(std::string_view bytes) noexcept override { _session->receive(bytes); }
    void onWritable() noexcept override { _session->writable(); }
    void onClose() noexcept override { _session->closed(); }
    void onDrain() noexcept override { _session->drain(); }

private:
    std::shared_ptr<Http2Session> _session;
};

Http2Stream* streamOf(nghttp2_session* session, int32_t id) noexcept
{
    return static_cast<Http2Stream*>(nghttp2_session_get_stream_user_data(session, id));
}

} // namespace

/// nghttp2's callbacks; `user` is the Http2Session. Each returns 0, or an nghttp2 error code
/// that resets the stream (TEMPORAL_CALLBACK_FAILURE) or ends the session (CALLBACK_FAILURE).
/// RFC 9218's PRIORITY_UPDATE: browsers send it with requests; ignored, but not a glitch.
constexpr uint8_t kPriorityUpdate = 0x10;

struct Callbacks
{
    static Http2Session& self(void* user) noexcept { return *static_cast<Http2Session*>(user); }

    /// Checks nghttp2 leaves out (it is lenient where RFC 9113 is not), before the frame is
    /// processed: a HEADERS that reopens a stream id at or below the highest one seen (RFC 9113
    /// 5.1.1; nghttp2 ignores it, so a client could reuse ids for free) unless it may be
    /// trailers for a stream we reset; a PRIORITY on stream 0 (6.3; nghttp2 skips PRIORITY
    /// entirely once NO_RFC7540_PRIORITIES is on).
    /// An unknown frame type's payload (the glitch was counted at its header): dropped.
    static int onExtensionChunk(nghttp2_session*, const nghttp2_frame_hd*, const uint8_t*, size_t,
                                void*) noexcept
    {
        return 0;
    }
    static int unpackExtension(nghttp2_session*, void**, const nghttp2_frame_hd*, void*) noexcept
    {
        return NGHTTP2_ERR_CANCEL; // ignored, as RFC 9113 4.1 says
    }

    static int onBeginFrame(nghttp2_session* s, const nghttp2_frame_hd* hd, void* user) noexcept
    {
        Http2Session& session = self(user);
        if (hd->type == NGHTTP2_PRIORITY) {
            // RFC 9113 deprecates it (we advertise NO_RFC7540_PRIORITIES): a glitch, counted
            // here because nghttp2 then drops PRIORITY frames without a callback.
            if (hd->stream_id == 0)
                nghttp2_session_terminate_session(s, NGHTTP2_PROTOCOL_ERROR);
            else
                session.glitch();
            return 0;
        }
        if (hd->type > NGHTTP2_CONTINUATION && hd->type != kPriorityUpdate) {
            // A frame type we do not use (RFC 9113 4.1: ignored): a client's GREASE frame now and
            // then is fine, a flood of them is work for nothing, as an empty DATA is.
            session.glitch();
            return 0;
        }
        if (hd->type != NGHTTP2_HEADERS || hd->stream_id == 0 || (hd->stream_id & 1) == 0) return 0;
        if (hd->stream_id > session._highestStream) {
            session._highestStream = hd->stream_id;
            return 0;
        }
        if (nghttp2_session_find_stream(s, hd->stream_id) != nullptr) return 0; // trailers
        for (int32_t reset : session._resetByUs)
            if (reset == hd->stream_id) return 0; // trailers the client sent before our reset arrived
        nghttp2_session_terminate_session(s, NGHTTP2_PROTOCOL_ERROR);
        return 0;
    }

    static int onBeginHeaders(nghttp2_session* s, const nghttp2_frame* frame, void* user) noexcept
    {
        if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
        Http2Session& session = self(user);
        try {
            auto stream = std::make_unique<Http2Stream>(session, frame->hd.stream_id);
            nghttp2_session_set_stream_user_data(s, frame->hd.stream_id, stream.get());
            // The header block (HEADERS and its CONTINUATIONs) has headerTimeout to complete.
            stream->setHeadDeadline(session.loop().now() +
                                    uint64_t(session._context.config.headerTimeoutMs) * kMillis);
            session.watchDeadline(stream->deadline());
            session._streams.emplace(frame->hd.stream_id, std::move(stream));
        } catch (...) {
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; // out of memory: refuse the stream
        }
        return 0;
    }

    static int onHeader(nghttp2_session* s, const nghttp2_frame* frame, const uint8_t* name,
                        size_t nameLength, const uint8_t* value, size_t valueLength, uint8_t, void*) noexcept
    {
        if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
        Http2Stream* stream = streamOf(s, frame->hd.stream_id);
        if (stream == nullptr) return 0;
        const bool ok = stream->onHeader(std::string_view(reinterpret_cast<const char*>(name), nameLength),
                                         std::string_view(reinterpret_cast<const char*>(value), valueLength));
        return ok ? 0 : NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }

    static int onFrameRecv(nghttp2_session* s, const nghttp2_frame* frame, void* user) noexcept
    {
        Http2Session& session = self(user);
        const bool endStream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
        switch (frame->hd.type) {
        case NGHTTP2_DATA: {
            if (frame->hd.length == 0 && !endStream) session.glitch(); // empty DATA: work for nothing
            Http2Stream* stream = streamOf(s, frame->hd.stream_id);
            if (stream != nullptr && endStream) stream->onRequestEnd();
            return 0;
        }
        case NGHTTP2_HEADERS: {
            Http2Stream* stream = streamOf(s, frame->hd.stream_id);
            if (stream == nullptr) return 0;
            if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) stream->onHeadersEnd(endStream);
            if (endStream) stream->onRequestEnd(); // after the head, or after trailers
            return 0;
        }
        case NGHTTP2_SETTINGS:
            if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0 && ++session._settingsFrames > 1) session.glitch();
            return 0;
        case NGHTTP2_PING:
            if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) session.glitch();
            return 0;
        case NGHTTP2_RST_STREAM:
            session.glitch();
            return 0;
        case NGHTTP2_WINDOW_UPDATE:
            if (frame->window_update.window_size_increment < kUsefulWindowIncrement) session.glitch();
            return 0;
        default:
            return 0;
        }
    }

    static int onInvalidFrameRecv(nghttp2_session*, const nghttp2_frame*, int, void* user) noexcept
    {
        self(user).glitch();
        return 0;
    }

    static int onDataChunkRecv(nghttp2_session* s, uint8_t, int32_t id, const uint8_t* data, size_t length,
                               void*) noexcept
    {
        Http2Stream* stream = streamOf(s, id);
        if (stream != nullptr) stream->onData(std::string_view(reinterpret_cast<const char*>(data), length));
        return 0;
    }

    static int onStreamClose(nghttp2_session* s, int32_t id, uint32_t errorCode, void* user) noexcept
    {
        Http2Stream* stream = streamOf(s, id);
        if (stream != nullptr) {
            nghttp2_session_set_stream_user_data(s, id, nullptr);
            stream->onClosed(errorCode);
        }
        Http2Session& session = self(user);
        session._lastActive = session._connection != nullptr ? session.loop().now() : 0;
        return 0;
    }

    static int onFrameSend(nghttp2_session* s, const nghttp2_frame* frame, void* user) noexcept
    {
        if (frame->hd.type == NGHTTP2_RST_STREAM) {
            Http2Session& session = self(user);
            session._resetByUs[session._resetNext++ % Http2Session::kRememberedResets] = frame->hd.stream_id;
            return 0;
        }
        if ((frame->hd.type != NGHTTP2_DATA && frame->hd.type != NGHTTP2_HEADERS) ||
            (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0)
            return 0;
        Http2Stream* stream = streamOf(s, frame->hd.stream_id);
        if (stream != nullptr) stream->onEndSent();
        return 0;
    }
};

/// The data provider's read callback: the stream is the source.
static ssize_t readBody(nghttp2_session*, int32_t, uint8_t* buffer, size_t length, uint32_t* flags,
                        nghttp2_data_source* source, void*) noexcept
{
    return static_cast<Http2Stream*>(source->ptr)->read(buffer, length, flags);
}

nghttp2_data_source_read_callback bodyReader() noexcept
{
    return &readBody;
}

std::unique_ptr<http::UpgradeHandler> Http2Session::create(SessionContext context)
{
    return std::make_unique<SessionHandle>(std::make_shared<Http2Session>(std::move(context)));
}

Http2Session::Http2Session(SessionContext context)
    : _context(std::move(context)),
      _glitches(_context.config.http2GlitchBudget, _context.config.http2GlitchRate)
{}

Http2Session::~Http2Session()
{
    if (_session != nullptr) nghttp2_session_del(_session);
}

uint32_t Http2Session::headerListLimit(const config::ConnectorConfig& config) noexcept
{
    return config.maxHeaderSize;
}

void Http2Session::open(http::UpgradedConnection& connection) noexcept
{
    _connection = &connection;
    connection.setLimits(http::OutputLimits{kHighWater, 64 * kHighWater});
    const config::ConnectorConfig& config = _context.config;

    nghttp2_session_callbacks* callbacks = nullptr;
    nghttp2_option* option = nullptr;
    if (nghttp2_session_callbacks_new(&callbacks) != 0 || nghttp2_option_new(&option) != 0) {
        if (callbacks != nullptr) nghttp2_session_callbacks_del(callbacks);
        connection.abort();
        return;
    }
    nghttp2_session_callbacks_set_on_begin_frame_callback(callbacks, &Callbacks::onBeginFrame);
    nghttp2_session_callbacks_set_on_extension_chunk_recv_callback(callbacks, &Callbacks::onExtensionChunk);
    nghttp2_session_callbacks_set_unpack_extension_callback(callbacks, &Callbacks::unpackExtension);
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &Callbacks::onBeginHeaders);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, &Callbacks::onHeader);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &Callbacks::onFrameRecv);
    nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(callbacks, &Callbacks::onInvalidFrameRecv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &Callbacks::onDataChunkRecv);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &Callbacks::onStreamClose);
    nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, &Callbacks::onFrameSend);

    nghttp2_option_set_max_continuations(option, kMaxContinuations);
    nghttp2_option_set_stream_reset_rate_limit(option, kResetBurst, kResetRate);
    nghttp2_option_set_max_outbound_ack(option, kMaxOutboundAck);
    nghttp2_option_set_max_settings(option, 32);
    // Unknown frame types are dropped by nghttp2 without a callback; taken as extensions, each
    // one reaches onBeginFrame (a glitch) and its payload is discarded (onExtensionChunk, then
    // unpack cancels it). PRIORITY_UPDATE stays nghttp2's.
    for (int type = NGHTTP2_CONTINUATION + 1; type <= 0xff; ++type)
        if (type != kPriorityUpdate)
            nghttp2_option_set_user_recv_extension_type(option, static_cast<uint8_t>(type));
    nghttp2_option_set_max_deflate_dynamic_table_size(option, 4096);

    const int rc = nghttp2_session_server_new2(&_session, callbacks, this, option);
    nghttp2_session_callbacks_del(callbacks);
    nghttp2_option_del(option);
    if (rc != 0) {
        _session = nullptr;
        connection.abort();
        return;
    }
    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, config.http2MaxConcurrentStreams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, config.http2StreamWindow},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, headerListLimit(config)},
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
    };
    nghttp2_submit_settings(_session, NGHTTP2_FLAG_NONE, settings, sizeof settings / sizeof settings[0]);
    nghttp2_session_set_local_window_size(_session, NGHTTP2_FLAG_NONE, 0,
                                          static_cast<int32_t>(config.http2ConnectionWindow));
    _lastActive = loop().now();
    armIdleTimer();
    pump();
}

void Http2Session::receive(std::string_view bytes) noexcept
{
    if (_session == nullptr || _connection == nullptr) return;
    _lastActive = loop().now();
    ++_depth;
    const ssize_t n =
        nghttp2_session_mem_recv(_session, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    --_depth;
    if (n < 0) {
        // Not the client's bytes (bad preface) or a flood nghttp2 refuses: whatever GOAWAY it
        // queued goes out, then the connection closes.
        fail();
        return;
    }
    pump();
}

void Http2Session::writable() noexcept
{
    pump();
}

void Http2Session::fail() noexcept
{
    if (_failed || _connection == nullptr) return;
    _failed = true;
    pump();
    if (_connection != nullptr) _connection->close();
}

bool Http2Session::glitch() noexcept
{
    if (_connection == nullptr || _glitches.spend(loop().now())) return true;
    if (!_failed && _session != nullptr) {
        _failed = true;
        nghttp2_session_terminate_session(_session, NGHTTP2_ENHANCE_YOUR_CALM);
    }
    return false;
}

void Http2Session::wake(Http2Stream& stream) noexcept
{
    try {
        _woken.push_back(&stream);
    } catch (...) {
        stream.act(); // no memory for the list: act now (the stream is outside nghttp2 calls or
                      // tolerates it: act() only submits)
    }
    if (_depth == 0) pump();
}

void Http2Session::pump() noexcept
{
    if (_depth > 0) return; // the outer call pumps when it returns
    ++_depth;
    for (;;) {
        while (!_woken.empty()) {
            std::vector<Http2Stream*> woken;
            woken.swap(_woken);
            for (Http2Stream* stream : woken)
                stream->act();
        }
        if (_session == nullptr || _connection == nullptr) break;
        _connection->setCorked(true); // the frames of this burst leave together
        while (_connection != nullptr && _connection->bufferedAmount() < kHighWater) {
            const uint8_t* data = nullptr;
            const ssize_t n = nghttp2_session_mem_send(_session, &data);
            if (n < 0) {
                _failed = true;
                _connection->abort();
                break;
            }
            if (n == 0) break;
            _connection->write(std::string_view(reinterpret_cast<const char*>(data), static_cast<size_t>(n)));
        }
        if (_connection != nullptr) _connection->setCorked(false);
        if (_woken.empty()) break;
    }
    --_depth;
    if (_session != nullptr && _connection != nullptr && (_failed || !nghttp2_session_want_read(_session)) &&
        !nghttp2_session_want_write(_session)) {
        _connection->close(); // GOAWAY sent (drain, idle, error) and nothing left open
    }
    dropRetired();
}

void Http2Session::schedulePump() noexcept
{
    if (_pumpPosted || _connection == nullptr) return;
    _pumpPosted = true;
    _pumpRef = shared_from_this();
    if (!loop().post(_pumpTask)) {
        _pumpPosted = false;
        _pumpRef.reset();
        pump();
    }
}

void Http2Session::PumpTask::run() noexcept
{
    std::shared_ptr<Http2Session> keep = std::move(_session._pumpRef); // may be the last reference
    _session._pumpPosted = false;
    _session.pump();
}

void Http2Session::retire(Http2Stream& stream) noexcept
{
    auto found = _streams.find(stream.id());
    if (found == _streams.end()) return;
    try {
        _retired.push_back(std::move(found->second));
    } catch (...) {
        (void)found->second.release(); // cannot park it: leak one stream rather than free it in use
    }
    _streams.erase(found);
    _lastActive = _connection != nullptr ? loop().now() : _lastActive;
}

void Http2Session::dropRetired() noexcept
{
    if (_depth == 0 && _woken.empty()) _retired.clear();
}

void Http2Session::closed() noexcept
{
    if (_idleTimer && _connection != nullptr) loop().cancelTimer(_idleTimer);
    _idleTimer = {};
    _connection = nullptr;
    ++_depth;
    std::vector<Http2Stream*> open;
    open.reserve(_streams.size());
    for (auto& entry : _streams)
        open.push_back(entry.second.get());
    for (Http2Stream* stream : open)
        stream->abandon(); // retires those not on a worker
    _woken.clear();
    --_depth;
    if (_session != nullptr) {
        nghttp2_session_del(_session);
        _session = nullptr;
    }
    dropRetired();
}

void Http2Session::drain() noexcept
{
    if (_session == nullptr || _connection == nullptr || _draining) return;
    _draining = true;
    nghttp2_submit_goaway(_session, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(_session),
                          NGHTTP2_NO_ERROR, nullptr, 0);
    pump();
}

void Http2Session::armIdleTimer(uint64_t notBefore) noexcept
{
    const uint32_t timeout = _context.config.keepAliveTimeoutMs;
    if (timeout == 0 || _idleTimer || _connection == nullptr) return;
    std::weak_ptr<Http2Session> weak = weak_from_this();
    try {
        _idleTimer = loop().addTimer(std::max(_lastActive + uint64_t(timeout) * kMillis, notBefore), [weak] {
            if (auto session = weak.lock()) session->onIdleTimer();
        });
    } catch (...) {
        _idleTimer = {}; // no timer: the connection lives until the client or the drain closes it
    }
}

void Http2Session::onIdleTimer() noexcept
{
    _idleTimer = {};
    if (_connection == nullptr || _session == nullptr) return;
    const uint64_t timeout = uint64_t(_context.config.keepAliveTimeoutMs) * kMillis;
    if (_streams.empty() && loop().now() >= _lastActive + timeout) {
        _draining = true;
        nghttp2_submit_goaway(_session, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(_session),
                              NGHTTP2_NO_ERROR, nullptr, 0);
        pump();
        if (_connection != nullptr) _connection->close();
        return;
    }
    // Streams are open (an event stream, a long poll, a body still coming): not idle. Looked
    // at again a timeout from now: re-armed at _lastActive + timeout, already past, the timer
    // fired again at once, forever, and the loop thread spun at 100%.
    armIdleTimer(loop().now() + timeout);
}

void Http2Session::watchDeadline(uint64_t deadline) noexcept
{
    if (deadline == 0 || _connection == nullptr) return;
    if (_streamTimer && _streamTimerAt <= deadline) return; // fires first; rescans then
    if (_streamTimer) loop().cancelTimer(_streamTimer);
    std::weak_ptr<Http2Session> weak = weak_from_this();
    try {
        _streamTimer = loop().addTimer(deadline, [weak] {
            if (auto session = weak.lock()) session->onStreamTimer();
        });
        _streamTimerAt = deadline;
    } catch (...) {
        _streamTimer = {}; // no timer: the idle timeout or the drain ends a stalled stream
    }
}

void Http2Session::onStreamTimer() noexcept
{
    _streamTimer = {};
    if (_connection == nullptr || _session == nullptr) return;
    const uint64_t now = loop().now();
    uint64_t next = 0;
    std::vector<Http2Stream*> due;
    try {
        for (const auto& entry : _streams) {
            const uint64_t deadline = entry.second->deadline();
            if (deadline == 0) continue;
            if (deadline <= now)
                due.push_back(entry.second.get());
            else if (next == 0 || deadline < next)
                next = deadline;
        }
    } catch (...) {
        next = now + kMillis * 100; // no memory for the list: try again shortly
    }
    ++_depth; // retire() parks, it does not free, until pump() returns
    for (Http2Stream* stream : due)
        stream->onDeadline();
    --_depth;
    pump();
    watchDeadline(next);
}

} // namespace serval::http2
