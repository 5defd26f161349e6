#include "connector/Connection.h"

#include "connector/EventLoop.h"
#include "connector/Rfc9112.h"
#include "connector/WorkerPool.h"
#include "connector/http2/Http2Session.h"
#include "http/HttpDate.h"
#include "http/HttpStatus.h"
#include "util/Strings.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <unistd.h>

namespace serval::connector {
namespace {

constexpr uint64_t kMillis = 1000 * 1000;
/// After an error response the connection reads and discards for this long (or until the
/// client closes) so that closing with unread bytes does not reset the response away.
constexpr uint64_t kLingerNanos = 2000 * kMillis;
constexpr uint64_t kLingerMaxBytes = 1024 * 1024;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

uint64_t deadlineAfter(uint64_t now, uint32_t ms) noexcept
{
    return ms == 0 ? 0 : now + uint64_t(ms) * kMillis;
}

void appendNumber(std::string& out, uint64_t value, int base = 10)
{
    char buffer[24];
    auto result = std::to_chars(buffer, buffer + sizeof buffer, value, base);
    out.append(buffer, static_cast<size_t>(result.ptr - buffer));
}

int statusForParseError(llhttp_errno_t error) noexcept
{
    switch (error) {
    case HPE_INVALID_VERSION:
    case HPE_PAUSED_H2_UPGRADE:
        return 505;
    default:
        return 400;
    }
}

/// Header names the Connector writes itself; a handler's copies are dropped.
bool isFramingHeader(std::string_view name) noexcept
{
    switch (name.size()) {
    case 4:
        return util::equalsIgnoreCase(name, "Date");
    case 10:
        return util::equalsIgnoreCase(name, "Connection") || util::equalsIgnoreCase(name, "Keep-Alive");
    case 14:
        return util::equalsIgnoreCase(name, "Content-Length");
    case 17:
        return util::equalsIgnoreCase(name, "Transfer-Encoding");
    default:
        return false;
    }
}

} // namespace

Connection::Connection(EventLoop& loop) : _loop(loop), _bodyShare(&loop.shared().bodyBudget)
{
    llhttp_init(&_parser, HTTP_REQUEST, &settings());
}

Connection::~Connection()
{
    if (_fd >= 0) ::close(_fd);
}

const llhttp_settings_t& Connection::settings() noexcept
{
    static const llhttp_settings_t instance = [] {
        llhttp_settings_t s;
        llhttp_settings_init(&s);
        s.on_message_begin = &Connection::onMessageBeginCb;
        s.on_url = &Connection::onUrlCb;
        s.on_version_complete = &Connection::onVersionCompleteCb;
        s.on_header_field = &Connection::onHeaderFieldCb;
        s.on_header_value = &Connection::onHeaderValueCb;
        s.on_header_value_complete = &Connection::onHeaderValueCompleteCb;
        s.on_headers_complete = &Connection::onHeadersCompleteCb;
        s.on_body = &Connection::onBodyCb;
        s.on_chunk_header = &Connection::onChunkHeaderCb;
        s.on_message_complete = &Connection::onMessageCompleteCb;
        return s;
    }();
    return instance;
}

void Connection::open(int fd, const sockaddr* peer, socklen_t peerLength)
{
    _fd = fd;
    _plain.setSocket(fd);
    _state = State::Reading;
    _readable = false;
    _peerShutdown = false;
    _writable = true;
    _requestCount = 0;
    _pending.clear();
    _lingerBytes = 0;
    _protocolChosen = false;
    _prefaceBytes.clear();
    llhttp_init(&_parser, HTTP_REQUEST, &settings());
    _parser.data = this;
    resetMessage();

    char text[INET6_ADDRSTRLEN] = "";
    if (peer->sa_family == AF_INET && peerLength >= sizeof(sockaddr_in)) {
        auto* in = reinterpret_cast<const sockaddr_in*>(peer);
        ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
        _remotePort = ntohs(in->sin_port);
    } else if (peer->sa_family == AF_INET6 && peerLength >= sizeof(sockaddr_in6)) {
        auto* in6 = reinterpret_cast<const sockaddr_in6*>(peer);
        ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
        _remotePort = ntohs(in6->sin6_port);
    }
    _remoteAddress.assign(text);

    const LoopShared& shared = _loop.shared();
    if (!shared.localAddress.empty()) {
        _localAddress = shared.localAddress;
        _localPort = shared.localPort;
    } else {
        sockaddr_storage local{};
        socklen_t length = sizeof local;
        text[0] = '\0';
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0) {
            if (local.ss_family == AF_INET) {
                auto* in = reinterpret_cast<const sockaddr_in*>(&local);
                ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
            } else if (local.ss_family == AF_INET6) {
                auto* in6 = reinterpret_cast<const sockaddr_in6*>(&local);
                ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
            }
        }
        _localAddress.assign(text);
        _localPort = shared.localPort;
    }
    _deadline = deadlineAfter(_loop.now(), shared.config.headerTimeoutMs);
}

void Connection::setTransport(std::unique_ptr<Transport> transport) noexcept
{
    _transport = std::move(transport);
    _handshaking = !_transport->established();
    if (_handshaking) _deadline = deadlineAfter(_loop.now(), _loop.shared().config.handshakeTimeoutMs);
}

void Connection::resetMessage() noexcept
{
    _bodyShare.release();
    _event = Event::None;
    _headDone = false;
    _lineDone = false;
    _headerOpen = false;
    _inRequestLine = true;
    _afterLf = false;
    _prescanDone = false;
    _prevByte = 0;
    _lineLength = 0;
    _lineSpaces = 0;
    _headBytes = 0;
    _headerCount = 0;
    _hostCount = 0;
    _teCount = 0;
    _teStatus = 0;
    _connectionClose = false;
    _connectionKeepAlive = false;
    _expect = 0;
    _errorStatus = 400;
    _userError = false;
    _maxBody = 0;
    _bodyBytes = 0;
    _bodyConsumer = nullptr;
    _bodyAborted = false;
    _headCalled = false;
    _completeCalled = false;
    _rejectStatus = 0;
    _dispatch = http::Dispatch::Inline;
    _lane = nullptr;
    _closeAfter = false;
    _onWorker = false;
    _broken = false;
    _suspendRequested = false;
    _resumeRequested = false;
    _upgradeHandler.reset();
    _streamFraming = Framing::None;
    _streamLength = 0;
    _streamBytes = 0;
    _bodyView = {};
    _bodyOffset = 0;
    _fileFd = -1;
    _fileOffset = 0;
    _fileRemaining = 0;
    _bytesSent = 0;
}

