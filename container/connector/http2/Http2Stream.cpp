#include "connector/http2/Http2Stream.h"

#include "connector/http2/Http2Session.h"
#include "http/HttpDate.h"
#include "http/HttpStatus.h"
#include "http/Token.h"
#include "util/Strings.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstring>
#include <ctime>
#include <unistd.h>

namespace serval::http2 {

nghttp2_data_source_read_callback bodyReader() noexcept; // Http2Session.cpp

namespace {

/// Streamed output queued for the client above which a servlet's flush() on a worker waits.
constexpr size_t kStreamHighWater = 256 * 1024;

uint64_t monotonicNanos() noexcept
{
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

/// Response header fields HTTP/2 must not carry (RFC 9113 8.2.2) or that the stream writes
/// itself (content-length, date).
bool droppedResponseHeader(std::string_view lower) noexcept
{
    return lower == "connection" || lower == "keep-alive" || lower == "proxy-connection" ||
           lower == "transfer-encoding" || lower == "upgrade" || lower == "content-length" || lower == "date";
}

bool isFieldValue(std::string_view value) noexcept
{
    for (unsigned char c : value)
        if (c == '\r' || c == '\n' || c == '\0') return false;
    return true;
}

bool bodylessStatus(int status) noexcept
{
    return status < 200 || status == 204 || status == 304;
}

} // namespace

Http2Stream::Http2Stream(Http2Session& session, int32_t id)
    : _session(session), _id(id), _bodyShare(session.context().bodyBudget)
{
    const SessionContext& context = session.context();
    http::HttpRequest& request = _exchange.request;
    request.remoteAddress = context.remoteAddress;
    request.remotePort = context.remotePort;
    request.localAddress = context.localAddress;
    request.localPort = context.localPort;
    request.secure = context.config.secure;
    _exchange.compression = &context.config.compression; // compressed above the protocol, as on HTTP/1.1
    request.versionMajor = 2;
    request.versionMinor = 0;
    _exchange.loop = &session.loop();
    _exchange.control = this;
    _exchange.response.setSink(this);
}

Http2Stream::~Http2Stream() = default;

bool Http2Stream::onLoopThread() const noexcept
{
    return _exchange.loop->isLoopThread();
}

// ---------------------------------------------------------------------------------------------
// The request (loop thread, inside nghttp2 callbacks)

bool Http2Stream::onHeader(std::string_view name, std::string_view value) noexcept
{
    if (_phase != Phase::Headers) return true;
    const config::ConnectorConfig& config = _session.context().config;
    _headerBytes += name.size() + value.size() + 32; // RFC 9113 6.5.2's accounting
    if (_headerBytes > Http2Session::headerListLimit(config)) _headersTooLarge = true;
    if (_headersTooLarge) return true; // the rest is decoded (HPACK state) but not kept
    try {
        if (!name.empty() && name[0] == ':') { // nghttp2 checked which and where (RFC 9113 8.3)
            if (name == ":method")
                _method.assign(value);
            else if (name == ":path")
                _path.assign(value);
            else if (name == ":authority")
                _authority.assign(value);
            return true;
        }
        if (++_headerCount > config.maxHeaderCount) {
            _headersTooLarge = true;
            return true;
        }
        if (name == "cookie") { // RFC 9113 8.2.3: split crumbs are one field again
            if (!_cookies.empty()) _cookies.append("; ");
            _cookies.append(value);
            return true;
        }
        if (name == "expect") {
            if (util::equalsIgnoreCase(value, "100-continue"))
                _expectContinue = true;
            else
                _earlyStatus = 417;
        }
        _exchange.request.headers.push_back(http::Header{std::string(name), std::string(value)});
    } catch (...) {
        return false; // out of memory: reset this stream
    }
    return true;
}

void Http2Stream::onHeadersEnd(bool endStream) noexcept
{
    if (_phase != Phase::Headers) return;
    _deadline = 0;
    if (_headersTooLarge) {
        _session.glitch();
        respondStatus(431);
        return;
    }
    http::HttpRequest& request = _exchange.request;
    try {
        request.method = _method;
        if (_method == "CONNECT") return respondStatus(501); // no tunnels (RFC 9113 8.5)
        if (_path.empty() || (_path[0] != '/' && !(_path == "*" && _method == "OPTIONS")))
            return respondStatus(400);
        for (unsigned char c : _path)
            if (c <= 0x20 || c >= 0x7f) return respondStatus(400);
        request.target = _path;
        const size_t question = _path.find('?');
        request.path.assign(_path, 0, question);
        if (question != std::string::npos) request.query.assign(_path, question + 1, std::string::npos);
        const std::string_view host = request.header("Host");
        // As HTTP/1.1's Host: a uri-host and port, never userinfo ("user@host") or a path.
        if (!http::isHostValue(_authority) || !http::isHostValue(host)) return respondStatus(400);
        if (!_authority.empty()) {
            // RFC 9113 8.3.1: :authority is the target's authority; a Host that disagrees is an
            // attempt to route one way and be checked another.
            if (request.hasHeader("Host")) {
                if (!util::equalsIgnoreCase(host, _authority)) return respondStatus(400);
            } else {
                request.headers.insert(request.headers.begin(), http::Header{"host", _authority});
            }
        } else if (!request.hasHeader("Host")) {
            return respondStatus(400); // as HTTP/1.1 without Host: nothing to route by
        }
        if (!_cookies.empty()) request.headers.push_back(http::Header{"cookie", std::move(_cookies)});
    } catch (...) {
        return respondStatus(500);
    }
    _exchange.startNanos = monotonicNanos();
    _exchange.bytesReceived = _headerBytes;
    _exchange.response.setHeadOnly(_method == "HEAD");
    if (std::atomic<uint64_t>* counter = _session.context().requestCounter) {
        counter->store(counter->load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
    const config::ConnectorConfig& config = _session.context().config;
    http::HeadDecision decision = _session.context().handler.onHead(_exchange);
    _headCalled = true;
    _maxBody = decision.maxBodySize != 0 ? decision.maxBodySize : config.maxBodySize;
    _bodyConsumer = decision.bodyConsumer;
    _dispatch = decision.dispatch;
    _lane = decision.lane;
    if (decision.rejectStatus != 0) return respondStatus(decision.rejectStatus);
    if (_earlyStatus != 0) return respondStatus(_earlyStatus);
    const std::string_view length = request.header("Content-Length");
    if (!length.empty()) {
        uint64_t declared = 0;
        auto result = std::from_chars(length.data(), length.data() + length.size(), declared);
        if (result.ec != std::errc() || result.ptr != length.data() + length.size())
            return respondStatus(400);
        if (declared > _maxBody) return respondStatus(413);
    }
    _phase = Phase::Body;
    if (!endStream) {
        _deadline = _session.loop().now() + uint64_t(_session.context().config.bodyTimeoutMs) * 1000000;
        _session.watchDeadline(_deadline);
    }
    if (_expectContinue && !endStream) {
        const nghttp2_nv nv[] = {{const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(":status")),
                                  const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>("100")), 7, 3,
                                  NGHTTP2_NV_FLAG_NONE}};
        nghttp2_submit_headers(_session.nghttp2(), NGHTTP2_FLAG_NONE, _id, nullptr, nv, 1, nullptr);
    }
}

void Http2Stream::onData(std::string_view bytes) noexcept
{
    if (_phase != Phase::Body) return; // answered early: the rest is dropped (flow control still credited)
    _bodyBytes += bytes.size();
    _exchange.bytesReceived += bytes.size();
    _deadline = _session.loop().now() + uint64_t(_session.context().config.bodyTimeoutMs) * 1000000;
    _session.watchDeadline(_deadline);
    if (_bodyBytes > _maxBody) return respondStatus(413);
    if (_bodyConsumer != nullptr) {
        http::BodyVerdict verdict = _bodyConsumer->onData(_exchange, bytes);
        if (verdict.abortStatus != 0) respondStatus(verdict.abortStatus);
        return;
    }
    if (!_bodyShare.take(bytes.size(), _session.loop().now()))
        return respondStatus(503); // the rest of this body is dropped, as after a 413
    try {
        _exchange.request.body.append(bytes);
    } catch (...) {
        respondStatus(413);
    }
}

void Http2Stream::onRequestEnd() noexcept
{
    _requestEnded = true;
    _deadline = 0;
    if (_phase != Phase::Body) return;
    if (_bodyConsumer != nullptr) {
        http::BodyVerdict verdict = _bodyConsumer->onEnd(_exchange);
        if (verdict.abortStatus != 0) return respondStatus(verdict.abortStatus);
    }
    _phase = Phase::Ready;
    _session.wake(*this); // service() runs once nghttp2 has returned
}

void Http2Stream::onClosed(uint32_t) noexcept
{
    _closed = true;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _gone = true;
    }
    _drained.notify_all();
    if (!_onWorker) end();
}

void Http2Stream::abandon() noexcept
{
    onClosed(NGHTTP2_CANCEL);
}

void Http2Stream::onDeadline() noexcept
{
    _deadline = 0;
    if (_phase == Phase::Headers) {
        // The head never completed: nothing to answer (RFC 9113 8.1: a server may reset a
        // stream it will not serve); the connection and its other streams carry on.
        if (_session.nghttp2() != nullptr)
            nghttp2_submit_rst_stream(_session.nghttp2(), NGHTTP2_FLAG_NONE, _id, NGHTTP2_CANCEL);
        // Sending it closes the stream (onClosed() ends it); a late end of the block is ignored.
    } else if (_phase == Phase::Body && !_requestEnded) {
        respondStatus(408);
    }
}

void Http2Stream::onEndSent() noexcept
{
    if (!_requestEnded && _session.nghttp2() != nullptr) // a body nobody will read
        nghttp2_submit_rst_stream(_session.nghttp2(), NGHTTP2_FLAG_NONE, _id, NGHTTP2_NO_ERROR);
}

// ---------------------------------------------------------------------------------------------
// Service and the response (loop thread, outside nghttp2 calls)

/// An answer the connector gives itself (errors, rejections): the handler's response if it
/// filled one (a rejection), else a plain page.
void Http2Stream::respondStatus(int status) noexcept
{
    if (_phase == Phase::Responding || _phase == Phase::Done) return;
    _deadline = 0;
    http::HttpResponse& response = _exchange.response;
    try {
        if (response.headers().empty() && response.body().empty() && !response.fileBody()) {
            response.setStatus(status);
            response.setContentType("text/plain; charset=utf-8");
            response.body().append(std::to_string(status)).append(" ").append(http::reasonPhrase(status));
            response.body().push_back('\n');
            if (status == 503) response.setHeader("Retry-After", "1");
        } else if (response.status() < 400) {
            response.setStatus(status);
        }
    } catch (...) {
        response.resetBuffer();
    }
    finishResponse();
}

void Http2Stream::act() noexcept
{
    switch (_phase) {
    case Phase::Ready: {
        _phase = Phase::Running;
        if (_dispatch == http::Dispatch::Inline) {
            _session.context().handler.service(_exchange);
            afterService();
            return;
        }
        http::DispatchLane& lane = _lane != nullptr ? *_lane : _session.context().sharedLane;
        _onWorker = true;
        _sessionRef = _session.shared_from_this();
        if (!lane.submit(*this)) {
            _onWorker = false;
            _sessionRef.reset();
            _exchange.response.clear();
            _exchange.response.setSink(this);
            _phase = Phase::Body; // so respondStatus answers
            respondStatus(503);
        }
        return;
    }
    case Phase::Suspended:
        if (_async) pullAsync();
        if (_phase == Phase::Suspended && _resumeRequested) {
            _resumeRequested = false;
            finishResponse();
            return;
        }
        [[fallthrough]];
    case Phase::Responding: {
        bool headQueued;
        {
            std::lock_guard<std::mutex> lock(_mutex);
            headQueued = _headQueued;
        }
        if (headQueued && !_submitted) {
            int status;
            int64_t length;
            std::vector<http::Header> headers;
            {
                std::lock_guard<std::mutex> lock(_mutex);
                _headQueued = false;
                status = _queuedStatus;
                length = _queuedLength;
                headers.swap(_queuedHeaders);
            }
            const bool hasBody = !_exchange.response.headOnly() && !bodylessStatus(status);
            if (!hasBody) {
                std::lock_guard<std::mutex> lock(_mutex);
                _outEnded = true; // nothing will be read from _out
            }
            submitHead(status, headers, length, hasBody);
        }
        if (_submitted && _deferred && _session.nghttp2() != nullptr) {
            _deferred = false;
            nghttp2_session_resume_data(_session.nghttp2(), _id);
        }
        return;
    }
    case Phase::Headers:
    case Phase::Body:
    case Phase::Running:
    case Phase::Done:
        return;
    }
}

void Http2Stream::afterService() noexcept
{
    if (_closed) {
        end();
        return;
    }
    if (_suspendRequested) {
        _phase = Phase::Suspended;
        if (_async) pullAsync();
        if (_phase == Phase::Suspended && _resumeRequested) {
            _resumeRequested = false;
            finishResponse();
        } else if (_phase == Phase::Suspended) {
            act(); // a head or bytes flush()ed by service() go out while parked
        }
        return;
    }
    finishResponse();
}

void Http2Stream::finishResponse() noexcept
{
    http::HttpResponse& response = _exchange.response;
    _phase = Phase::Responding;
    if (response.isCommitted() && _streamed) { // flush() sent the head: the rest follows it
        {
            std::lock_guard<std::mutex> lock(_mutex);
            try {
                if (!response.headOnly()) _out.append(response.body());
            } catch (...) {
                _gone = true;
            }
            _outEnded = true;
        }
        response.resetBuffer();
        act();
        return;
    }
    int status = response.status();
    if (status < 200) { // no protocol switch, no bare interim answer on HTTP/2
        response.reset();
        response.setStatus(status = 501);
    }
    const bool bodyless = bodylessStatus(status);
    _bodyOffset = 0;
    _fileOffset = response.fileOffset();
    _fileRemaining = response.fileBody() ? response.fileLength() : 0;
    const bool hasBody =
        !bodyless && !response.headOnly() && (!response.body().empty() || _fileRemaining > 0);
    // A HEAD whose GET would be compressed has no known length (compression::compressBuffered).
    const int64_t length =
        bodyless || response.lengthUnknown() ? -1 : static_cast<int64_t>(response.contentLength());
    submitHead(status, response.headers(), length, hasBody);
}

void Http2Stream::submitHead(int status, const std::vector<http::Header>& headers, int64_t contentLength,
                             bool hasBody) noexcept
{
    nghttp2_session* session = _session.nghttp2();
    if (session == nullptr || _submitted) return;
    const config::ConnectorConfig& config = _session.context().config;
    std::vector<nghttp2_nv> nva;
    try {
        _headStore.clear();
        _headStore.reserve(2 * headers.size() + 10); // no reallocation: the nv point into it
        auto field = [&](std::string name, std::string_view value) {
            _headStore.push_back(std::move(name));
            const std::string& n = _headStore.back();
            _headStore.emplace_back(value);
            const std::string& v = _headStore.back();
            nva.push_back(nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())),
                                     reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), n.size(),
                                     v.size(), NGHTTP2_NV_FLAG_NONE});
        };
        field(":status", std::to_string(status));
        field("date", http::cachedHttpDate());
        bool handlerServer = false;
        bool handlerHsts = false;
        for (const http::Header& header : headers) {
            if (!http::isToken(header.name) || !isFieldValue(header.value)) continue;
            std::string lower = util::toLower(header.name);
            if (droppedResponseHeader(lower)) continue;
            if (lower == "server") handlerServer = true;
            if (lower == "strict-transport-security") handlerHsts = true;
            field(std::move(lower), header.value);
        }
        if (!handlerServer && !config.serverHeader.empty()) field("server", config.serverHeader);
        // HSTS over TLS only (h2c on a plain connector never sends it: RFC 6797 7.2).
        if (!handlerHsts && !config.hsts.empty() && !config.certificates.empty())
            field("strict-transport-security", config.hsts);
        if (contentLength >= 0) field("content-length", std::to_string(contentLength));
    } catch (...) {
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, _id, NGHTTP2_INTERNAL_ERROR);
        return;
    }
    nghttp2_data_provider provider{};
    provider.source.ptr = this;
    provider.read_callback = bodyReader();
    _submitted = true;
    if (nghttp2_submit_response(session, _id, nva.data(), nva.size(), hasBody ? &provider : nullptr) != 0)
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, _id, NGHTTP2_INTERNAL_ERROR);
}

