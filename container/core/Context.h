#pragma once

#include "config/ServerConfig.h"
#include "config/WebAppConfig.h"
#include "connector/websocket/SessionRegistry.h"
#include "core/ContextLane.h"
#include "core/ContextResources.h"
#include "core/FilterChain.h"
#include "core/HeadCheck.h"
#include "core/Lifecycle.h"
#include "core/RemoteApplication.h"
#include "core/Request.h"
#include "core/Response.h"
#include "core/Servlet.h"
#include "core/SessionAccess.h"
#include "core/Wrapper.h"
#include "mapper/ServletMapper.h"
#include "util/LatencyHistogram.h"

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace serval::core {

class Context;

/// Loads one WEB-INF/lib/*.so for a Context (implemented by container/app). Returns nullptr
/// and sets `error` to one actionable sentence on refusal. Called on a control thread.
using AppLoader = std::function<std::shared_ptr<AppModule>(
    const std::string& libPath, const std::string& contextName, std::string& error)>;
/// Creates the DefaultServlet (static files) for a Context (container/servlets, wired by
/// startup so core does not depend on servlets). nullptr = no static fallback.
using DefaultServletFactory = std::function<std::unique_ptr<Servlet>(const Context& context)>;

/// What the container injects into every Context it builds. Copyable; shared by Engine,
/// deployer and admin (Engine::services()).
struct ContextServices
{
    AppLoader appLoader;
    DefaultServletFactory defaultServlet;
    /// For Contexts with isolation Process: where their code runs (container/process). A
    /// Context asked to isolate without it fails to start.
    RemoteApplicationFactory remoteApplication;
    SessionAccessFactory sessions; ///< empty: the Context has no sessions
    /// The server's secret (startup reads or creates data/serval.key): what signatures the host
    /// makes for apps (context_sign) are keyed with, so they hold across restarts and versions.
    std::string signingSecret;
};

/// Everything needed to build one Context.
struct ContextSpec
{
    std::string host; ///< the Host it is deployed on ("" for container Contexts and tests); sessions belong
                      ///< to host + path
    std::string name; ///< the appBase entry: "ROOT", "shop", "a#b" (without ".sar" / "##version")
    std::string path; ///< context path: "" for ROOT, "/shop", "/a/b"
    std::string version;         ///< "" or the part after "##" ("2")
    std::string docBase;         ///< absolute directory holding the static files and WEB-INF/
    config::WebAppConfig webXml; ///< already merged over conf/web.xml (config::mergeWebXml)
    /// The app libraries to load through the ABI (absolute paths; the deployer names the one of a
    /// bundle, whose helpers come with it). nullopt: every WEB-INF/lib/*.so of the docBase.
    std::optional<std::vector<std::string>> appLibraries;
    /// data/<host>/<app> (absolute), created at start: the app's own directory, kept across
    /// versions (ServletContext), where its embedded databases live too; "" for none (container
    /// endpoints such as the manager, unit tests).
    std::string dataDir;
    uint64_t maxBodySize = 10ull * 1024 * 1024; ///< request bodies above this get 413
    /// Its data sources (core::ContextResources); nullptr when it has none.
    std::shared_ptr<ContextResources> resources;
    /// "/shop" -> 302 "/shop/" (Tomcat's default). False for container endpoints that are a
    /// single URL, such as /metrics (Prometheus scrapes it without a slash).
    bool redirectContextRoot = true;
    /// Where the app's code runs. Process: the Context maps requests and serves static files
    /// the app does not filter; the rest goes to its RemoteApplication. The deployer picks it
    /// from server.xml (Process only for apps with code); None is today's in-process mode.
    config::Isolation isolation = config::Isolation::None;
    /// The <Context> settings (processes, timeouts, limits), resolved against the Host's.
    config::ContextConfig settings;
    /// At most this many of its requests run on the shared worker pool at once (server.xml
    /// <Context maxThreads>; 0: half the pool, at least 1), so it cannot starve another app.
    uint32_t maxThreads = 0;
    /// Requests beyond maxThreads wait in this app's queue up to this many; more get 503 with
    /// Retry-After (<Context maxQueue>; by default no bound but the Connector's maxConnections).
    uint32_t maxQueue = ContextLane::kDefaultMaxQueue;
};

/// Counters for the admin page and /metrics (a consistent-enough snapshot of atomics).
struct ContextStats
{
    uint64_t requests = 0;
    uint64_t errors5xx = 0;
    int64_t inFlight = 0;
    uint64_t p50Micros = 0;
    uint64_t p99Micros = 0;
    /// Completed requests by status class: [0] 1xx, [1] 2xx, [2] 3xx, [3] 4xx, [4] 5xx.
    uint64_t byClass[5] = {0, 0, 0, 0, 0};
    /// Its dispatch lane: requests on workers now, waiting for one, refused with 503.
    uint32_t laneRunning = 0;
    uint32_t laneQueued = 0;
    uint64_t laneRejected = 0;
};

/// One deployed web application at one context path (Tomcat's StandardContext): owns its
/// application code (AppModules), servlets (Wrappers), filters, listeners, and runs the
/// per-request pipeline: request listeners -> filter chain -> servlet -> error page.
///
/// OWNERSHIP: held by shared_ptr: by its Host (routing) and by every routing snapshot a
/// request has pinned, so a replaced Context lives until its last request completes.
/// THREADS: start()/stop()/add*() on control threads; map(), service(), counters and the
/// ServletContext methods from any request thread, without locks (attributes use a mutex).
class Context : public ServletContext, public Lifecycle
{
public:
    Context(ContextSpec spec, ContextServices services);
    ~Context() override;
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

    const std::string& name() const noexcept { return _spec.name; }
    const std::string& path() const noexcept { return _spec.path; }
    const std::string& version() const noexcept { return _spec.version; }
    const std::string& docBase() const noexcept { return _spec.docBase; }
    /// What the Context runs: the spec's web.xml (merged over conf/web.xml) with the servlets,
    /// filters and listeners the app's libraries declare in code merged under it at start
    /// (web.xml wins: mergeCodeDeclarations). Before the first start, the spec's web.xml.
    const config::WebAppConfig& webXml() const noexcept { return _webXml; }
    /// What the app's libraries declare in code (core::codeDeclarations), as of the last start:
    /// a worker process reports it to the server (process::ReadyMessage). Started only.
    const config::WebAppConfig& codeDeclarations() const noexcept { return _codeDeclarations; }
    const ContextSpec& spec() const noexcept { return _spec; }
    uint64_t maxBodySize() const noexcept { return _spec.maxBodySize; }
    /// "/shop" or "/" for ROOT: for log lines and pages.
    std::string displayPath() const { return _spec.path.empty() ? std::string("/") : _spec.path; }

    /// Container-provided servlet (the admin page). Call before start(); kept across restarts.
    /// The patterns follow web.xml rules; a web.xml servlet of the same name is refused.
    void addServlet(std::string name, std::unique_ptr<Servlet> servlet, std::vector<std::string> patterns,
                    std::map<std::string, std::string> initParams = {});
    /// Container-provided filter, runs before the web.xml filters for REQUEST dispatches
    /// matching `patterns`. Call before start(); kept across restarts.
    void addFilter(std::string name, std::unique_ptr<Filter> filter, std::vector<std::string> patterns);

    /// Decides on request heads before their bodies are read (container Contexts: the manager).
    /// Call before start(); kept across restarts.
    void setHeadCheck(std::shared_ptr<HeadCheck> check) { _headCheck = std::move(check); }

    // ---- request path (Engine) --------------------------------------------------------------

    /// The head check, or nullptr (apps): the Engine asks it on the I/O thread for every request
    /// routed here.
    HeadCheck* headCheck() const noexcept { return _headCheck.get(); }

    /// Maps a decoded, normalised path within the context ("/a/b"): the servlet mapping that
    /// matches, or one with no wrapper (and the filters that may still apply) if none does.
    /// `match` views into `pathInContext`. Only valid while Started (the caller holds an
    /// inFlight count).
    const ServletMapping& map(std::string_view pathInContext, mapper::ServletMatch& match) const noexcept;
    /// True if a request with this mapping can be served on the I/O thread: the DefaultServlet,
    /// with no filters, no request listeners and only static error pages; or anything, when
    /// the app declared that its code never blocks (context-param kInlineDispatchParam).
    bool canServeInline(const ServletMapping& mapping) const noexcept;
    /// True if a request with this mapping goes to the app's worker processes (isolation
    /// Process, and not a static file the server serves itself). Engine::service then calls
    /// remote()->forward() on the I/O thread. Reads only what start() fixed, never _remote.
    bool forwards(const ServletMapping& mapping) const noexcept
    {
        return isolated() && !isStaticOnly(mapping);
    }
    /// The worker processes of an isolated Context: nullptr in-process, before start() and
    /// once stop() began. Any thread; the copy keeps the object alive while the caller uses it
    /// (stopInternal() swaps the pointer out on the control thread while I/O threads forward
    /// and admin threads read status(): neither may see it destroyed under them).
    std::shared_ptr<RemoteApplication> remote() const noexcept { return std::atomic_load(&_remote); }
    bool isolated() const noexcept { return _spec.isolation == config::Isolation::Process; }

    /// web.xml context-param by which an app asks for its servlets, filters and listeners to
    /// run on the I/O thread (value "inline"; default "worker"). It saves the hand-off to a
    /// worker thread and back (two context switches per request), at a price: while app code
    /// runs, nothing else on that I/O thread's connections moves, and a streamed response is
    /// buffered rather than written with backpressure. Only for code that never blocks.
    static constexpr const char* kInlineDispatchParam = "serval.dispatch";
    /// The Context's sessions (nullptr when it has none); valid while Started.
    SessionAccess* sessionAccess() const noexcept { return _sessionAccess.get(); }
    /// Its open WebSockets (the app's endpoints run in them): stop() closes them with 1001 and
    /// waits until none is left before the app's code goes; a draining worker closes them first
    /// (WorkerService). Any thread.
    const std::shared_ptr<websocket::SessionRegistry>& webSockets() const noexcept { return _webSockets; }
    /// HttpSessionListener events (Request, and the session room for expired sessions).
    void sessionCreated(HttpSession& session) noexcept;
    void sessionDestroyed(HttpSession& session) noexcept;
    /// A request answered 503 because the session store failed: one log line per second at
    /// most. The request's thread, or the loop thread releasing its held response.
    void warnSessionStoreFailure(std::string_view method, std::string_view uri,
                                 std::string_view error) noexcept;
    /// Where its requests for a worker thread run (HeadDecision::lane): its own ContextLane,
    /// or the lane useDispatchLane() gave it. Any thread, while the caller pins the Context.
    http::DispatchLane* dispatchLane() noexcept { return _dispatchLane; }
    /// Container endpoints (the manager, /metrics): run on `lane` (the admin pool, which no app
    /// can take) instead of a share of the app pool. Before start(); `lane` outlives this.
    void useDispatchLane(http::DispatchLane& lane) noexcept { _dispatchLane = &lane; }
    const ContextLane& ownLane() const noexcept { return _lane; }

    /// Runs the pipeline for a mapped request. A failure a listener, filter or servlet returns
    /// becomes a 500 and one log line; only a bug or std::bad_alloc throws (Engine::service
    /// holds the last-resort catch).
    void service(Request& request, Response& response);

    /// In-flight accounting: the Engine enters when it routes a request here (before checking
    /// the state) and leaves when the exchange completes. stop() waits for zero.
    void enterRequest() noexcept { _inFlight.fetch_add(1, std::memory_order_seq_cst); }
    void leaveRequest() noexcept { _inFlight.fetch_sub(1, std::memory_order_seq_cst); }
    int64_t inFlight() const noexcept { return _inFlight.load(std::memory_order_seq_cst); }
    /// Called by the Engine once per completed request.
    void recordCompletion(int status, uint64_t latencyNanos) noexcept;
    ContextStats stats() const noexcept;
    const util::LatencyHistogram& latency() const noexcept { return _latency; }

    // ---- introspection (admin page) -------------------------------------------------------------

    std::vector<const Wrapper*> wrappers() const;
    std::vector<std::string> filterNames() const;
    std::vector<std::string> moduleDescriptions() const;
    bool libraryStayedMapped() const noexcept;

    // ---- ServletContext -----------------------------------------------------------------------

    const std::string& contextPath() const noexcept override { return _spec.path; }
    const std::string& displayName() const noexcept override;
    const std::string* initParameter(std::string_view name) const noexcept override;
    const std::map<std::string, std::string>& initParameters() const noexcept override
    {
        return _webXml.contextParams;
    }
    bool attribute(std::string_view name, std::string& value) const override;
    void setAttribute(std::string_view name, std::string_view value) override;
    void removeAttribute(std::string_view name) override;
    std::string realPath(std::string_view path) const override;
    void log(util::LogLevel level, std::string_view message) const noexcept override;
    std::string_view dataDirectory() const noexcept override { return _spec.dataDir; }
    std::string_view signingSecret() const noexcept override { return _services.signingSecret; }
    ContextResources* resources() const noexcept override { return _spec.resources.get(); }

protected:
    void startInternal() override;
    void stopInternal() noexcept override;
    std::string lifecycleName() const override { return "context " + displayPath(); }

private:
    struct FilterHolder
    {
        FilterConfig config;
        std::unique_ptr<Filter> filter;
        bool initialized = false;
    };
    struct ContainerServlet
    {
        std::unique_ptr<Wrapper> wrapper;
        std::vector<std::string> patterns;
    };

    void loadModules();
    /// The DefaultServlet with no app code around it (filters, listeners, app error pages).
    bool isStaticOnly(const ServletMapping& mapping) const noexcept;
    std::unique_ptr<Servlet> createServlet(const std::string& className, std::string& error);
    void buildMapping();
    ServiceStatus runChain(Request& request, Response& response, DispatcherType type);
    void renderError(Request& request, Response& response);
    /// Before the head leaves: the session's writes durable, or 503 when the store failed.
    void finishSession(Request& request, Response& response);
    std::string source() const { return "app:" + displayPath(); }

    // Declared first so it is destroyed last: every servlet, filter and listener below points
    // into the libraries these modules keep loaded.
    std::vector<std::shared_ptr<AppModule>> _modules;

    ContextSpec _spec;
    std::string _label; ///< displayPath(), kept: crash notes (util/CrashHandler.h) view it
    ContextServices _services;
    config::WebAppConfig _webXml; ///< webXml(): recomputed by each start
    config::WebAppConfig _codeDeclarations;

    std::vector<ContainerServlet> _containerServlets; ///< addServlet(): survive stop/start
    std::vector<FilterHolder> _containerFilters;      ///< addFilter(): survive stop/start
    std::vector<std::vector<std::string>> _containerFilterPatterns;

    std::vector<std::unique_ptr<Wrapper>> _wrappers; ///< from web.xml + the DefaultServlet
    std::vector<Wrapper*> _allWrappers;              ///< both kinds, in mapping order
    std::vector<ServletMapping> _mappings;           ///< ServletMapper targets: one per url-pattern
    ServletMapping _unmapped;                        ///< what map() returns when no pattern matches
    std::vector<FilterHolder> _filters;              ///< from web.xml
    std::vector<FilterMap> _filterMaps;              ///< container filters first, then web.xml order
    std::vector<std::unique_ptr<Listener>> _listeners;
    std::shared_ptr<SessionAccess> _sessionAccess; ///< from startInternal() to stopInternal()
    std::shared_ptr<websocket::SessionRegistry> _webSockets = std::make_shared<websocket::SessionRegistry>();
    /// Code that could not be unloaded because a WebSocket of the app's outlived every wait
    /// (a loop thread that does not run): kept mapped until the process exits.
    void keepModulesMapped() noexcept;
    /// stopInternal(): 1001 to the open WebSockets, then waits for them (cuts the late ones).
    void closeWebSockets() noexcept;
    std::atomic<int64_t> _lastSessionWarning{0}; ///< steady ms of the last 503 log line
    std::shared_ptr<HeadCheck> _headCheck;       ///< setHeadCheck(): survives stop/start
    mapper::ServletMapper _mapper;
    bool _inlineErrorPages = true;
    bool _inlineApp = false; ///< kInlineDispatchParam = "inline"
    bool _modulesStarted = false;
    /// Isolated: its worker processes. After the modules (the stand-ins), so it goes first.
    std::shared_ptr<RemoteApplication> _remote; ///< std::atomic_load/store only: remote()

    ContextLane _lane;                          ///< from spec maxThreads / maxQueue
    http::DispatchLane* _dispatchLane = &_lane; ///< _lane, or useDispatchLane()'s

    std::atomic<int64_t> _inFlight{0};
    std::atomic<uint64_t> _requests{0};
    std::atomic<uint64_t> _errors5xx{0};
    std::array<std::atomic<uint64_t>, 5> _byClass{}; ///< 1xx..5xx (for /metrics)
    util::LatencyHistogram _latency;

    mutable std::mutex _attributesMutex;
    std::map<std::string, std::string, std::less<>> _attributes;
};

} // namespace serval::core