// ---------------------------------------------------------------------------------------------
// Event handling (loop thread)

void Connection::onEvents(uint32_t events)
{
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) _readable = true;
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) _peerShutdown = true;
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) _writable = true;
    if (_transport) { // TLS reads may wait to write and writes to read: retry both on any edge
        _readable = true;
        _writable = true;
    }
    if (_state == State::Dispatched || _state == State::Closed) return; // the worker owns it
    drive();
}

void Connection::onTimeout()
{
    switch (_state) {
    case State::Reading:
        if (_slot == nullptr) {
            close(); // idle keep-alive, or a connection that never sent a byte
            return;
        }
        fail(408); // header or body deadline
        drive();
        return;
    case State::Writing:   // the client does not read
    case State::Suspended: // the client does not read what the async response writes
    case State::Upgraded:  // the same for the upgraded protocol's output
    case State::Lingering: // the client does not close
        close();
        return;
    case State::Dispatched:
    case State::Closed:
        return;
    }
}

void Connection::onHandBack(bool forceClose)
{
    _onWorker = false;
    if (_broken || forceClose) {
        close();
        return;
    }
    _readable = true; // edges seen by the worker are not ours: try once
    _writable = true;
    if (_suspendRequested)
        park();
    else
        _state = State::Writing;
    drive();
}

