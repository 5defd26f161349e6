#pragma once

#include "http/AsyncOutput.h"
#include "http/HttpHandler.h"
#include "http/MemoryBudget.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nghttp2/nghttp2.h>
#include <string>
#include <vector>

namespace serval::http2 {

class Http2Session;

/// One HTTP/2 request stream: the HttpExchange handed to the HttpHandler, and the response's
/// way out through nghttp2 (a data provider that reads the buffered body, the file or the
/// streamed output queue, and defers while the queue is empty).
///
/// Life: created at the stream's first HEADERS; onHead() once the header block is complete;
/// the body (request.body or the BodyConsumer, with the HeadDecision's size limit); service()
/// at END_STREAM, on the loop (Inline) or a worker (the lane HeadDecision chose); then the
/// response is submitted; complete() once nghttp2 closes the stream (sent, or reset).
///
/// THREADS: the loop thread, except while service() runs on a worker: then the worker owns the
/// exchange, and sendHead()/sendBody() put bytes into `_out` under `_mutex` (waiting while it is
/// above the high-water mark: back-pressure to the servlet) and post `_outputTask`.
/// OWNERSHIP: owned by its Http2Session (by stream id, then its retired list); a stream on a
/// worker holds a reference to the session until it hands back.
class Http2Stream final : public http::ResponseSink,
                          public http::ExchangeControl,
                          public http::DispatchTask,
                          public http::AsyncOwner
{
public:
    Http2Stream(Http2Session& session, int32_t id);
    ~Http2Stream() override;

    int32_t id() const noexcept { return _id; }

    // nghttp2 callbacks, loop thread.
    /// One request header field; false: refuse the stream (RST_STREAM).
    bool onHeader(std::string_view name, std::string_view value) noexcept;
    /// The request header block is complete: onHead(), or an error response. `endStream`: the
    /// HEADERS frame ended the stream (no body: no 100 Continue).
    void onHeadersEnd(bool endStream) noexcept;
    void onData(std::string_view bytes) noexcept;
    /// END_STREAM from the client: the request is complete (service() follows from act()).
    void onRequestEnd() noexcept;
    /// nghttp2 closed the stream (response sent, reset, or the connection ended).
    void onClosed(uint32_t errorCode) noexcept;
    /// The connection is gone: the stream ends (a worker's writes fail from now on).
    void abandon() noexcept;
    /// Loop clock (ns) by which the client must have made progress on this stream: completed its
    /// header block (HEADERS + CONTINUATION within headerTimeout of the HEADERS) or sent more of
    /// its body (bodyTimeout since the head or the last DATA), as over HTTP/1.1; 0 = none due.
    uint64_t deadline() const noexcept { return _deadline; }
    /// The session, when the HEADERS frame begins: by when the header block must be complete.
    void setHeadDeadline(uint64_t deadline) noexcept { _deadline = deadline; }
    /// The session's stream timer, loop thread, outside nghttp2 calls: deadline() has passed.
    /// An incomplete header block gets RST_STREAM(CANCEL); a stalled body gets 408 (then
    /// RST_STREAM(NO_ERROR), see onEndSent()). Other streams carry on.
    void onDeadline() noexcept;
    /// A frame with END_STREAM went out for this stream: if the client is still sending a body
    /// nobody will read (an early answer), RST_STREAM(NO_ERROR) stops it (RFC 9113 8.1).
    void onEndSent() noexcept;
    /// Loop thread, outside nghttp2 calls: does what is due (run service(), submit or resume the
    /// response, pull an AsyncResponse).
    void act() noexcept;

    // http::ResponseSink: the thread running service() (loop or worker), or the loop (async).
    bool sendHead(const http::HttpResponse& response, bool chunked) noexcept override;
    bool sendBody(std::string_view data) noexcept override;
    // http::ExchangeControl
    void suspend() noexcept override { _suspendRequested = true; }
    void resume() noexcept override;
    std::shared_ptr<http::AsyncResponse> startAsync() override;
    /// HTTP/2 has no protocol switch (RFC 9113 8.6: no 101): the handler is dropped unused.
    void upgrade(std::unique_ptr<http::UpgradeHandler> handler) noexcept override { handler.reset(); }
    // http::DispatchTask
    http::DispatchTask* runOnWorker() noexcept override;
    http::DispatchLane& sharedLane() noexcept override;
    // http::AsyncOwner
    void onAsyncReady() noexcept override;

    /// The data provider's read (nghttp2_data_source_read_callback), loop thread.
    ssize_t read(uint8_t* buffer, size_t length, uint32_t* flags) noexcept;

private:
    enum class Phase
    {
        Headers,    ///< receiving the header block
        Body,       ///< onHead() accepted; receiving the body
        Ready,      ///< the request is complete: service() is due
        Running,    ///< service() runs (loop or worker)
        Suspended,  ///< service() returned suspended: waiting for resume() / the AsyncResponse
        Responding, ///< the response is submitted
        Done        ///< complete() called
    };

    void respondStatus(int status) noexcept;
    void afterService() noexcept;
    void finishResponse() noexcept;
    void submitHead(int status, const std::vector<http::Header>& headers, int64_t contentLength,
                    bool hasBody) noexcept;
    void pullAsync() noexcept;
    void end() noexcept;
    bool onLoopThread() const noexcept;

    /// Posted by a worker: it handed the exchange back (runOnWorker()).
    class HandBack final : public http::LoopTask
    {
    public:
        explicit HandBack(Http2Stream& stream) noexcept : _stream(stream) {}
        void run() noexcept override;

    private:
        Http2Stream& _stream;
    };
    /// Posted by a worker that streamed output (flush()): the loop resumes the data provider.
    class OutputReady final : public http::LoopTask
    {
    public:
        explicit OutputReady(Http2Stream& stream) noexcept : _stream(stream) {}
        void run() noexcept override;

    private:
        Http2Stream& _stream;
    };

    Http2Session& _session;
    const int32_t _id;
    http::HttpExchange _exchange;
    Phase _phase = Phase::Headers;
    uint64_t _deadline = 0; ///< see deadline()
    // Request (loop thread).
    std::string _method;
    std::string _path;
    std::string _authority;
    std::string _cookies;
    uint64_t _headerBytes = 0;
    uint32_t _headerCount = 0;
    bool _headersTooLarge = false;
    bool _expectContinue = false;
    bool _requestEnded = false; ///< END_STREAM seen
    bool _headCalled = false;
    uint64_t _maxBody = 0;
    uint64_t _bodyBytes = 0;
    http::BudgetShare _bodyShare; ///< the buffered ones' part of it
    http::BodyConsumer* _bodyConsumer = nullptr;
    http::Dispatch _dispatch = http::Dispatch::Inline;
    http::DispatchLane* _lane = nullptr;
    int _earlyStatus = 0; ///< an answer decided before the request ended (413, rejectStatus ...)
    // Exchange control.
    bool _suspendRequested = false;
    bool _resumeRequested = false;
    bool _onWorker = false;
    bool _closed = false;    ///< nghttp2 closed the stream, or the connection went
    bool _submitted = false; ///< the response head is submitted to nghttp2
    bool _deferred = false;  ///< the data provider returned NGHTTP2_ERR_DEFERRED
    std::shared_ptr<http::AsyncOutput> _async;
    std::shared_ptr<Http2Session> _sessionRef; ///< while on a worker
    HandBack _handBack{*this};
    OutputReady _outputReady{*this};
    std::atomic<bool> _outputPosted{false};
    uint64_t _bytesSent = 0;
    // Response source for the buffered path (loop thread, after service()).
    bool _streamed = false; ///< flush() committed the head: the body comes from `_out`
    size_t _bodyOffset = 0;
    uint64_t _fileOffset = 0;
    uint64_t _fileRemaining = 0;
    std::vector<std::string> _headStore; ///< lower-cased names and values the nghttp2_nv point into
    // Streamed output (any thread, under _mutex).
    std::mutex _mutex;
    std::condition_variable _drained;
    std::string _out;
    size_t _outOffset = 0;
    bool _outEnded = false;
    bool _headQueued = false; ///< sendHead() captured a head the loop has not submitted
    int _queuedStatus = 0;
    int64_t _queuedLength = -1;
    std::vector<http::Header> _queuedHeaders;
    bool _gone = false; ///< mirror of _closed for other threads
};

} // namespace serval::http2
