#include "core/Engine.h"

#include "compression/CompressingAsyncResponse.h"
#include "compression/ResponseCompression.h"
#include "compression/StreamingCompressor.h"
#include "core/ErrorPage.h"
#include "http/ExchangeControl.h"
#include "util/Path.h"
#include "util/Strings.h"

#include <ctime>

namespace serval::core {
namespace {

/// Per-exchange routing result, kept from onHead() to complete() and reused for every request
/// on the connection (strings keep their capacity). While `context` is set the request is
/// counted in that Context's inFlight(); `snapshot` pins the Hosts and Contexts it routed with.
/// `decodedUri` views the request's own path when that needs no decoding (the common case),
/// else `decodedStorage`; the HttpRequest lives as long as this state's use of it.
class EngineExchangeState final : public http::ExchangeState
{
public:
    std::shared_ptr<const RoutingSnapshot> snapshot;
    Host* host = nullptr;
    Context* context = nullptr;
    const ServletMapping* mapping = nullptr;
    std::string_view decodedUri;
    std::string decodedStorage;
    mapper::ServletMatch match;
    /// An isolated Context's request on its way through a worker process (loop thread only).
    RemoteExchange* forwarded = nullptr;
    /// Set by the Context's HeadCheck for a body it takes as it arrives (the manager's upload).
    std::unique_ptr<http::BodyConsumer> bodyConsumer;
    /// The compression between an async response and the connector (Engine::startAsync).
    std::shared_ptr<compression::CompressingAsyncResponse> compressing;
    /// The compression of a body the servlet streams with flush() (in-process apps).
    compression::StreamingCompressor streaming;
    /// A finished response held until the session's writes are durable (holdResponse()).
    std::shared_ptr<ResponseHold> hold;
    /// startAsync() ran: the response leaves through the AsyncResponse, never held.
    bool asyncStarted = false;

    ~EngineExchangeState() override { reset(); }