void Connection::drive()
{
    const ConnectorConfig& config = _loop.shared().config;
    for (;;) {
        switch (_state) {
        case State::Writing: {
            if (!_writable) return;
            WriteResult result = writeOut();
            if (result == WriteResult::Blocked) {
                _writable = false;
                _deadline = deadlineAfter(_loop.now(), config.sendTimeoutMs);
                return;
            }
            if (result == WriteResult::Error) {
                close();
                return;
            }
            if (_upgradeHandler && switchesProtocol()) {
                startUpgraded();
                continue;
            }
            if (!finishExchange()) {
                beginLinger();
                return;
            }
            _state = State::Reading;
            _deadline = deadlineAfter(_loop.now(), config.keepAliveTimeoutMs);
            continue;
        }
        case State::Reading: {
            if (_slot != nullptr && _slot->outOffset < _slot->out.size() && _writable) {
                // An interim "100 Continue" that did not fit the socket at once.
                WriteResult result = writeOut();
                if (result == WriteResult::Error) {
                    close();
                    return;
                }
                if (result == WriteResult::Blocked) _writable = false;
            }
            if (!_pending.empty()) {
                size_t used = feed(_pending.data(), _pending.size());
                if (_state == State::Closed) return;
                _pending.erase(0, used);
                if (_pending.empty() && _pending.capacity() > 16 * 1024) std::string().swap(_pending);
                if (_state == State::Reading && !_pending.empty())
                    return; // cannot happen: feed stops only on a state change
                continue;
            }
            if (!_readable && !transportHasBufferedInput()) return;
            char* buffer = _loop.readBuffer();
            const size_t size = _loop.readBufferSize();
            ssize_t n = transportRead(buffer, size);
            if (n > 0) {
                _handshaking = false; // the first request byte started the header deadline
                LoopCounters::bump(_loop.counters().bytesIn, static_cast<uint64_t>(n));
                // Drained; the next edge says more. Not after the peer's FIN: it came with this
                // edge, no other edge follows, and only the recv() that returns 0 sees it.
                if (static_cast<size_t>(n) < size && !_peerShutdown) _readable = false;
                if (!_protocolChosen) {
                    const std::string_view data(buffer, static_cast<size_t>(n));
                    const int http2 = detectHttp2(data);
                    if (http2 < 0) {
                        _prefaceBytes.append(data);
                        continue;
                    }
                    _protocolChosen = true;
                    if (http2 > 0) {
                        std::string early = std::move(_prefaceBytes);
                        early.append(data);
                        startHttp2(early);
                        continue;
                    }
                    if (!_prefaceBytes.empty()) { // parsed as HTTP/1.1 from the first byte
                        _pending = std::move(_prefaceBytes);
                        _pending.append(data);
                        continue;
                    }
                }
                size_t used = feed(buffer, static_cast<size_t>(n));
                if (_state == State::Closed) return;
                if (used < static_cast<size_t>(n))
                    _pending.append(buffer + used, static_cast<size_t>(n) - used);
                continue;
            }
            if (n == 0) {
                close(); // the client is done; a partial request cannot complete
                return;
            }
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                _readable = false;
                if (_handshaking && _transport->established()) {
                    _handshaking = false;
                    _deadline = deadlineAfter(_loop.now(), config.headerTimeoutMs);
                }
                return;
            }
            close();
            return;
        }
        case State::Suspended:
            driveSuspended();
            return;
        case State::Upgraded:
            driveUpgraded();
            return;
        case State::Lingering:
            lingerRead();
            return;
        case State::Dispatched:
        case State::Closed:
            return;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing (loop thread)

size_t Connection::feed(const char* data, size_t length)
{
    const ConnectorConfig& config = _loop.shared().config;
    const uint64_t lineCap = uint64_t(config.maxRequestLineSize) + 2; // + CRLF
    size_t offset = 0;
    while (offset < length && _state == State::Reading) {
        size_t n = length - offset;
        const bool inHead = !_headDone;
        if (inHead) {
            // Feed at most one byte past the limit, so the limit is exact and llhttp never
            // buffers more head than allowed.
            uint64_t cap = _lineDone ? config.maxHeaderSize : lineCap;
            uint64_t room = _headBytes <= cap ? cap + 1 - _headBytes : 1;
            n = static_cast<size_t>(std::min<uint64_t>(n, room));
        }
        _event = Event::None;
        const char* start = data + offset;
        if (!_prescanDone && !prescan(start, n)) {
            fail(400);
            return offset;
        }
        llhttp_errno_t error = llhttp_execute(&_parser, start, n);
        size_t used = error == HPE_OK ? n : static_cast<size_t>(llhttp_get_error_pos(&_parser) - start);
        if (_slot != nullptr) _slot->exchange.bytesReceived += used;
        offset += used;
        if (inHead) _headBytes += used;
        if (error == HPE_OK) {
            if (!_headDone) {
                if (!_lineDone && _headBytes > lineCap) {
                    fail(414);
                    return offset;
                }
                if (_headBytes > config.maxHeaderSize) {
                    fail(431);
                    return offset;
                }
            }
            continue;
        }
        if (error == HPE_PAUSED || error == HPE_PAUSED_UPGRADE) {
            if (error == HPE_PAUSED)
                llhttp_resume(&_parser);
            else
                llhttp_resume_after_upgrade(&_parser);
            if (_event == Event::MessageComplete) {
                onMessageComplete();
                return offset;
            }
            if (_state != State::Reading) return offset; // rejected at the head
            fail(400);
            return offset;
        }
        if (_bodyAborted) { // a BodyConsumer said no: its answer, then close (the rest is unread)
            _closeAfter = true;
            respondRejected(_errorStatus);
            return offset;
        }
        fail(_userError ? _errorStatus : statusForParseError(error)); // llhttp wraps our codes in HPE_CB_*
        return offset;
    }
    return offset;
}

/// Line syntax llhttp tolerates and RFC 9112 does not: bare LF, obs-fold (a header line that
/// starts with SP/HTAB), more than one SP between the parts of the request line, NUL.
/// Runs over the bytes of the head before llhttp sees them, and stops at the empty line that
/// ends the head (the body is not its business); state carries across reads.
bool Connection::prescan(const char* data, size_t length) noexcept
{
    // Line by line with memchr (vectorised) rather than byte by byte: this runs over every
    // request head. The state lives in locals and is stored back once.
    bool afterLf = _afterLf;
    bool inRequestLine = _inRequestLine;
    bool done = false;
    unsigned char prevByte = _prevByte;
    auto lineLength = _lineLength;
    auto lineSpaces = _lineSpaces;
    bool ok = true;
    size_t i = 0;
    while (i < length) {
        if (afterLf) {
            afterLf = false;
            const char c = data[i];
            if ((c == ' ' || c == '\t') && !inRequestLine) { // obs-fold
                ok = false;
                break;
            }
        }
        const auto* lf = static_cast<const char*>(std::memchr(data + i, '\n', length - i));
        const size_t end = lf != nullptr ? static_cast<size_t>(lf - data) : length;
        if (end > i) {
            if (std::memchr(data + i, '\0', end - i) != nullptr) {
                ok = false;
                break;
            }
            if (inRequestLine) lineSpaces += static_cast<uint32_t>(std::count(data + i, data + end, ' '));
            lineLength += static_cast<uint32_t>(end - i);
            prevByte = static_cast<unsigned char>(data[end - 1]);
        }
        if (lf == nullptr) break;
        if (prevByte != '\r') {
            ok = false;
            break;
        }
        if (inRequestLine) {
            if (lineLength > 1) { // a leading empty line before the request line is allowed
                if (lineSpaces != 2) {
                    ok = false;
                    break;
                }
                inRequestLine = false;
            }
        } else if (lineLength == 1) {
            done = true; // CRLF CRLF: end of the head
        }
        afterLf = true;
        lineLength = 0;
        lineSpaces = 0;
        prevByte = '\n';
        i = end + 1;
        if (done) break;
    }
    _afterLf = afterLf;
    _inRequestLine = inRequestLine;
    _prescanDone = done;
    _prevByte = prevByte;
    _lineLength = lineLength;
    _lineSpaces = lineSpaces;
    return ok;
}

int Connection::userError(int status) noexcept
{
    _errorStatus = status;
    _userError = true;
    return HPE_USER;
}

void Connection::borrowSlot()
{
    if (_slot != nullptr) return;
    _slot = _loop.acquireSlot();
    _slot->exchange.control = this;
}

int Connection::onMessageBeginCb(llhttp_t* parser)
{
    auto* self = static_cast<Connection*>(parser->data);
    self->borrowSlot();
    self->_deadline = deadlineAfter(self->_loop.now(), self->_loop.shared().config.headerTimeoutMs);
    return 0;
}

int Connection::onUrlCb(llhttp_t* parser, const char* at, size_t length)
{
    auto* self = static_cast<Connection*>(parser->data);
    self->exchange().request.target.append(at, length);
    return 0;
}

int Connection::onVersionCompleteCb(llhttp_t* parser)
{
    auto* self = static_cast<Connection*>(parser->data);
    self->_lineDone = true;
    if (parser->http_major != 1 || parser->http_minor > 1) return self->userError(505);
    return 0;
}

int Connection::onHeaderFieldCb(llhttp_t* parser, const char* at, size_t length)
{
    auto* self = static_cast<Connection*>(parser->data);
    if (self->_headDone) { // trailer field: checked, then dropped
        if (!self->_headerOpen) {
            self->_trailerName.clear();
            self->_trailerValue.clear();
            self->_headerOpen = true;
            if (++self->_headerCount > self->_loop.shared().config.maxHeaderCount)
                return self->userError(431);
        }
        self->_trailerName.append(at, length);
        if (self->_trailerName.size() > self->_loop.shared().config.maxHeaderSize)
            return self->userError(431);
        return 0;
    }
    if (!self->_headerOpen) {
        if (++self->_headerCount > self->_loop.shared().config.maxHeaderCount) return self->userError(431);
        self->_slot->newHeader();
        self->_headerOpen = true;
    }
    self->exchange().request.headers.back().name.append(at, length);
    return 0;
}

int Connection::onHeaderValueCb(llhttp_t* parser, const char* at, size_t length)
{
    auto* self = static_cast<Connection*>(parser->data);
    if (self->_headDone) {
        self->_trailerValue.append(at, length);
        if (self->_trailerValue.size() > self->_loop.shared().config.maxHeaderSize)
            return self->userError(431);
        return 0;
    }
    self->exchange().request.headers.back().value.append(at, length);
    return 0;
}

int Connection::onHeaderValueCompleteCb(llhttp_t* parser)
{
    auto* self = static_cast<Connection*>(parser->data);
    self->_headerOpen = false;
    if (self->_headDone) {
        if (!rfc9112::isToken(self->_trailerName) || !rfc9112::isFieldValue(self->_trailerValue))
            return self->userError(400);
        return 0;
    }
    http::Header& header = self->exchange().request.headers.back();
    // llhttp strips leading OWS; trailing OWS is not part of the value either.
    while (!header.value.empty() && (header.value.back() == ' ' || header.value.back() == '\t'))
        header.value.pop_back();
    // A space before the colon, an empty name, or a control character -> 400.
    if (!rfc9112::isToken(header.name) || !rfc9112::isFieldValue(header.value)) return self->userError(400);
    const std::string_view name = header.name;
    switch (name.size()) {
    case 4:
        if (util::equalsIgnoreCase(name, "Host")) {
            ++self->_hostCount;
            if (!rfc9112::isHostValue(header.value)) return self->userError(400);
        }
        break;
    case 6:
        if (util::equalsIgnoreCase(name, "Expect")) {
            self->_expect = util::equalsIgnoreCase(header.value, "100-continue") ? 1 : 2;
        }
        break;
    case 10:
        if (util::equalsIgnoreCase(name, "Connection")) {
            if (rfc9112::listContains(header.value, "close")) self->_connectionClose = true;
            if (rfc9112::listContains(header.value, "keep-alive")) self->_connectionKeepAlive = true;
        }
        break;
    case 17:
        if (util::equalsIgnoreCase(name, "Transfer-Encoding")) {
            ++self->_teCount;
            switch (rfc9112::classifyTransferEncoding(header.value)) {
            case rfc9112::TransferCoding::Chunked:
                break;
            case rfc9112::TransferCoding::Unsupported:
                if (self->_teStatus == 0) self->_teStatus = 501;
                break;
            case rfc9112::TransferCoding::Invalid:
                self->_teStatus = 400;
                break;
            }
        }
        break;
    default:
        break;
    }
    return 0;
}

int Connection::onHeadersCompleteCb(llhttp_t* parser)
{
    auto* self = static_cast<Connection*>(parser->data);
    self->_event = Event::HeadComplete;
    self->onHeadComplete();
    // Rejected (state changed): stop here, nothing after this head is parsed.
    return self->_state == State::Reading ? 0 : HPE_PAUSED;
}

int Connection::onBodyCb(llhttp_t* parser, const char* at, size_t length)
{
    auto* self = static_cast<Connection*>(parser->data);
    if (self->_bodyBytes + length > self->_maxBody) return self->userError(413);
    self->_bodyBytes += length;
    self->_deadline = deadlineAfter(self->_loop.now(), self->_loop.shared().config.bodyTimeoutMs);
    if (self->_bodyConsumer == nullptr) {
        if (!self->_bodyShare.take(length, self->_loop.now())) {
            self->_connectionClose = true; // the rest of the body is not read
            return self->userError(503);
        }
        self->exchange().request.body.append(at, length);
        return 0;
    }
    http::BodyVerdict verdict = self->_bodyConsumer->onData(self->exchange(), std::string_view(at, length));
    if (verdict.abortStatus == 0) return 0;
    self->_bodyAborted = true;
    return self->userError(verdict.abortStatus);
}

int Connection::onChunkHeaderCb(llhttp_t* parser)
{
    auto* self = static_cast<Connection*>(parser->data);
    // parser->content_length is this chunk's size; refuse before reading it.
    if (parser->content_length > self->_maxBody - std::min(self->_maxBody, self->_bodyBytes))
        return self->userError(413);
    return 0;
}

int Connection::onMessageCompleteCb(llhttp_t* parser)
{
    auto* self = static_cast<Connection*>(parser->data);
    self->_event = Event::MessageComplete;
    return HPE_PAUSED;
}

void Connection::onHeadComplete()
{
    const LoopShared& shared = _loop.shared();
    const ConnectorConfig& config = shared.config;
    _headDone = true;
    http::HttpExchange& ex = exchange();
    http::HttpRequest& request = ex.request;
    request.versionMajor = _parser.http_major;
    request.versionMinor = _parser.http_minor;
    request.method.assign(llhttp_method_name(static_cast<llhttp_method_t>(_parser.method)));
    const bool http10 = request.versionMinor == 0;

    // Framing and routing rules llhttp does not enforce (RFC 9112 3.2, 6.1, 6.3; RFC 9110 7.2).
    if (_parser.method == HTTP_CONNECT) return fail(501);
    if (_parser.method == HTTP_PRI) return fail(505);
    if (request.target == "*") {
        if (_parser.method != HTTP_OPTIONS) return fail(400);
    } else if (!rfc9112::isOriginForm(request.target)) {
        return fail(400); // absolute-form, authority-form or bad characters
    }
    if (http10 ? _hostCount > 1 : _hostCount != 1) return fail(400);
    if (_teCount > 0) {
        if (http10 || _teCount > 1) return fail(400);
        if (_teStatus != 0) return fail(_teStatus);
    }
    const bool hasBody =
        (_parser.flags & F_CHUNKED) || ((_parser.flags & F_CONTENT_LENGTH) && _parser.content_length > 0);

    size_t question = request.target.find('?');
    if (question == std::string::npos) {
        request.path.assign(request.target);
    } else {
        request.path.assign(request.target, 0, question);
        request.query.assign(request.target, question + 1, std::string::npos);
    }
    request.remoteAddress.assign(_remoteAddress);
    request.remotePort = _remotePort;
    request.localAddress.assign(_localAddress);
    request.localPort = _localPort;
    request.secure = config.secure; // TLS here, or a trusted TLS-terminating proxy in front
    ex.compression = &config.compression;
    ex.startNanos = monotonicNowNanos();
    ex.response.setHeadOnly(_parser.method == HTTP_HEAD);

    ++_requestCount;
    _closeAfter = _connectionClose || (http10 && !_connectionKeepAlive) || _parser.upgrade ||
                  (config.maxKeepAliveRequests != 0 && _requestCount >= config.maxKeepAliveRequests);

    http::HeadDecision decision = shared.handler.onHead(ex);
    _headCalled = true;
    _maxBody = decision.maxBodySize != 0 ? decision.maxBodySize : config.maxBodySize;
    _bodyConsumer = decision.bodyConsumer;
    _dispatch = decision.dispatch;
    _lane = decision.lane;
    if (decision.rejectStatus != 0) {
        _rejectStatus = decision.rejectStatus;
        if (hasBody) {
            _closeAfter = true; // the body is never read
            respondRejected(_rejectStatus);
        }
        return; // without a body: answered at message complete, keep-alive intact
    }
    if ((_parser.flags & F_CONTENT_LENGTH) && _parser.content_length > _maxBody) return fail(413);
    if (_expect == 2 && !http10) return fail(417);
    if (_expect == 1 && !http10 && hasBody) {
        _slot->out.append(kContinue);
        if (writeOut() == WriteResult::Blocked) _writable = false;
    }
    if (hasBody) _deadline = deadlineAfter(_loop.now(), config.bodyTimeoutMs);
}

void Connection::onMessageComplete()
{
    LoopCounters::bump(_loop.counters().requests);
    if (_rejectStatus != 0) {
        respondRejected(_rejectStatus);
        return;
    }
    http::HttpExchange& ex = exchange();
    if (_bodyConsumer != nullptr) {
        http::BodyVerdict verdict = _bodyConsumer->onEnd(ex);
        if (verdict.abortStatus != 0) {
            respondRejected(verdict.abortStatus); // the whole body was read: keep-alive intact
            return;
        }
    }
    ex.response.setSink(this);
    _deadline = 0;
    if (_dispatch == http::Dispatch::Inline) {
        _loop.shared().handler.service(ex);
        if (_suspendRequested) {
            park();
            return;
        }
        finishOutput();
        _state = State::Writing;
        return;
    }
    _state = State::Dispatched;
    _onWorker = true;
    http::DispatchLane& lane = _lane != nullptr ? *_lane : _loop.shared().workers;
    if (!lane.submit(*this)) { // the lane is full: come back in a second
        _onWorker = false;
        respondPlain(503, false, true);
    }
    // From here on the worker may already be running: touch nothing but loop-only fields.
}

// ---------------------------------------------------------------------------------------------
// Responses

void Connection::fail(int status)
{
    borrowSlot();
    _headDone = true;
    respondPlain(status, true);
}

void Connection::respondPlain(int status, bool close, bool retryLater)
{
    http::HttpResponse& response = exchange().response;
    response.clear();
    response.setHeadOnly(_headCalled && _parser.method == HTTP_HEAD);
    response.setStatus(status);
    response.setHeader("Content-Type", "text/plain; charset=utf-8");
    if (retryLater) response.setHeader("Retry-After", "1");
    std::string& body = response.body();
    appendNumber(body, static_cast<uint64_t>(status));
    body += ' ';
    body += http::reasonPhrase(status);
    body += '\n';
    if (close) _closeAfter = true;
    _bodyView = {};
    _fileRemaining = 0;
    serialiseBuffered();
    _state = State::Writing;
}

void Connection::respondRejected(int status)
{
    http::HttpResponse& response = exchange().response;
    const bool empty = response.body().empty() && !response.fileBody() && response.headers().empty();
    if (empty) {
        respondPlain(status, false);
        return;
    }
    response.setStatus(status);
    serialiseBuffered();
    _state = State::Writing;
}

/// The whole response is in exchange().response: one head with Content-Length, then the body
/// as a view or a file. Either thread.
void Connection::serialiseBuffered()
{
    http::HttpResponse& response = exchange().response;
    int status = response.status();
    if (status < 100 || status > 999) {
        status = 500;
        response.setStatus(500);
    }
    if (status < 200 || status == 204 || status == 304) {
        appendHead(response, Framing::None, 0);
        return;
    }
    if (response.headOnly()) {
        if (response.lengthUnknown())
            appendHead(response, Framing::None, 0);
        else
            appendHead(response, Framing::Length, response.contentLength());
        return;
    }
    if (response.fileBody()) {
        appendHead(response, Framing::Length, response.fileLength());
        _fileFd = response.fileBody()->fd();
        _fileOffset = response.fileOffset();
        _fileRemaining = response.fileLength();
        return;
    }
    appendHead(response, Framing::Length, response.body().size());
    _bodyView = response.body();
    _bodyOffset = 0;
}

/// After service() returned: frames what is left of the response. Either thread.
void Connection::finishOutput()
{
    http::HttpResponse& response = exchange().response;
    if (!response.isCommitted()) {
        serialiseBuffered();
        return;
    }
    if (!response.body().empty()) response.flush();
    if (response.headOnly()) return;
    if (_streamFraming == Framing::Chunked) {
        _slot->out.append("0\r\n\r\n");
    } else if (_streamFraming == Framing::Length && _streamBytes != _streamLength) {
        _closeAfter = true; // the handler broke its own Content-Length: the framing cannot be repaired
    }
}

bool Connection::sendHead(const http::HttpResponse& response, bool chunked) noexcept
{
    if (_slot == nullptr || _broken) return false;
    const int status = response.status();
    Framing framing;
    uint64_t length = 0;
    if (status < 200 || status == 204 || status == 304) {
        framing = Framing::None;
    } else if (response.headOnly()) {
        framing = response.declaredContentLength() >= 0 ? Framing::Length : Framing::None;
        length = static_cast<uint64_t>(std::max<int64_t>(response.declaredContentLength(), 0));
    } else if (!chunked) {
        framing = Framing::Length;
        length = static_cast<uint64_t>(std::max<int64_t>(response.declaredContentLength(), 0));
    } else if (exchange().request.versionMinor == 0) {
        framing = Framing::UntilClose;
        _closeAfter = true;
    } else {
        framing = Framing::Chunked;
    }
    _streamFraming = framing;
    _streamLength = length;
    appendHead(response, framing, length);
    if (_onWorker) return writeBlocking();
    return true;
}

bool Connection::sendBody(std::string_view data) noexcept
{
    if (_slot == nullptr || _broken) return false;
    if (data.empty() || _streamFraming == Framing::None || exchange().response.headOnly()) return true;
    std::string& out = _slot->out;
    if (_streamFraming == Framing::Chunked) {
        appendNumber(out, data.size(), 16);
        out.append("\r\n");
        out.append(data);
        out.append("\r\n");
    } else {
        out.append(data);
    }
    _streamBytes += data.size();
    if (_onWorker) return writeBlocking();
    return true;
}

void Connection::appendHead(const http::HttpResponse& response, Framing framing, uint64_t length)
{
    const ConnectorConfig& config = _loop.shared().config;
    std::string& out = _slot->out;
    const int status = response.status();
    const std::string_view reason = http::reasonPhrase(status);
    const std::string_view date = http::cachedHttpDate();
    // One resize to the worst case, then plain copies: a dozen std::string appends per
    // response cost more than the head they build. Trimmed to the real size at the end.
    // HSTS over TLS only (never on a plain connector: RFC 6797 7.2).
    const bool hsts = !config.hsts.empty() && !config.certificates.empty();
    size_t bound =
        reason.size() + date.size() + config.serverHeader.size() + 192 + (hsts ? config.hsts.size() + 32 : 0);
    for (const http::Header& header : response.headers())
        bound += header.name.size() + header.value.size() + 4;
    const size_t start = out.size();
    out.resize(start + bound);
    char* p = out.data() + start;
    auto put = [&p](std::string_view text) noexcept {
        std::memcpy(p, text.data(), text.size());
        p += text.size();
    };
    auto putNumber = [&p](uint64_t value) noexcept { p = std::to_chars(p, p + 20, value).ptr; };

    put("HTTP/1.1 ");
    putNumber(static_cast<uint64_t>(status));
    *p++ = ' ';
    put(reason);
    put("\r\nDate: ");
    put(date);
    put("\r\n");
    const bool serverHeader = !config.serverHeader.empty();
    bool handlerServer = false;
    bool handlerHsts = !hsts; // the handler's own Strict-Transport-Security wins
    for (const http::Header& header : response.headers()) {
        if (isFramingHeader(header.name)) {
            if (util::equalsIgnoreCase(header.name, "Connection") &&
                rfc9112::listContains(header.value, "close"))
                _closeAfter = true;
            continue;
        }
        // A value with CR/LF would split the response: never written.
        if (!rfc9112::isToken(header.name) || !rfc9112::isFieldValue(header.value)) continue;
        if (serverHeader && header.name.size() == 6 && util::equalsIgnoreCase(header.name, "Server"))
            handlerServer = true;
        if (!handlerHsts && util::equalsIgnoreCase(header.name, "Strict-Transport-Security"))
            handlerHsts = true;
        put(header.name);
        put(": ");
        put(header.value);
        put("\r\n");
    }
    if (serverHeader && !handlerServer) {
        put("Server: ");
        put(config.serverHeader);
        put("\r\n");
    }
    if (!handlerHsts) {
        put("Strict-Transport-Security: ");
        put(config.hsts);
        put("\r\n");
    }
    if (framing == Framing::Length) {
        put("Content-Length: ");
        putNumber(length);
        put("\r\n");
    } else if (framing == Framing::Chunked) {
        put("Transfer-Encoding: chunked\r\n");
    }
    if (response.closeConnection() || _loop.draining()) _closeAfter = true;
    if (_upgradeHandler && switchesProtocol())
        put("Connection: Upgrade\r\n\r\n");
    else
        put(_closeAfter ? "Connection: close\r\n\r\n" : "Connection: keep-alive\r\n\r\n");
    out.resize(static_cast<size_t>(p - out.data()));
}

void Connection::countBytesOut(uint64_t n) noexcept
{
    _bytesSent += n;
    if (_onWorker)
        _loop.shared().workerBytesOut.fetch_add(n, std::memory_order_relaxed);
    else
        LoopCounters::bump(_loop.counters().bytesOut, n);
}

/// Writes the output queue, then the body view, then the file, until done or EAGAIN.
/// Never blocks. Either thread (whoever owns the connection).
Connection::WriteResult Connection::writeOut() noexcept
{
    ExchangeSlot& slot = *_slot;
    for (;;) {
        const size_t outLeft = slot.out.size() - slot.outOffset;
        const size_t bodyLeft = _bodyView.size() - _bodyOffset;
        if (outLeft + bodyLeft > 0) {
            iovec iov[2];
            int count = 0;
            if (outLeft > 0) iov[count++] = iovec{slot.out.data() + slot.outOffset, outLeft};
            if (bodyLeft > 0)
                iov[count++] = iovec{const_cast<char*>(_bodyView.data()) + _bodyOffset, bodyLeft};
            // MSG_MORE: the head and the start of a file leave in the same segments.
            ssize_t n = transportWrite(iov, count, _fileRemaining > 0);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) return WriteResult::Blocked;
                return WriteResult::Error;
            }
            auto written = static_cast<size_t>(n);
            countBytesOut(written);
            if (written >= outLeft) {
                slot.out.clear();
                slot.outOffset = 0;
                _bodyOffset += written - outLeft;
            } else {
                slot.outOffset += written;
            }
            continue;
        }
        if (_fileRemaining > 0) {
            off_t offset = static_cast<off_t>(_fileOffset);
            size_t chunk = static_cast<size_t>(std::min<uint64_t>(_fileRemaining, 1u << 30));
            ssize_t n = transportSendFile(_fileFd, &offset, chunk);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) return WriteResult::Blocked;
                return WriteResult::Error;
            }
            if (n == 0) return WriteResult::Error; // the file shrank under us
            _fileOffset = static_cast<uint64_t>(offset);
            _fileRemaining -= static_cast<uint64_t>(n);
            countBytesOut(static_cast<uint64_t>(n));
            continue;
        }
        return WriteResult::Done;
    }
}

