#pragma once

#include "config/ConnectorConfig.h"
#include "connector/http2/GlitchBudget.h"
#include "http/DispatchLane.h"
#include "http/HttpHandler.h"
#include "http/Loop.h"
#include "http/MemoryBudget.h"
#include "http/Upgrade.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

struct nghttp2_session;

namespace serval::http2 {

class Http2Stream;

/// What a connection tells its HTTP/2 session when it switches (Connection::startHttp2).
struct SessionContext
{
    http::HttpHandler& handler;
    http::DispatchLane& sharedLane; ///< the Connector's worker pool (HeadDecision::lane nullptr)
    const config::ConnectorConfig& config;
    std::string remoteAddress;
    uint16_t remotePort = 0;
    std::string localAddress;
    uint16_t localPort = 0;
    /// The loop's request counter (single writer: the loop thread); may be null.
    std::atomic<uint64_t>* requestCounter = nullptr;
    /// The connector's budget for buffered request bodies (LoopShared::bodyBudget); may be null.
    http::MemoryBudget* bodyBudget = nullptr;
};

/// HTTP/2 (RFC 9113) on one connection: one nghttp2 server session, fed with the bytes the
/// connection reads (nghttp2_session_mem_recv) and drained into its output queue
/// (nghttp2_session_mem_send) while the queue is below its high-water mark, so a client that
/// does not read stops the session from producing rather than growing a buffer. Each request
/// stream becomes an Http2Stream: the same HttpExchange HTTP/1.1 produces, given to the same
/// HttpHandler (onHead, service on the thread onHead chose, complete), so servlets, filters,
/// static files, async responses and isolated apps do not know which protocol carried them.
///
/// The limits are set explicitly rather than left to nghttp2's defaults: concurrent streams,
/// header-list size and count (the HTTP/1.1 limits), CONTINUATION frames per header block,
/// the rapid-reset rate, a glitch budget (GlitchBudget), outbound ACK queue, flow-control
/// windows sized for throughput; the idle timeout is the connector's keep-alive timeout, and
/// a draining server sends GOAWAY and lets open streams finish.
///
/// The connection sees an http::UpgradeHandler (create() returns it): HTTP/2 after ALPN or
/// the h2c preface is, to the connection, a protocol spoken on raw bytes like WebSocket.
///
/// THREADS: everything on the connection's loop thread, except what a stream's service()
/// does on a worker (Http2Stream: it touches only its own exchange and a locked output queue,
/// and posts to the loop). OWNERSHIP: shared: the UpgradeHandler create() returns holds one
/// reference, each stream dispatched to a worker another (so a connection that closes while a
/// worker runs a stream's service() leaves the session alive until the worker hands back).
class Http2Session final : public std::enable_shared_from_this<Http2Session>
{
public:
    /// The connection's handler for an HTTP/2 connection; `early` bytes are fed by the caller
    /// (onData) right after onOpen().
    static std::unique_ptr<http::UpgradeHandler> create(SessionContext context);

    explicit Http2Session(SessionContext context);
    ~Http2Session();
    Http2Session(const Http2Session&) = delete;
    Http2Session& operator=(const Http2Session&) = delete;

    // What the UpgradeHandler forwards (loop thread).
    void open(http::UpgradedConnection& connection) noexcept;
    void receive(std::string_view bytes) noexcept;
    void writable() noexcept;
    void closed() noexcept;
    void drain() noexcept;

    // For Http2Stream (loop thread).
    const SessionContext& context() const noexcept { return _context; }
    http::Loop& loop() noexcept { return _connection->loop(); }
    nghttp2_session* nghttp2() noexcept { return _session; }
    /// The stream has output or a state change to act on: acted on now, or after the nghttp2
    /// call in progress returns.
    void wake(Http2Stream& stream) noexcept;
    /// A protocol glitch (see GlitchBudget); false once the budget is spent (GOAWAY queued).
    bool glitch() noexcept;
    /// The stream's exchange has ended (complete() called): it is freed once no call is using it.
    void retire(Http2Stream& stream) noexcept;
    bool connectionOpen() const noexcept { return _connection != nullptr; }
    /// A stream's deadline (Http2Stream::deadline()) was set: the stream timer fires by then.
    void watchDeadline(uint64_t deadline) noexcept;

    /// The HTTP/1.1 header limit as an HTTP/2 header-list size (RFC 9113 6.5.2: name + value +
    /// 32 per field).
    static uint32_t headerListLimit(const config::ConnectorConfig& config) noexcept;

private:
    friend struct Callbacks; // nghttp2's callbacks (Http2Session.cpp)

public:
    /// Loop thread, outside nghttp2 calls: acts on woken streams, then moves frames into the
    /// connection's queue while it is below the high-water mark; closes the connection once
    /// nghttp2 wants neither to read nor to write (after a GOAWAY).
    void pump() noexcept;
    /// Loop thread: pump() from a posted task, once for however many streams ask before it
    /// runs (workers handing back a burst of responses share one write).
    void schedulePump() noexcept;

private:
    class PumpTask final : public http::LoopTask
    {
    public:
        explicit PumpTask(Http2Session& session) noexcept : _session(session) {}
        void run() noexcept override;

    private:
        Http2Session& _session;
    };

    void fail() noexcept;
    /// The idle check at _lastActive + keepAliveTimeout, or at `notBefore` if that is later.
    void armIdleTimer(uint64_t notBefore = 0) noexcept;
    void onIdleTimer() noexcept;
    /// Acts on the streams whose deadline has passed, then waits for the next one.
    void onStreamTimer() noexcept;
    void dropRetired() noexcept;

    SessionContext _context;
    http::UpgradedConnection* _connection = nullptr; ///< null after closed()
    nghttp2_session* _session = nullptr;
    GlitchBudget _glitches;
    std::unordered_map<int32_t, std::unique_ptr<Http2Stream>> _streams;
    std::vector<std::unique_ptr<Http2Stream>> _retired; ///< freed by dropRetired()
    std::vector<Http2Stream*> _woken;                   ///< streams to act on after a call returns
    uint32_t _depth = 0;                                ///< > 0 inside receive()/pump(): wake() defers
    uint32_t _settingsFrames = 0;                       ///< SETTINGS received (the first is the preface's)
    int32_t _highestStream = 0; ///< the highest client stream id a HEADERS has carried
    /// The streams this server reset last: HEADERS for them may be trailers in flight, not reuse.
    static constexpr size_t kRememberedResets = 16;
    int32_t _resetByUs[kRememberedResets] = {};
    size_t _resetNext = 0;
    PumpTask _pumpTask{*this};
    bool _pumpPosted = false;
    std::shared_ptr<Http2Session> _pumpRef; ///< keeps the session while _pumpTask is posted
    bool _draining = false;
    bool _failed = false;
    http::TimerId _idleTimer;
    http::TimerId _streamTimer;  ///< the earliest stream deadline (watchDeadline())
    uint64_t _streamTimerAt = 0; ///< when _streamTimer fires
    uint64_t _lastActive = 0;    ///< loop clock when the last stream ended or a frame arrived

    friend class Http2Stream;
};

} // namespace serval::http2