    void releaseContext() noexcept
    {
        if (context != nullptr) context->leaveRequest();
        context = nullptr;
        mapping = nullptr;
    }
    void reset() noexcept override
    {
        if (forwarded != nullptr) { // before the Context's pin: it owns the worker processes
            forwarded->ended();
            forwarded = nullptr;
        }
        releaseContext();
        bodyConsumer.reset();
        if (hold) hold->ended();
        hold.reset();
        asyncStarted = false;
        compressing.reset();
        streaming.release();
        host = nullptr;
        decodedUri = {};
        snapshot.reset();
    }
};

EngineExchangeState& stateOf(http::HttpExchange& exchange)
{
    if (!exchange.state) exchange.state = std::make_unique<EngineExchangeState>();
    return static_cast<EngineExchangeState&>(*exchange.state);
}

/// As service() returns (Engine::service, its thread): an async response gets what service()
/// left; a buffered one is compressed in place. A forwarded exchange's response is not here yet.
void finishResponse(http::HttpExchange& exchange, EngineExchangeState& st) noexcept
{
    if (st.compressing) {
        st.compressing->serviceReturned(exchange.response);
        return;
    }
    if (st.forwarded != nullptr) return;
    if (exchange.response.isCommitted())
        st.streaming.finish(exchange.response);
    else
        compression::compressBuffered(exchange);
}

uint64_t monotonicNanos() noexcept
{
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

/// Snapshot generations come from one process-wide counter, so a value never names snapshots
/// of two Engines (tests create several, possibly at the same address).
std::atomic<uint64_t> g_nextGeneration{1};

/// Per request thread: the last snapshot this thread routed with, by generation. A weak_ptr,
/// so an idle thread never keeps a replaced snapshot (and its Contexts and app libraries)
/// alive; the Engine's own reference keeps the current one.
struct SnapshotCache
{
    const void* engine = nullptr;
    uint64_t generation = 0;
    std::weak_ptr<const RoutingSnapshot> snapshot;
};
thread_local SnapshotCache t_snapshotCache;

/// True if the raw path needs no decoding and no normalisation: no '%', no "//", no "." or
/// ".." segment, no backslash or NUL. The common case, handled without allocating.
bool isPlainPath(std::string_view path) noexcept
{
    if (path.empty() || path.front() != '/') return false;
    for (size_t i = 0; i < path.size(); ++i) {
        char c = path[i];
        if (c == '%' || c == '\\' || c == '\0') return false;
        if (c == '/' && i + 1 < path.size()) {
            char n = path[i + 1];
            if (n == '/') return false;
            if (n == '.') {
                size_t end = path.find('/', i + 1);
                std::string_view segment =
                    path.substr(i + 1, end == std::string_view::npos ? std::string_view::npos : end - i - 1);
                if (segment == "." || segment == "..") return false;
            }
        }
    }
    return true;
}

/// Decodes and normalises the raw request path: `out` views `raw` itself when it is plain, else
/// `storage`. Returns 0 or the status to answer (400) with `why` set.
int decodePath(std::string_view raw, std::string& storage, std::string_view& out, const char*& why)
{
    if (isPlainPath(raw)) {
        out = raw;
        return 0;
    }
    // An encoded '/' or '\' would let a path segment smuggle a separator past the mapper.
    for (size_t i = 0; i + 2 < raw.size(); ++i) {
        if (raw[i] == '%' && raw[i + 1] == '2' && (raw[i + 2] == 'f' || raw[i + 2] == 'F')) {
            why = "The request path holds an encoded slash (%2F).";
            return 400;
        }
        if (raw[i] == '%' && raw[i + 1] == '5' && (raw[i + 2] == 'c' || raw[i + 2] == 'C')) {
            why = "The request path holds an encoded backslash (%5C).";
            return 400;
        }
    }
    auto decoded = util::percentDecode(raw);
    if (!decoded) {
        why = "The request path holds a malformed %-escape.";
        return 400;
    }
    if (decoded->find('\0') != std::string::npos || decoded->find('\\') != std::string::npos) {
        why = "The request path holds a NUL or backslash.";
        return 400;
    }
    if (decoded->empty() || decoded->front() != '/') {
        why = "The request path must start with '/'.";
        return 400;
    }
    auto normalized = util::normalizeUriPath(*decoded);
    if (!normalized) {
        why = "The request path climbs above the root.";
        return 400;
    }
    storage = std::move(*normalized);
    out = storage;
    return 0;
}

/// Answers at the head, without reading a body: the Connector sends exchange.response as the
/// caller left it.
http::HeadDecision answerAtHead(int status) noexcept
{
    http::HeadDecision decision;
    decision.rejectStatus = status;
    return decision;
}

/// Answers at the head with the container's error page for `status`.
http::HeadDecision reject(http::HttpExchange& exchange, int status, std::string_view message)
{
    writeErrorPage(exchange.response, status, message);
    return answerAtHead(status);
}

} // namespace

Engine::Engine(std::string defaultHost, ContextServices services)
    : _defaultHost(std::move(defaultHost)), _services(std::move(services))
{
    std::atomic_store(&_snapshot,
                      std::shared_ptr<const RoutingSnapshot>(std::make_shared<RoutingSnapshot>()));
    _generation.store(g_nextGeneration.fetch_add(1), std::memory_order_release);
}

Engine::~Engine()
{
    stop();
}

void Engine::addHost(std::shared_ptr<Host> host)
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        host->attach(this);
        _hosts.push_back(host);
    }
    if (isStarted()) host->start();
    routingChanged();
}

std::shared_ptr<Host> Engine::findHost(std::string_view name) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    for (const auto& h : _hosts) {
        if (util::equalsIgnoreCase(h->name(), name)) return h;
        for (const auto& a : h->aliases()) {
            if (util::equalsIgnoreCase(a, name)) return h;
        }
    }
    return nullptr;
}