/// Worker thread only: writes the output queue, waiting with poll() while the socket is full,
/// at most sendTimeout between progress. False (and the connection is broken) on failure.
bool Connection::writeBlocking() noexcept
{
    const int timeoutMs = static_cast<int>(std::min<uint32_t>(_loop.shared().config.sendTimeoutMs, 1u << 30));
    for (;;) {
        WriteResult result = writeOut();
        if (result == WriteResult::Done) return true;
        if (result == WriteResult::Error) break;
        pollfd p{_fd, POLLOUT, 0};
        int rc = ::poll(&p, 1, timeoutMs == 0 ? -1 : timeoutMs);
        if (rc < 0 && errno == EINTR) continue;
        if (rc <= 0) break;
    }
    _broken = true;
    return false;
}

bool Connection::withdraw() noexcept
{
    http::DispatchLane& lane = _lane != nullptr ? *_lane : _loop.shared().workers;
    if (!lane.cancel(*this)) return false;
    _onWorker = false;
    return true;
}

UnfinishedExchange Connection::describeRunning() const
{
    const http::HttpRequest& request = _slot->exchange.request;
    UnfinishedExchange unfinished;
    unfinished.method = request.method;
    unfinished.target = request.target;
    unfinished.host = std::string(request.host());
    unfinished.remoteAddress = _remoteAddress;
    const uint64_t start = _slot->exchange.startNanos;
    const uint64_t now = monotonicNowNanos();
    unfinished.runningMs = start != 0 && now > start ? (now - start) / kMillis : 0;
    return unfinished;
}