ssize_t Http2Stream::read(uint8_t* buffer, size_t length, uint32_t* flags) noexcept
{
    if (!_streamed) {
        const std::string& body = _exchange.response.body();
        size_t n = 0;
        if (_bodyOffset < body.size()) {
            n = std::min(length, body.size() - _bodyOffset);
            std::memcpy(buffer, body.data() + _bodyOffset, n);
            _bodyOffset += n;
        } else if (_fileRemaining > 0) {
            const int fd = _exchange.response.fileBody()->fd();
            const ssize_t r =
                ::pread(fd, buffer, static_cast<size_t>(std::min<uint64_t>(length, _fileRemaining)),
                        static_cast<off_t>(_fileOffset));
            if (r <= 0) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; // the file shrank: reset
            n = static_cast<size_t>(r);
            _fileOffset += n;
            _fileRemaining -= n;
        }
        if (_bodyOffset >= body.size() && _fileRemaining == 0) *flags |= NGHTTP2_DATA_FLAG_EOF;
        _bytesSent += n;
        return static_cast<ssize_t>(n);
    }
    size_t n;
    size_t pending;
    bool ended;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        n = std::min(length, _out.size() - _outOffset);
        std::memcpy(buffer, _out.data() + _outOffset, n);
        _outOffset += n;
        if (_outOffset == _out.size()) {
            _out.clear();
            _outOffset = 0;
        } else if (_outOffset > 64 * 1024) {
            _out.erase(0, _outOffset);
            _outOffset = 0;
        }
        pending = _out.size() - _outOffset;
        ended = _outEnded;
    }
    _drained.notify_all();
    if (n == 0 && !ended) {
        _deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    if (ended && pending == 0) *flags |= NGHTTP2_DATA_FLAG_EOF;
    _bytesSent += n;
    if (_async) _async->progress(pending);
    return static_cast<ssize_t>(n);
}