std::shared_ptr<Host> Engine::defaultHost() const
{
    auto host = findHost(_defaultHost);
    if (host) return host;
    std::lock_guard<std::mutex> lock(_mutex);
    return _hosts.empty() ? nullptr : _hosts.front();
}

std::vector<std::shared_ptr<Host>> Engine::hosts() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _hosts;
}

void Engine::routingChanged()
{
    std::lock_guard<std::mutex> lock(_mutex);
    auto snapshot = std::make_shared<RoutingSnapshot>();
    std::optional<size_t> defaultIndex;
    for (size_t i = 0; i < _hosts.size(); ++i) {
        const auto& host = _hosts[i];
        RoutingSnapshot::HostRoute route;
        route.host = host;
        route.contexts = host->contexts();
        for (size_t j = 0; j < route.contexts.size(); ++j)
            route.mapper.add(route.contexts[j]->path(), j);
        snapshot->hosts.push_back(std::move(route));
        snapshot->hostMapper.add(host->name(), i);
        for (const auto& alias : host->aliases())
            snapshot->hostMapper.add(alias, i);
        if (util::equalsIgnoreCase(host->name(), _defaultHost)) defaultIndex = i;
    }
    if (!defaultIndex && !_hosts.empty()) defaultIndex = 0; // config validation prevents this
    if (defaultIndex) snapshot->hostMapper.setDefault(*defaultIndex);
    std::atomic_store(&_snapshot, std::shared_ptr<const RoutingSnapshot>(std::move(snapshot)));
    _generation.store(g_nextGeneration.fetch_add(1), std::memory_order_release);
}

std::shared_ptr<const RoutingSnapshot> Engine::currentSnapshot() const
{
    // std::atomic_load on a shared_ptr takes a mutex from libstdc++'s lock pool, shared by all
    // threads, on every request. Instead each thread remembers the snapshot it last used and
    // its generation; while the generation is unchanged, pinning it is one atomic increment
    // (weak_ptr::lock). A snapshot published between the load and the lock is seen at the
    // next request, as if this one had arrived a moment earlier.
    const uint64_t generation = _generation.load(std::memory_order_acquire);
    SnapshotCache& cache = t_snapshotCache;
    if (cache.engine == this && cache.generation == generation) {
        if (auto pinned = cache.snapshot.lock()) return pinned;
    }
    auto current = std::atomic_load(&_snapshot);
    cache.engine = this;
    cache.generation = generation;
    cache.snapshot = current;
    return current;
}

void Engine::startInternal()
{
    for (const auto& host : hosts())
        host->start();
    routingChanged();
}

void Engine::stopInternal() noexcept
{
    auto all = hosts();
    for (auto it = all.rbegin(); it != all.rend(); ++it)
        (*it)->stop();
}

// ---- the request path ------------------------------------------------------------------------------