http::DispatchLane& Connection::sharedLane() noexcept
{
    return _loop.shared().workers;
}

http::DispatchTask* Connection::runOnWorker() noexcept
{
    serviceOnWorker();
    // Ask the lane before the hand-back: the lane may belong to the exchange's Context, which
    // the hand-back may release (and with it the lane).
    http::DispatchTask* next = _lane != nullptr ? _lane->finished() : nullptr;
    // After this post the loop owns the connection again: nothing here may touch it.
    _loop.post(_handBack); // false only after a hard stop gave the connection up
    return next;
}

void Connection::serviceOnWorker()
{
    http::HttpExchange& ex = exchange();
    _loop.shared().handler.service(ex);
    if (_suspendRequested) return; // the loop parks it: no output is finished here
    if (_upgradeHandler) {         // the loop writes the 101 and switches
        finishOutput();
        return;
    }
    if (!_broken) {
        finishOutput();
        WriteResult result = _broken ? WriteResult::Error : writeOut();
        if (result == WriteResult::Error) _broken = true;
        if (result == WriteResult::Done) {
            _loop.shared().handler.complete(ex, _bytesSent);
            _completeCalled = true;
        }
    }
    if (_broken && !_completeCalled) {
        _loop.shared().handler.complete(ex, _bytesSent);
        _completeCalled = true;
    }
}