// ---------------------------------------------------------------------------------------------
// http::ResponseSink: the thread running service(), or the loop for an async response

bool Http2Stream::sendHead(const http::HttpResponse& response, bool) noexcept
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_gone) return false;
        try {
            _queuedHeaders = response.headers();
        } catch (...) {
            return false;
        }
        _queuedStatus = response.status() < 200 ? 500 : response.status();
        _queuedLength = response.declaredContentLength();
        _headQueued = true;
        _streamed = true;
    }
    if (onLoopThread()) {
        _session.wake(*this);
    } else if (!_outputPosted.exchange(true)) {
        _exchange.loop->post(_outputReady);
    }
    return true;
}

bool Http2Stream::sendBody(std::string_view data) noexcept
{
    const bool loopThread = onLoopThread();
    {
        std::unique_lock<std::mutex> lock(_mutex);
        if (_gone) return false;
        try {
            _out.append(data);
        } catch (...) {
            return false;
        }
        if (!loopThread) {
            if (!_outputPosted.exchange(true)) _exchange.loop->post(_outputReady);
            // Back-pressure: the servlet waits while the client has not taken the last quarter
            // megabyte, at most the send timeout (as a blocked HTTP/1.1 write would).
            const auto timeout = std::chrono::milliseconds(_session.context().config.sendTimeoutMs);
            if (!_drained.wait_for(lock, timeout,
                                   [this] { return _gone || _out.size() - _outOffset <= kStreamHighWater; }))
                return false;
            return !_gone;
        }
    }
    _session.wake(*this);
    return true;
}