http::HeadDecision Engine::onHead(http::HttpExchange& exchange) noexcept
{
    try {
        EngineExchangeState& st = stateOf(exchange);
        st.reset();
        const http::HttpRequest& request = exchange.request;

        // A request may load the snapshot just before a deploy swaps it and count itself into
        // the replaced Context just after that Context began to stop (the deployer saw it
        // drained). Then the new snapshot, published before the stop, has the replacement:
        // route again. Only a Context that is not started in the current snapshot gets 503.
        Context* context = nullptr;
        for (int attempt = 0;; ++attempt) {
            // A retry must see the latest publish: the per-thread cache may lag it briefly.
            st.snapshot = attempt == 0 ? currentSnapshot() : std::atomic_load(&_snapshot);
            auto hostIndex = st.snapshot->hostMapper.map(request.host());
            if (!hostIndex) return reject(exchange, 404, "No host is configured.");
            const RoutingSnapshot::HostRoute& route = st.snapshot->hosts[*hostIndex];
            st.host = route.host.get();

            if (attempt == 0) {
                if (request.path == "*") { // OPTIONS * (the Connector admits "*" for OPTIONS only)
                    exchange.response.setStatus(200);
                    exchange.response.setHeader("Allow", "GET, HEAD, POST, PUT, DELETE, OPTIONS");
                    return answerAtHead(200);
                }
                const char* why = "";
                if (int status = decodePath(request.path, st.decodedStorage, st.decodedUri, why))
                    return reject(exchange, status, why);
            }

            auto contextIndex = route.mapper.map(st.decodedUri);
            if (!contextIndex) return reject(exchange, 404, "Nothing is deployed at this path.");
            context = route.contexts[*contextIndex].get();
            // Count first, then check the state: stop() flips the state, then waits for zero.
            context->enterRequest();
            st.context = context;
            if (context->isStarted()) break;
            st.releaseContext();
            if (attempt == 2 || std::atomic_load(&_snapshot) == st.snapshot) {
                return reject(exchange, 503,
                              "The application at " + context->displayPath() + " is not running.");
            }
        }
        if (!context->path().empty() && st.decodedUri.size() == context->path().size() &&
            context->spec().redirectContextRoot) {
            // "/docs" -> "/docs/": relative links in the app's pages resolve against the slash.
            st.releaseContext();
            exchange.response.setStatus(302);
            std::string location = request.path + "/";
            if (!request.query.empty()) location.append("?").append(request.query);
            exchange.response.setHeader("Location", location);
            return answerAtHead(302);
        }
        std::string_view pathInContext = st.decodedUri.substr(context->path().size());
        st.mapping = &context->map(pathInContext, st.match);

        http::HeadDecision decision;
        decision.maxBodySize = context->maxBodySize();
        // A forwarded request goes to the app's worker process from the I/O thread (it never
        // blocks there: the exchange is suspended until the worker answers on the same loop),
        // never through a lane: the worker's own threads are the isolated app's bound.
        if (context->forwards(*st.mapping) || context->canServeInline(*st.mapping)) {
            decision.dispatch = http::Dispatch::Inline;
        } else {
            decision.dispatch = http::Dispatch::Worker;
            decision.lane = context->dispatchLane(); // its share of the pool, or the admin pool
        }
        // A refusal keeps the request counted in the Context: complete() follows it and records it.
        if (HeadCheck* check = context->headCheck()) {
            check->checkHead(*context, exchange, decision, st.bodyConsumer);
            if (decision.rejectStatus == 0) decision.bodyConsumer = st.bodyConsumer.get();
        }
        return decision;
    } catch (...) {
        // Allocation failure or a bug: answer rather than take the I/O thread down.
        if (exchange.state) exchange.state->reset();
        http::HeadDecision decision;
        decision.rejectStatus = 500;
        return decision;
    }
}