void Connection::HandBack::run() noexcept
{
    _connection.onHandBack(_connection._loop.pastDrainDeadline());
}

/// Loop thread, the response is written: tells the handler, returns the slot. True if the
/// connection stays open for the next request.
bool Connection::finishExchange()
{
    if (_async) {
        _async->detach(true);
        _async.reset();
    }
    if (_headCalled && !_completeCalled) _loop.shared().handler.complete(exchange(), _bytesSent);
    const bool keep = !_closeAfter && !_loop.draining();
    _slot->recycle();
    _loop.releaseSlot(_slot);
    _slot = nullptr;
    resetMessage();
    return keep;
}

// ---------------------------------------------------------------------------------------------
// Suspended exchanges (loop thread)

/// service() returned with the exchange suspended: park it. The caller drives afterwards.
void Connection::park()
{
    _state = State::Suspended;
    _deadline = 0;
    if (_async) pullAsync();
    if (_state == State::Suspended && _resumeRequested) {
        _resumeRequested = false;
        resumeNow();
    }
}

/// Moves what the AsyncResponse queued into the response and frames it into the output.
void Connection::pullAsync()
{
    http::HttpResponse& response = exchange().response;
    switch (_async->take(response)) {
    case http::AsyncOutput::Take::Nothing:
        return;
    case http::AsyncOutput::Take::Send:
        response.flush(); // loop thread: appends to the output queue, driveSuspended() writes it
        return;
    case http::AsyncOutput::Take::Complete:
        resumeNow();
        return;
    case http::AsyncOutput::Take::Overflow:
        // Reset, not FIN: the response is cut short anyway, and a graceful close would leave the
        // kernel trickling megabytes of send buffer to a client that does not read, holding
        // the memory the hard cap bounds, and the client sees the end only after all of it.
        abortSocket();
        close();
        return;
    }
}