// ---------------------------------------------------------------------------------------------
// Exchange control, workers, async (see the header for threads)

void Http2Stream::resume() noexcept
{
    _resumeRequested = true;
    if (_phase == Phase::Suspended) _session.wake(*this);
}

std::shared_ptr<http::AsyncResponse> Http2Stream::startAsync()
{
    _suspendRequested = true;
    if (!_async) _async = std::make_shared<http::AsyncOutput>(*this, *_exchange.loop);
    return _async;
}

void Http2Stream::onAsyncReady() noexcept
{
    if (_phase == Phase::Suspended || _phase == Phase::Responding) _session.wake(*this);
}

void Http2Stream::pullAsync() noexcept
{
    http::HttpResponse& response = _exchange.response;
    switch (_async->take(response)) {
    case http::AsyncOutput::Take::Nothing:
        return;
    case http::AsyncOutput::Take::Send:
        response.flush(); // loop thread: into _out, act() submits / resumes
        return;
    case http::AsyncOutput::Take::Complete:
        finishResponse();
        return;
    case http::AsyncOutput::Take::Overflow:
        if (_session.nghttp2() != nullptr)
            nghttp2_submit_rst_stream(_session.nghttp2(), NGHTTP2_FLAG_NONE, _id, NGHTTP2_INTERNAL_ERROR);
        return;
    }
}

