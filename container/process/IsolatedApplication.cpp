#include "process/IsolatedApplication.h"

#include "compression/ResponseCompression.h"
#include "core/Engine.h"
#include "core/ErrorPage.h"
#include "process/UpgradeTunnel.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace serval::process {
namespace {

/// `value` holds `token` as one of its comma-separated elements (ASCII case-insensitive).
bool hasToken(std::string_view value, std::string_view token) noexcept
{
    while (!value.empty()) {
        size_t comma = value.find(',');
        std::string_view element = value.substr(0, comma);
        while (!element.empty() && (element.front() == ' ' || element.front() == '\t'))
            element.remove_prefix(1);
        while (!element.empty() && (element.back() == ' ' || element.back() == '\t'))
            element.remove_suffix(1);
        if (element.size() == token.size() &&
            std::equal(element.begin(), element.end(), token.begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) ==
                       std::tolower(static_cast<unsigned char>(b));
            }))
            return true;
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
    return false;
}

/// A request that asks to switch protocols (RFC 9110 7.8): the app in the worker decides.
bool asksForUpgrade(const http::HttpRequest& request) noexcept
{
    return request.method == "GET" && request.hasHeader("Upgrade") &&
           hasToken(request.header("Connection"), "upgrade");
}

/// Freed ForwardedExchange blocks of one thread, kept for its next ones (at most kKept).
/// THREADS: one per thread (thread_local); a block freed on another thread than the one that
/// made it just joins that thread's list.
class ExchangeMemory
{
public:
    static ExchangeMemory& local() noexcept
    {
        thread_local ExchangeMemory memory;
        return memory;
    }
    ~ExchangeMemory()
    {
        while (_head != nullptr) {
            Block* next = _head->next;
            ::operator delete(_head);
            _head = next;
        }
        _closed = true; // a block freed while the thread ends goes back to the heap
    }
    /// `size` is always sizeof(ForwardedExchange) (the one user, a final class).
    void* take(size_t size)
    {
        if (_head == nullptr) return ::operator new(std::max(size, sizeof(Block)));
        Block* block = _head;
        _head = block->next;
        --_count;
        return block;
    }
    void give(void* memory) noexcept
    {
        if (_closed || _count >= kKept) {
            ::operator delete(memory);
            return;
        }
        auto* block = static_cast<Block*>(memory);
        block->next = _head;
        _head = block;
        ++_count;
    }

private:
    struct Block
    {
        Block* next;
    };
#if defined(__SANITIZE_ADDRESS__)
    static constexpr size_t kKept = 0; // every block back to the heap: ASan sees a use after end()
#else
    static constexpr size_t kKept = 1024;
#endif
    Block* _head = nullptr;
    size_t _count = 0;
    bool _closed = false;
};

/// One forwarded exchange, from forward() until the Engine ends it: it receives what the
/// worker answers (StreamOwner) and hands it to the connector. Everything runs on the
/// exchange's loop thread: no lock.
///
/// The exchange is suspended while the worker serves. A response that arrives whole (no body,
/// or a Content-Length of at most kBufferedBody) is filled into the exchange's response, as an
/// in-process servlet's would be (compressed in place), and the exchange resumed from a posted
/// task, never from inside the lane's read of its ring: no AsyncResponse, no compression
/// wrapper, and while a long poll waits nothing but this object. A response the app streams
/// (flush(): no length) or a large one switches to an AsyncResponse at its head
/// (Engine::startAsyncAfterService), so it leaves as it arrives.
///
/// OWNERSHIP: deletes itself once ended() was called and no task of its own is posted. Its
/// memory comes from a free list of the thread (an I/O loop makes and ends its exchanges
/// itself): one per request otherwise costs a malloc and a free on the forwarding path.
class ForwardedExchange final : public StreamOwner, public core::RemoteExchange, public http::LoopTask
{
public:
    static void* operator new(size_t size) { return ExchangeMemory::local().take(size); }
    static void operator delete(void* memory) noexcept { ExchangeMemory::local().give(memory); }

    ForwardedExchange(std::shared_ptr<WorkerGroup> group, WorkerLane& lane,
                      http::HttpExchange& exchange) noexcept
        : _group(std::move(group)), _lane(lane), _exchange(exchange)
    {}