void Engine::service(http::HttpExchange& exchange) noexcept
{
    try {
        auto* st = static_cast<EngineExchangeState*>(exchange.state.get());
        if (st == nullptr || st->context == nullptr) {
            writeErrorPage(exchange.response, 500, "The request was not routed.");
            return;
        }
        Context& context = *st->context;
        if (context.forwards(*st->mapping)) {
            // Its own reference: the Context may be stopping on another thread right now.
            std::shared_ptr<RemoteApplication> remote = context.remote();
            if (!remote) {
                writeErrorPage(exchange.response, 503, "The application is stopping.");
                return;
            }
            st->forwarded = remote->forward(exchange);
            finishResponse(exchange, *st);
            return;
        }
        Request request(exchange, context);
        request.setMapping(st->decodedUri, context.path(), st->match, *st->mapping);
        request.setBodyConsumer(st->bodyConsumer.get());
        Response response(exchange);
        request.setResponse(response);
        if (exchange.compression != nullptr &&
            exchange.compression->mode != http::CompressionSettings::Mode::Off) {
            st->streaming.arm(exchange);
            exchange.response.setBodyEncoder(&st->streaming);
        }
        context.service(request, response);
        finishResponse(exchange, *st);
        // Last: a session commit that already failed may turn the held response into its 503.
        if (st->hold) st->hold->serviceReturned();
    } catch (...) {
        // The one last-resort catch per request: app failures arrive as statuses, so this is
        // std::bad_alloc or a bug in container code: say which, so it can be found.
        std::string what = "an exception that is not a std::exception";
        try {
            throw;
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
        }
        LOG_ERROR("engine", "unexpected failure while serving " + exchange.request.target +
                                "; answered 500 (" + what + ")");
        auto* st = static_cast<EngineExchangeState*>(exchange.state.get());
        if (st != nullptr && st->compressing) {
            st->compressing->serviceReturned(exchange.response);
        } else if (!exchange.response.isCommitted()) {
            writeErrorPage(exchange.response, 500, "");
        } else {
            exchange.response.setCloseConnection(true);
        }
        // A held response goes out (the 500) when its commit releases it.
        if (st != nullptr && st->hold) st->hold->serviceReturned();
    }
}

std::shared_ptr<http::AsyncResponse> Engine::startAsync(http::HttpExchange& exchange)
{
    std::shared_ptr<http::AsyncResponse> inner = exchange.control->startAsync();
    auto* st = dynamic_cast<EngineExchangeState*>(exchange.state.get());
    if (st != nullptr) st->asyncStarted = true;
    const http::CompressionSettings* settings = exchange.compression;
    if (st == nullptr || settings == nullptr || settings->mode == http::CompressionSettings::Mode::Off)
        return inner;
    if (st->compressing) return st->compressing; // startAsync() twice: the same handle
    // Also for a client that accepts no coding: the response still needs its Vary, and the
    // app's opt-out marker must not reach the wire.
    compression::RequestTraits traits = compression::requestTraits(exchange.request);
    st->compressing =
        std::make_shared<compression::CompressingAsyncResponse>(std::move(inner), settings, traits);
    return st->compressing;
}

std::shared_ptr<http::AsyncResponse> Engine::startAsyncAfterService(http::HttpExchange& exchange)
{
    std::shared_ptr<http::AsyncResponse> async = startAsync(exchange);
    // What Engine::service does as service() returns, now that the compression exists.
    if (auto* st = dynamic_cast<EngineExchangeState*>(exchange.state.get())) finishResponse(exchange, *st);
    return async;
}

std::shared_ptr<ResponseHold> Engine::holdResponse(http::HttpExchange& exchange)
{
    auto* st = dynamic_cast<EngineExchangeState*>(exchange.state.get());
    if (st == nullptr || exchange.control == nullptr || exchange.loop == nullptr) return nullptr;
    // One hold per exchange (a second commit waits on its thread); an async response streams.
    if (st->hold || st->asyncStarted) return nullptr;
    st->hold =
        std::make_shared<ResponseHold>(exchange, *exchange.loop, exchange.control->resumesFromAnyThread());
    exchange.control->suspend();
    return st->hold;
}

void Engine::complete(http::HttpExchange& exchange, uint64_t bytesSent) noexcept
{
    auto* st = static_cast<EngineExchangeState*>(exchange.state.get());
    if (st == nullptr) return;
    try {
        if (st->host != nullptr && st->host->accessLog()) st->host->accessLog()(exchange, bytesSent);
    } catch (...) {
        // The access log must never fail a request.
    }
    if (st->context != nullptr) {
        uint64_t latency = exchange.startNanos != 0 ? monotonicNanos() - exchange.startNanos : 0;
        st->context->recordCompletion(exchange.response.status(), latency);
    }
    // Release the pins now: an idle keep-alive connection must not keep a replaced app loaded.
    st->reset();
}

} // namespace serval::core
