#pragma once

#include "connector/DrainReport.h"
#include "connector/ExchangeSlot.h"
#include "connector/Transport.h"
#include "connector/UpgradedChannel.h"
#include "http/AsyncOutput.h"
#include "http/HttpHandler.h"
#include "http/Loop.h"
#include "http/MemoryBudget.h"

#include <cstdint>
#include <llhttp.h>
#include <memory>
#include <string>
#include <string_view>
#include <sys/socket.h>

namespace serval::connector {

class EventLoop;

/// One client connection: reads and parses requests with llhttp plus the strict checks llhttp
/// leaves out, runs them one at a time (pipelined bytes wait in `_pending`), and writes the
/// responses in order without blocking its loop.
///
/// THREADS: owned and driven by its EventLoop. While a request is dispatched to a worker the
/// worker owns the exchange and the socket's write side (it may write and poll() directly);
/// the loop then only records epoll readiness and touches nothing else until handBack.
/// OWNERSHIP: the loop keeps Connection objects in a free list and reuses them; the
/// ExchangeSlot is borrowed from the loop from the first byte of a request to the end of its
/// response.
class Connection final : public http::ResponseSink,
                         public http::ExchangeControl,
                         public http::DispatchTask,
                         public http::AsyncOwner
{
public:
    explicit Connection(EventLoop& loop);
    ~Connection() override;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    /// Loop thread: adopts an accepted, non-blocking socket.
    void open(int fd, const sockaddr* peer, socklen_t peerLength);
    /// Loop thread, right after open(): moves bytes through `transport` instead of plain TCP
    /// (a TLS connector's, issue 16). Kept until the connection closes. Until the transport
    /// is established() the deadline is handshakeTimeout, then headerTimeout for the first byte.
    void setTransport(std::unique_ptr<Transport> transport) noexcept;
    /// Loop thread: epoll reported `events`.
    void onEvents(uint32_t events);
    /// Loop thread: deadline() has passed.
    void onTimeout();
    /// Loop thread: a worker finished with this connection (see runOnWorker()).
    void onHandBack(bool forceClose);
    // http::DispatchTask. runOnWorker(), on the lane's thread: runs service(), writes what it
    // can, hands the connection back, returns the lane's next task.
    http::DispatchTask* runOnWorker() noexcept override;
    http::DispatchLane& sharedLane() noexcept override;
    /// Loop thread: closes the socket now and returns the connection to the loop.
    void close();
    /// Loop thread, dispatched: takes the exchange back from its lane if it has not started
    /// (true: it never will; close() then ends it).
    bool withdraw() noexcept;
    /// Loop thread, dispatched and running past the drain deadline: what runs, for the log. Reads
    /// the request while the worker may read it too (handlers never write the request).
    UnfinishedExchange describeRunning() const;
    /// Loop thread, when the connection is abandoned to a worker that does not return: the
    /// client sees the end, the worker's writes fail, the descriptor stays open.
    void shutdownSocket() noexcept { ::shutdown(_fd, SHUT_RDWR); }
    /// Loop thread, just before close(): the close resets the connection (SO_LINGER 0) and
    /// discards what the kernel still holds to send.
    void abortSocket() noexcept
    {
        linger off{1, 0};
        ::setsockopt(_fd, SOL_SOCKET, SO_LINGER, &off, sizeof off);
    }
    /// Loop thread: the exchange's AsyncOutput has something queued (its posted task).
    void onAsyncReady() noexcept override;
    /// Loop thread, once the loop reuses or frees a closed connection: drops what a closed
    /// upgraded connection kept (its UpgradeHandler lives until then, see UpgradedChannel).
    void releaseClosed() noexcept { _upgraded.reset(); }
    /// Loop thread, when the server begins to drain and this connection is not idle: an
    /// upgraded protocol (HTTP/2: GOAWAY) is told, so it can finish and close before the deadline.
    void onDrain() noexcept;

    bool closed() const noexcept { return _state == State::Closed; }
    bool dispatched() const noexcept { return _state == State::Dispatched; }
    /// Between requests with nothing buffered: safe to close at shutdown.
    bool idle() const noexcept { return _state == State::Reading && _slot == nullptr && _pending.empty(); }
    uint64_t deadline() const noexcept { return _deadline; } ///< CLOCK_MONOTONIC_COARSE ns, 0 = none

    size_t liveIndex = 0; ///< position in the loop's live list (the loop's bookkeeping)

    // http::ResponseSink: called through HttpResponse::flush() by the thread running service().
    bool sendHead(const http::HttpResponse& response, bool chunked) noexcept override;
    bool sendBody(std::string_view data) noexcept override;

    // http::ExchangeControl
    void suspend() noexcept override { _suspendRequested = true; }
    void resume() noexcept override;
    std::shared_ptr<http::AsyncResponse> startAsync() override;
    void upgrade(std::unique_ptr<http::UpgradeHandler> handler) noexcept override
    {
        _upgradeHandler = std::move(handler);
    }

private:
    enum class State
    {
        Reading,
        Dispatched,
        Suspended, ///< service() returned with the exchange suspended: parked until resume/complete
        Writing,
        Upgraded, ///< after a 101: raw bytes to and from an UpgradeHandler (UpgradedChannel)
        Lingering,
        Closed
    };
    enum class Event
    {
        None,
        HeadComplete,
        MessageComplete
    };
    enum class Framing
    {
        None,
        Length,
        Chunked,
        UntilClose
    };
    enum class WriteResult
    {
        Done,
        Blocked,
        Error
    };

    void drive();
    size_t feed(const char* data, size_t length);
    bool prescan(const char* data, size_t length) noexcept;
    void onHeadComplete();
    void onMessageComplete();
    void fail(int status);
    /// A plain-text page for `status`; `retryLater` adds Retry-After (a full lane's 503).
    void respondPlain(int status, bool close, bool retryLater = false);
    void serviceOnWorker();
    void respondRejected(int status);
    void serialiseBuffered();
    void finishOutput();
    void appendHead(const http::HttpResponse& response, Framing framing, uint64_t length);
    WriteResult writeOut() noexcept;
    bool writeBlocking() noexcept;
    bool finishExchange();
    void park();
    void pullAsync();
    void resumeNow();
    void driveSuspended();
    void borrowSlot();
    /// The response is a 101 to an upgrade request with an UpgradeHandler attached.
    bool switchesProtocol() noexcept;
    void startUpgraded();
    /// 1: the connection speaks HTTP/2 (ALPN h2, or the h2c preface on a connector with h2c
    /// on); 0: HTTP/1.1; -1: too few bytes to tell yet (`data` is the first read's).
    int detectHttp2(std::string_view data) const noexcept;
    /// Hands the connection to an http2::Http2Session (as an UpgradedChannel) with the bytes
    /// read so far.
    void startHttp2(std::string_view early);
    void driveUpgraded();
    void flushUpgraded() noexcept;
    http::Loop& loop() noexcept;
    friend class UpgradedChannel;
    void beginLinger();
    void lingerRead();
    void resetMessage() noexcept;
    void countBytesOut(uint64_t n) noexcept;
    http::HttpExchange& exchange() noexcept { return _slot->exchange; }

    // The socket's bytes go through these: plain TCP is called directly (inlined), any other
    // Transport through its vtable.
    ssize_t transportRead(char* buffer, size_t size) noexcept
    {
        return _transport ? _transport->read(buffer, size) : _plain.read(buffer, size);
    }
    ssize_t transportWrite(const iovec* buffers, int count, bool more) noexcept
    {
        return _transport ? _transport->write(buffers, count, more) : _plain.write(buffers, count, more);
    }
    ssize_t transportSendFile(int fileFd, off_t* offset, size_t count) noexcept
    {
        return _transport ? _transport->sendFile(fileFd, offset, count)
                          : _plain.sendFile(fileFd, offset, count);
    }
    void transportShutdownWrite() noexcept
    {
        _transport ? _transport->shutdownWrite() : _plain.shutdownWrite();
    }
    bool transportHasBufferedInput() const noexcept { return _transport && _transport->hasBufferedInput(); }

    // llhttp callbacks; parser->data is the Connection.
    static int onMessageBeginCb(llhttp_t* parser);
    static int onUrlCb(llhttp_t* parser, const char* at, size_t length);
    static int onVersionCompleteCb(llhttp_t* parser);
    static int onHeaderFieldCb(llhttp_t* parser, const char* at, size_t length);
    static int onHeaderValueCb(llhttp_t* parser, const char* at, size_t length);
    static int onHeaderValueCompleteCb(llhttp_t* parser);
    static int onHeadersCompleteCb(llhttp_t* parser);
    static int onBodyCb(llhttp_t* parser, const char* at, size_t length);
    static int onChunkHeaderCb(llhttp_t* parser);
    static int onMessageCompleteCb(llhttp_t* parser);
    static const llhttp_settings_t& settings() noexcept;
    int userError(int status) noexcept;

    EventLoop& _loop;
    int _fd = -1;
    PlainTransport _plain;                 ///< the transport unless _transport is set
    std::unique_ptr<Transport> _transport; ///< another transport (TLS), or nullptr for _plain
    State _state = State::Closed;
    bool _readable = false;     ///< loop: no EAGAIN seen since the last EPOLLIN
    bool _peerShutdown = false; ///< loop: EPOLLRDHUP/EPOLLHUP seen (the client sent FIN)
    bool _writable = false;     ///< loop: no EAGAIN seen since the last EPOLLOUT
    bool _handshaking = false;  ///< loop: _transport is not established() yet
    uint64_t _deadline = 0;
    uint32_t _requestCount = 0;
    std::string _pending; ///< bytes received after the request being processed
    std::string _remoteAddress;
    uint16_t _remotePort = 0;
    std::string _localAddress;
    uint16_t _localPort = 0;
    uint64_t _lingerBytes = 0;
    bool _protocolChosen = false; ///< detectHttp2() has decided for this connection
    std::string _prefaceBytes;    ///< the first bytes of an h2c connection, too few to decide

    /// Posted by the worker when it is done with the connection (runOnWorker()): the loop then
    /// calls onHandBack().
    class HandBack final : public http::LoopTask
    {
    public:
        explicit HandBack(Connection& connection) noexcept : _connection(connection) {}
        void run() noexcept override;

    private:
        Connection& _connection;
    };

    llhttp_t _parser;
    ExchangeSlot* _slot = nullptr;
    HandBack _handBack{*this};

    // Per message (resetMessage()).
    Event _event = Event::None;
    bool _headDone = false;
    bool _lineDone = false;
    bool _headerOpen = false;
    bool _inRequestLine = true;
    bool _afterLf = false;
    bool _prescanDone = false;
    unsigned char _prevByte = 0;
    uint32_t _lineLength = 0;
    uint32_t _lineSpaces = 0;
    uint64_t _headBytes = 0;
    uint32_t _headerCount = 0;
    uint32_t _hostCount = 0;
    uint32_t _teCount = 0;
    int _teStatus = 0; ///< 0 ok, else the status the Transfer-Encoding deserves
    bool _connectionClose = false;
    bool _connectionKeepAlive = false;
    int _expect = 0; ///< 0 none, 1 100-continue, 2 other
    int _errorStatus = 400;
    bool _userError = false; ///< a callback refused: _errorStatus says why
    uint64_t _maxBody = 0;
    uint64_t _bodyBytes = 0;                     ///< body bytes parsed so far (against _maxBody)
    http::BudgetShare _bodyShare;                ///< the buffered ones' part of it
    http::BodyConsumer* _bodyConsumer = nullptr; ///< HeadDecision::bodyConsumer
    bool _bodyAborted = false;                   ///< the consumer refused: _errorStatus is its answer
    bool _headCalled = false;
    bool _completeCalled = false;
    int _rejectStatus = 0;
    http::Dispatch _dispatch = http::Dispatch::Inline;
    http::DispatchLane* _lane = nullptr; ///< HeadDecision::lane (nullptr: the shared pool)
    bool _closeAfter = false;
    bool _onWorker = false;
    bool _broken = false; ///< the client is gone (a write failed or timed out)
    /// ExchangeControl: set by the thread running service(), read by it and then by the loop.
    bool _suspendRequested = false;
    bool _resumeRequested = false;             ///< loop: resume() came before the exchange was parked
    std::shared_ptr<http::AsyncOutput> _async; ///< startAsync()'s, until the exchange ends
    std::unique_ptr<http::UpgradeHandler> _upgradeHandler; ///< upgrade()'s, until the 101 is written
    std::unique_ptr<UpgradedChannel> _upgraded;            ///< after the switch (State::Upgraded)
    std::string _trailerName;
    std::string _trailerValue;

    // Output of the current response (besides _slot->out).
    Framing _streamFraming = Framing::None;
    uint64_t _streamLength = 0;
    uint64_t _streamBytes = 0;
    std::string_view _bodyView;
    size_t _bodyOffset = 0;
    int _fileFd = -1;
    uint64_t _fileOffset = 0;
    uint64_t _fileRemaining = 0;
    uint64_t _bytesSent = 0;
};

} // namespace serval::connector