    /// In Engine::service (loop thread). A refusal (quarantined) is answered from inside.
    void start()
    {
        _exchange.control->suspend();
        if (asksForUpgrade(_exchange.request)) {
            // A 101 switches the connection to the tunnel, anything else (a refused handshake)
            // is answered whole and the tunnel is destroyed unused.
            auto tunnel = std::make_unique<UpgradeTunnel>(
                _group, _lane, hasToken(_exchange.request.header("Upgrade"), "websocket"));
            _tunnel = tunnel.get();
            _exchange.control->upgrade(std::move(tunnel));
        }
        _live = true;
        ForwardedStream* stream = _lane.submit(*this, _exchange.request);
        if (_live) _stream = stream; // else onStreamFailed() came first (quarantined)
    }

    void onResponseHead(const ResponseHead& head, bool endStream) noexcept override
    {
        _headDelivered = true;
        if (endStream) _live = false;
        bool whole = endStream || _tunnel != nullptr || _exchange.request.isHead() ||
                     (head.contentLength >= 0 && static_cast<uint64_t>(head.contentLength) <= kBufferedBody);
        if (!whole) {
            try {
                _async = core::Engine::startAsyncAfterService(_exchange);
            } catch (...) { // std::bad_alloc: the connection is cut once the exchange resumes
                _exchange.response.setCloseConnection(true);
                resumeSoon();
                return;
            }
        }
        if (_async) {
            _async->setStatus(head.status);
            for (const http::Header& header : head.headers)
                _async->addHeader(header.name, header.value);
            if (head.contentLength >= 0) _async->expectLength(static_cast<uint64_t>(head.contentLength));
            if (endStream)
                _async->complete();
            else if (head.contentLength < 0) {
                _streamed = true;
                _async->write({}); // the app flushed: the head goes now, the body follows chunked
            }
            return;
        }
        http::HttpResponse& response = _exchange.response;
        try {
            response.setStatus(head.status);
            for (const http::Header& header : head.headers)
                response.addHeader(header.name, header.value);
            if (head.contentLength >= 0) response.setContentLength(head.contentLength);
            if (head.closeConnection) response.setCloseConnection(true);
        } catch (...) {
            response.setCloseConnection(true);
        }
        if (_tunnel != nullptr && head.status == 101 && !endStream) {
            // The switch: the connection writes the 101 and hands itself to the tunnel, which
            // owns the stream from here on (this exchange ends with the 101).
            _tunnel->adopt(_stream);
            _tunnel = nullptr;
            _stream = nullptr;
            _live = false;
            resumeSoon();
            return;
        }
        _tunnel = nullptr; // refused: it is destroyed unused
        if (endStream) finishBuffered();
    }

    void onResponseBody(std::string_view bytes, bool endStream) noexcept override
    {
        if (endStream) _live = false;
        if (!_async) {
            try {
                _exchange.response.write(bytes);
            } catch (...) {
                _exchange.response.setCloseConnection(true);
            }
            if (endStream)
                finishBuffered();
            else
                _lane.consumed(_stream, static_cast<uint32_t>(bytes.size()));
            return;
        }
        http::WriteStatus written = _async->write(bytes);
        if (endStream) {
            // A streamed response stays streamed: complete() from a task posted after the
            // connector's own, or it would coalesce what is queued into one Content-Length reply.
            if (_streamed)
                postSelf();
            else
                _async->complete();
            return;
        }
        if (written == http::WriteStatus::Ok) {
            _lane.consumed(_stream, static_cast<uint32_t>(bytes.size()));
        } else if (written == http::WriteStatus::Backpressure) {
            // A slow client: the worker gets more credit only once the socket took half.
            _owed += static_cast<uint32_t>(bytes.size());
            _async->onWritable([this] {
                if (_live && _owed > 0) _lane.consumed(_stream, _owed);
                _owed = 0;
            });
        } // Dropped: the connection closes; ended() cancels the stream
    }