http::DispatchTask* Http2Stream::runOnWorker() noexcept
{
    _session.context().handler.service(_exchange);
    http::DispatchTask* next = _lane != nullptr ? _lane->finished() : nullptr;
    // After this post the loop owns the stream again: nothing here may touch it.
    _exchange.loop->post(_handBack); // false only after a hard stop gave the loop up
    return next;
}

http::DispatchLane& Http2Stream::sharedLane() noexcept
{
    return _session.context().sharedLane;
}

void Http2Stream::HandBack::run() noexcept
{
    Http2Stream& stream = _stream;
    std::shared_ptr<Http2Session> keep = std::move(stream._sessionRef); // may be the last reference
    Http2Session& session = stream._session;
    stream._onWorker = false;
    stream.afterService();  // or end(), if the stream closed meanwhile
    session.schedulePump(); // frees retired streams: nothing after this touches the stream
}

void Http2Stream::OutputReady::run() noexcept
{
    Http2Stream& stream = _stream;
    stream._outputPosted.store(false);
    if (stream._closed || stream._phase == Phase::Done) return;
    if (stream._phase == Phase::Running) stream._phase = Phase::Responding; // flush()ed on a worker
    stream._session.wake(stream);
}

void Http2Stream::end() noexcept
{
    if (_phase == Phase::Done) return;
    const bool completed = _submitted;
    _phase = Phase::Done;
    if (_async) {
        _async->detach(completed);
        _async.reset();
    }
    if (_headCalled) _session.context().handler.complete(_exchange, _bytesSent);
    _session.retire(*this);
}

} // namespace serval::http2