/// The response is complete: frame the rest, then write it as after service().
void Connection::resumeNow()
{
    finishOutput();
    _state = State::Writing;
}

void Connection::resume() noexcept
{
    if (_state != State::Suspended) { // service() has not returned yet: park() resumes
        _resumeRequested = true;
        return;
    }
    resumeNow();
    drive();
}

std::shared_ptr<http::AsyncResponse> Connection::startAsync()
{
    if (!_async) _async = std::make_shared<http::AsyncOutput>(*this, _loop);
    _suspendRequested = true;
    return _async;
}

void Connection::onAsyncReady() noexcept
{
    if (_state != State::Suspended) return; // not parked yet: park() takes it
    pullAsync();
    drive();
}

/// Parked: nothing is read (pipelined bytes wait), the client leaving ends the exchange, and
/// what the AsyncResponse queued is written as the socket takes it.
void Connection::driveSuspended()
{
    if (_peerShutdown) { // FIN, RST or an error: nobody will read the response
        close();
        return;
    }
    ExchangeSlot& slot = *_slot;
    if (slot.outOffset < slot.out.size()) {
        if (!_writable) return;
        WriteResult result = writeOut();
        if (result == WriteResult::Error) {
            close();
            return;
        }
        if (result == WriteResult::Blocked) {
            _writable = false;
            _deadline = deadlineAfter(_loop.now(), _loop.shared().config.sendTimeoutMs);
        } else {
            _deadline = 0;
        }
    }
    if (_async) _async->progress(slot.out.size() - slot.outOffset); // may run the app's onWritable
}

// ---------------------------------------------------------------------------------------------
// Upgraded connections (loop thread)

http::Loop& Connection::loop() noexcept
{
    return _loop;
}

bool Connection::switchesProtocol() noexcept
{
    return _parser.upgrade && exchange().response.status() == 101;
}

/// The 101 is written: the exchange is over (complete()), the rest of the connection belongs to
/// the UpgradeHandler. Bytes that came behind the request go to it first.
int Connection::detectHttp2(std::string_view data) const noexcept
{
    const ConnectorConfig& config = _loop.shared().config;
    if (_transport) return config.http2 && _transport->applicationProtocol() == "h2" ? 1 : 0;
    if (!config.h2c) return 0;
    // RFC 9113 3.4: prior knowledge starts with the client preface. Its first four bytes are
    // enough: "PRI " is no HTTP/1.1 method we serve (it would get 505), and nghttp2 checks
    // the rest of the preface itself.
    constexpr std::string_view kPreface = "PRI ";
    const size_t have = _prefaceBytes.size();
    for (size_t i = 0; i < data.size() && have + i < kPreface.size(); ++i)
        if (data[i] != kPreface[have + i]) return 0;
    return have + data.size() >= kPreface.size() ? 1 : -1;
}