    void onStreamFailed(const StreamFailure& failure) noexcept override
    {
        _live = false;
        _stream = nullptr;
        try {
            if (!_async) {
                _exchange.response.reset();
                IsolatedApplication::writeFailure(_exchange.response, failure);
                resumeSoon();
                return;
            }
            if (_headDelivered) {
                // Part of the app's response may be out: only a cut connection tells the client
                // that the body is incomplete. A write past a zero cap is how AsyncResponse
                // closes it.
                _async->setLimits(http::OutputLimits{0, 0});
                _async->write("x");
                return;
            }
            http::HttpResponse page;
            IsolatedApplication::writeFailure(page, failure);
            _async->setStatus(page.status());
            for (const http::Header& header : page.headers())
                _async->setHeader(header.name, header.value);
            _async->write(page.body());
            _async->complete();
        } catch (...) {
            if (_async) _async->complete(); // std::bad_alloc: an empty answer rather than none
        }
    }

    void ended() noexcept override
    {
        _ended = true;
        if (_live) { // the client left first: the worker may stop
            _live = false;
            _lane.cancel(_stream);
            _stream = nullptr;
        }
        if (!_posted) delete this;
    }

    void run() noexcept override
    {
        _posted = false;
        if (_ended) {
            delete this;
            return;
        }
        if (_async)
            _async->complete();
        else
            _exchange.control->resume();
    }

private:
    /// The largest body a response with a Content-Length may have to be buffered whole here
    /// (larger ones stream through an AsyncResponse).
    static constexpr uint64_t kBufferedBody = 64 * 1024;

    /// The whole response is in _exchange.response: compressed in place as an in-process
    /// servlet's (a HEAD gets the compressed GET's headers: Vary, Content-Encoding, no length),
    /// then resumed.
    void finishBuffered() noexcept
    {
        compression::compressBuffered(_exchange);
        resumeSoon();
    }
    /// Resume from a task of its own, so the connector does not finish the exchange (and start
    /// the next pipelined one) inside the lane's read of its ring.
    void resumeSoon() noexcept { postSelf(); }
    /// run() on the loop, after what is posted already.
    void postSelf() noexcept
    {
        if (_posted) return;
        _posted = true;
        if (!_exchange.loop->post(*this)) _posted = false; // the loop has ended, and the exchange with it
    }

    std::shared_ptr<WorkerGroup> _group; ///< keeps the lane alive
    WorkerLane& _lane;
    http::HttpExchange& _exchange;
    std::shared_ptr<http::AsyncResponse> _async;
    UpgradeTunnel* _tunnel = nullptr; ///< the connection's, until the worker's head decided
    ForwardedStream* _stream = nullptr;
    bool _live = false;          ///< the lane still has the stream
    bool _headDelivered = false; ///< the app's head reached the AsyncResponse
    bool _streamed = false;      ///< the app flushed: its head went out before the body
    bool _posted = false;        ///< run() is queued on the loop
    bool _ended = false;         ///< the Engine is done with the exchange
    uint32_t _owed = 0;          ///< credit held back while the client is slow
};

} // namespace

IsolatedApplication::~IsolatedApplication()
{
    stop();
}

void IsolatedApplication::start()
{
    util::Outcome started = _group->start();
    if (!started) throw std::runtime_error(started.error());
}

void IsolatedApplication::stop() noexcept
{
    _group->stop();
}

void IsolatedApplication::writeFailure(http::HttpResponse& response, const StreamFailure& failure)
{
    std::string message = failure.reason;
    if (!failure.crashId.empty()) message += " Crash record: " + failure.crashId + ".";
    core::writeErrorPage(response, failure.status, message);
    if (!failure.crashId.empty()) response.setHeader("X-Serval-Crash-Id", failure.crashId);
    if (failure.retryAfter > 0) response.setHeader("Retry-After", std::to_string(failure.retryAfter));
}

core::RemoteExchange* IsolatedApplication::forward(http::HttpExchange& exchange) noexcept
{
    if (exchange.loop == nullptr || exchange.control == nullptr ||
        exchange.loop->index() >= _group->laneCount()) {
        // Only a Connector of this Server carries requests here (each loop has its lane).
        core::writeErrorPage(exchange.response, 500,
                             "This request did not come through a connector of the server.");
        return nullptr;
    }
    auto* forwarded = new ForwardedExchange(_group, _group->lane(exchange.loop->index()), exchange);
    try {
        forwarded->start();
    } catch (...) { // std::bad_alloc from startAsync() or the lane: answered like a refusal
        forwarded->onStreamFailed(StreamFailure{503, "", 1, "The server is out of memory."});
    }
    return forwarded;
}

} // namespace serval::process