void Connection::startHttp2(std::string_view early)
{
    LoopShared& shared = _loop.shared();
    std::unique_ptr<http::UpgradeHandler> handler;
    try {
        handler = http2::Http2Session::create(
            http2::SessionContext{shared.handler, shared.workers, shared.config, _remoteAddress, _remotePort,
                                  _localAddress, _localPort, &_loop.counters().requests, &shared.bodyBudget});
        _upgraded = std::make_unique<UpgradedChannel>(*this, std::move(handler));
    } catch (...) {
        close(); // no memory for a session: the client retries
        return;
    }
    _state = State::Upgraded;
    _deadline = 0;
    UpgradedChannel& channel = *_upgraded;
    channel.setInCallback(true);
    channel.handler().onOpen(channel);
    if (!early.empty() && !channel.abortRequested() && !channel.closeRequested())
        channel.handler().onData(early);
    channel.setInCallback(false);
}

void Connection::onDrain() noexcept
{
    if (_state != State::Upgraded || !_upgraded) return;
    UpgradedChannel& channel = *_upgraded;
    channel.setInCallback(true);
    channel.handler().onDrain();
    channel.setInCallback(false);
    driveUpgraded();
}

void Connection::startUpgraded()
{
    std::unique_ptr<http::UpgradeHandler> handler = std::move(_upgradeHandler);
    finishExchange(); // complete(), the slot back to the loop
    _upgraded = std::make_unique<UpgradedChannel>(*this, std::move(handler));
    _state = State::Upgraded;
    _deadline = 0;
    UpgradedChannel& channel = *_upgraded;
    channel.setInCallback(true);
    channel.handler().onOpen(channel);
    if (!_pending.empty() && !channel.abortRequested() && !channel.closeRequested()) {
        std::string early;
        early.swap(_pending);
        channel.handler().onData(early);
    }
    channel.setInCallback(false);
}

/// Writes what the channel queued, as far as the socket takes it. Never closes (the caller may
/// be inside a handler callback): a failure requests an abort.
void Connection::flushUpgraded() noexcept
{
    UpgradedChannel& channel = *_upgraded;
    std::string& out = channel.out();
    size_t& offset = channel.outOffset();
    while (offset < out.size() && _writable) {
        iovec iov{out.data() + offset, out.size() - offset};
        ssize_t n = transportWrite(&iov, 1, false);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                _writable = false;
                _deadline = deadlineAfter(_loop.now(), _loop.shared().config.sendTimeoutMs);
                return;
            }
            channel.requestAbort();
            return;
        }
        LoopCounters::bump(_loop.counters().bytesOut, static_cast<uint64_t>(n));
        offset += static_cast<size_t>(n);
    }
    if (offset == out.size()) {
        out.clear();
        offset = 0;
        _deadline = 0;
    }
}

/// Output, then input to onData(), then the closes the handler asked for, then onWritable.
void Connection::driveUpgraded()
{
    if (_state != State::Upgraded) return;
    UpgradedChannel& channel = *_upgraded;
    char* buffer = _loop.readBuffer();
    const size_t size = _loop.readBufferSize();
    for (;;) {
        flushUpgraded();
        if (channel.abortRequested()) {
            close();
            return;
        }
        if (channel.closeRequested() && channel.bufferedAmount() == 0) {
            // Half-close, then read what the client still sends (its close frame, a ping) until
            // its FIN: closing with unread input resets the connection, and the reset can
            // discard our close frame before the client reads it.
            beginLinger();
            return;
        }
        if (channel.takeWritable()) {
            channel.setInCallback(true);
            channel.handler().onWritable();
            channel.setInCallback(false);
            continue; // it may have written or closed
        }
        if (!channel.reading() || channel.closeRequested() || (!_readable && !transportHasBufferedInput()))
            return;
        ssize_t n = transportRead(buffer, size);
        if (n > 0) {
            LoopCounters::bump(_loop.counters().bytesIn, static_cast<uint64_t>(n));
            if (static_cast<size_t>(n) < size && !_peerShutdown) _readable = false;
            channel.setInCallback(true);
            channel.handler().onData(std::string_view(buffer, static_cast<size_t>(n)));
            channel.setInCallback(false);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            _readable = false;
            return;
        }
        close(); // the client closed (or the socket failed)
        return;
    }
}

void Connection::beginLinger()
{
    transportShutdownWrite();
    _state = State::Lingering;
    _pending.clear();
    _lingerBytes = 0;
    _deadline = _loop.now() + kLingerNanos;
    _readable = true;
    lingerRead();
}

/// Reads (and drops) what the client still sends until it closes. Called for every event in
/// State::Lingering, a writable one too: the kernel still sending what we wrote before the
/// half-close raises EPOLLOUT as the client reads it. So it always tries a read and waits on
/// EAGAIN, whatever `_readable` says: closing on a writable event would close with the client's
/// last bytes (a WebSocket ping after its close frame) still to come, and their arrival at a
/// closed socket resets the connection, which discards the response's tail in the client's
/// kernel before the client reads it (WebSocketConformanceTest.Group7_Close, 7.1.6).
void Connection::lingerRead()
{
    for (;;) {
        ssize_t n = transportRead(_loop.readBuffer(), _loop.readBufferSize());
        if (n > 0) {
            _lingerBytes += static_cast<uint64_t>(n);
            if (_lingerBytes > kLingerMaxBytes) break;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            _readable = false;
            return;
        }
        break; // EOF or error
    }
    close();
}

void Connection::close()
{
    if (_state == State::Closed) return;
    if (_async) { // before complete(): the owner hears that the client is gone first
        _async->detach(false);
        _async.reset();
    }
    if (_upgraded) { // kept (not destroyed) until releaseClosed(): we may be inside its callback
        _upgraded->markClosed();
        _upgraded->setInCallback(true);
        _upgraded->handler().onClose();
        _upgraded->setInCallback(false);
    }
    if (_slot != nullptr) {
        if (_headCalled && !_completeCalled) _loop.shared().handler.complete(exchange(), _bytesSent);
        _slot->recycle();
        _loop.releaseSlot(_slot);
        _slot = nullptr;
    }
    resetMessage();
    _pending.clear();
    if (_pending.capacity() > 4096) std::string().swap(_pending);
    _transport.reset(); // before the socket closes: TLS says close_notify on its way out
    ::close(_fd);
    _fd = -1;
    _plain.setSocket(-1);
    _handshaking = false;
    _state = State::Closed;
    _deadline = 0;
    _loop.retire(this);
}

} // namespace serval::connector
