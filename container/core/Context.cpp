#include "core/Context.h"

#include "core/CodeDeclarations.h"
#include "core/ErrorPage.h"
#include "util/CrashHandler.h"
#include "util/Path.h"
#include "util/Strings.h"

#include <algorithm>
#include <chrono>
#include <dirent.h>
#include <stdexcept>
#include <thread>

namespace serval::core {
namespace {

/// How long stop() waits for in-flight requests before tearing the app down anyway.
constexpr auto kStopDrainLimit = std::chrono::seconds(30);
/// How long stop() waits for the app's WebSockets to close (their own close timeout is 5 s by
/// default), and again after cutting those that did not.
constexpr auto kWebSocketCloseWait = std::chrono::seconds(10);

/// WEB-INF/lib/*.so of a docBase, sorted, so load order is stable.
std::vector<std::string> libraries(const std::string& docBase)
{
    std::vector<std::string> out;
    std::string dir = docBase + "/WEB-INF/lib";
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return out;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name.size() > 3 && util::endsWith(name, ".so") && name[0] != '.') out.push_back(dir + "/" + name);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace

Context::Context(ContextSpec spec, ContextServices services)
    : _spec(std::move(spec)), _label(displayPath()), _services(std::move(services)), _webXml(_spec.webXml),
      _lane(_spec.maxThreads, _spec.maxQueue)
{}

Context::~Context()
{
    stop();
}

void Context::addServlet(std::string name, std::unique_ptr<Servlet> servlet,
                         std::vector<std::string> patterns, std::map<std::string, std::string> initParams)
{
    auto wrapper = std::make_unique<Wrapper>(std::move(name), "(container)", std::move(servlet),
                                             std::move(initParams), std::optional<int>(0));
    _containerServlets.push_back(ContainerServlet{std::move(wrapper), std::move(patterns)});
}

void Context::addFilter(std::string name, std::unique_ptr<Filter> filter, std::vector<std::string> patterns)
{
    FilterHolder holder;
    holder.config.name = std::move(name);
    holder.config.className = "(container)";
    holder.filter = std::move(filter);
    _containerFilters.push_back(std::move(holder));
    _containerFilterPatterns.push_back(std::move(patterns));
}

// ---- start / stop ----------------------------------------------------------------------------------

void Context::loadModules()
{
    for (const std::string& lib : _spec.appLibraries ? *_spec.appLibraries : libraries(_spec.docBase)) {
        if (!_services.appLoader) {
            throw std::runtime_error("cannot load " + lib + ": this server has no application loader");
        }
        std::string error;
        std::shared_ptr<AppModule> module = _services.appLoader(lib, _spec.name, error);
        if (!module) throw std::runtime_error(error.empty() ? "cannot load " + lib : error);
        _modules.push_back(std::move(module));
    }
}

std::unique_ptr<Servlet> Context::createServlet(const std::string& className, std::string& error)
{
    for (const auto& module : _modules) {
        if (auto servlet = module->createServlet(className, error)) return servlet;
    }
    if (_modules.empty()) error = "no library in WEB-INF/lib provides servlet class \"" + className + "\"";
    return nullptr;
}

void Context::buildMapping()
{
    _mapper = mapper::ServletMapper();
    _allWrappers.clear();
    _mappings.clear();
    std::string error;
    auto addPatterns = [&](Wrapper* wrapper, const std::vector<std::string>& patterns,
                           const std::string& where) {
        _allWrappers.push_back(wrapper);
        for (const std::string& pattern : patterns) {
            if (!_mapper.add(pattern, _mappings.size(), error)) throw std::runtime_error(where + error);
            wrapper->addPattern(pattern);
            ServletMapping mapping;
            mapping.wrapper = wrapper;
            mapping.pattern = pattern;
            _mappings.push_back(std::move(mapping));
        }
    };
    for (auto& cs : _containerServlets)
        addPatterns(cs.wrapper.get(), cs.patterns, "");

    Wrapper* defaultWrapper = nullptr;
    for (auto& w : _wrappers) {
        if (w->isDefaultServlet()) defaultWrapper = w.get();
    }
    for (auto& w : _wrappers) {
        std::vector<std::string> patterns;
        for (const config::ServletMappingDef& m : _webXml.servletMappings) {
            if (m.servletName == w->name())
                patterns.insert(patterns.end(), m.urlPatterns.begin(), m.urlPatterns.end());
        }
        if (w.get() == defaultWrapper && !_mapper.has("/") &&
            std::find(patterns.begin(), patterns.end(), "/") == patterns.end()) {
            patterns.push_back("/"); // the static fallback, unless web.xml maps "/" elsewhere
        }
        addPatterns(w.get(), patterns, _webXml.source + ": ");
    }
    for (const config::ServletMappingDef& m : _webXml.servletMappings) {
        bool known = false;
        for (Wrapper* w : _allWrappers)
            known = known || w->name() == m.servletName;
        if (!known) {
            throw std::runtime_error(_webXml.source + ":" + std::to_string(m.line) + ": servlet \"" +
                                     m.servletName + "\" is mapped but not available");
        }
    }
}

void Context::startInternal()
{
    auto note = util::CrashNote::activity(_label, "starting"); // app code runs from here on
    if (!_spec.dataDir.empty() && !util::makeDirectories(_spec.dataDir)) {
        throw std::runtime_error("cannot create the app's data directory " + _spec.dataDir +
                                 "; check that data/ is writable");
    }
    if (isolated()) {
        // The app's code runs in worker processes: the server builds the same mapping with
        // stand-ins, so it can tell what it serves itself from what it forwards.
        if (!_services.remoteApplication) {
            throw std::runtime_error("cannot run " + displayPath() +
                                     " in worker processes: this server has no process manager; set "
                                     "isolation=\"none\" on its <Context>");
        }
        // The workers start first: what their libraries declare in code decides this mapping
        // as it decides theirs. A later failure stops them again (stopInternal).
        std::shared_ptr<RemoteApplication> remote = _services.remoteApplication(*this);
        std::atomic_store(&_remote, remote); // before start(): a failed start stops it again
        remote->start(); // throws the reason: the deploy fails, the old version keeps serving
        _modules.push_back(RemoteApplication::standIns(remote->declarations()));
    } else {
        loadModules();
    }
    _codeDeclarations = core::codeDeclarations(_modules);
    _webXml = mergeCodeDeclarations(_codeDeclarations, _spec.webXml);
    const config::WebAppConfig& web = _webXml;
    std::string error;

    for (const std::string& className : web.listeners) {
        std::unique_ptr<Listener> listener;
        for (const auto& module : _modules) {
            if ((listener = module->createListener(className, error))) break;
        }
        if (!listener) {
            throw std::runtime_error(!error.empty() ? error
                                                    : "no library in WEB-INF/lib provides listener class \"" +
                                                          className + "\"");
        }
        _listeners.push_back(std::move(listener));
    }

    for (const config::FilterDef& def : web.filters) {
        std::unique_ptr<Filter> filter;
        for (const auto& module : _modules) {
            if ((filter = module->createFilter(def.className, error))) break;
        }
        if (!filter) {
            throw std::runtime_error(!error.empty() ? error
                                                    : "no library in WEB-INF/lib provides filter class \"" +
                                                          def.className + "\"");
        }
        FilterHolder holder;
        holder.config.name = def.name;
        holder.config.className = def.className;
        holder.config.initParams = def.initParams;
        holder.filter = std::move(filter);
        _filters.push_back(std::move(holder));
    }

    for (const config::ServletDef& def : web.servlets) {
        std::unique_ptr<Servlet> servlet = createServlet(def.className, error);
        if (!servlet) throw std::runtime_error(error);
        auto wrapper = std::make_unique<Wrapper>(def.name, def.className, std::move(servlet), def.initParams,
                                                 def.loadOnStartup);
        if (def.multipart) {
            MultipartLimits limits;
            limits.maxFileSize = def.multipart->maxFileSize;
            limits.maxRequestSize = def.multipart->maxRequestSize;
            wrapper->setMultipartLimits(limits);
        }
        _wrappers.push_back(std::move(wrapper));
    }
    bool defaultDeclared =
        std::any_of(_wrappers.begin(), _wrappers.end(), [](const auto& w) { return w->name() == "default"; });
    if (_services.defaultServlet && !defaultDeclared) {
        if (std::unique_ptr<Servlet> servlet = _services.defaultServlet(*this)) {
            auto wrapper =
                std::make_unique<Wrapper>("default", "serval.DefaultServlet", std::move(servlet),
                                          std::map<std::string, std::string>{}, std::optional<int>(0));
            wrapper->markDefaultServlet();
            _wrappers.push_back(std::move(wrapper));
        }
    }
    buildMapping();

    // Filter maps: container filters first (outermost), then web.xml <filter-mapping> order.
    _filterMaps.clear();
    for (size_t i = 0; i < _containerFilters.size(); ++i) {
        FilterMap map;
        map.filter = _containerFilters[i].filter.get();
        map.urlPatterns = _containerFilterPatterns[i];
        _filterMaps.push_back(std::move(map));
    }
    for (const config::FilterMappingDef& m : web.filterMappings) {
        FilterMap map;
        for (FilterHolder& h : _filters) {
            if (h.config.name == m.filterName) map.filter = h.filter.get();
        }
        if (map.filter == nullptr) {
            throw std::runtime_error(web.source + ":" + std::to_string(m.line) + ": filter \"" +
                                     m.filterName + "\" is mapped but not declared");
        }
        map.urlPatterns = m.urlPatterns;
        map.servletNames = m.servletNames;
        map.onRequest = m.onRequest;
        map.onError = m.onError;
        _filterMaps.push_back(std::move(map));
    }
    // Each servlet mapping's chains, once: requests then test only what their path decides.
    _unmapped = ServletMapping();
    _unmapped.pattern = "/";
    auto buildChains = [&](ServletMapping& mapping) {
        mapping.requestFilters =
            buildFilterChain(_filterMaps, DispatcherType::Request, mapping.wrapper, mapping.pattern);
        mapping.errorFilters =
            buildFilterChain(_filterMaps, DispatcherType::Error, mapping.wrapper, mapping.pattern);
    };
    for (ServletMapping& mapping : _mappings)
        buildChains(mapping);
    buildChains(_unmapped);

    auto dispatch = web.contextParams.find(kInlineDispatchParam);
    _inlineApp = dispatch != web.contextParams.end() && dispatch->second == "inline";
    if (dispatch != web.contextParams.end() && dispatch->second != "inline" && dispatch->second != "worker") {
        throw std::runtime_error(web.source + ": context-param " + kInlineDispatchParam + " is \"" +
                                 dispatch->second + "\"; use \"inline\" or \"worker\"");
    }
    if (_inlineApp && isolated()) {
        LOG_INFO(source(), std::string(kInlineDispatchParam) +
                               "=inline applies in-process only; the app runs in "
                               "worker processes");
        _inlineApp = false;
    } else if (_inlineApp) {
        LOG_INFO(source(), "app code runs on the I/O threads (serval.dispatch=inline)");
    }

    // Error pages are "inline safe" only if each is a static file (the DefaultServlet).
    _inlineErrorPages = true;
    for (const auto& [status, location] : web.errorPages) {
        mapper::ServletMatch match;
        const Wrapper* w = map(location, match).wrapper;
        if (w == nullptr || !w->isDefaultServlet()) _inlineErrorPages = false;
    }

    // Servlet spec order: context listeners, then filters, then servlets by load-on-startup
    // (ascending; the rest after them in declaration order: Serval initialises every servlet
    // at start, so the first request never pays for it and a failing init fails the deploy).
    for (auto& listener : _listeners)
        listener->contextInitialized(*this);
    for (auto* holders : {&_containerFilters, &_filters}) {
        for (FilterHolder& h : *holders) {
            h.config.context = this;
            h.filter->init(h.config);
            h.initialized = true;
        }
    }
    std::vector<Wrapper*> order(_allWrappers.begin(), _allWrappers.end());
    std::stable_sort(order.begin(), order.end(), [](const Wrapper* a, const Wrapper* b) {
        int ka = a->loadOnStartup() && *a->loadOnStartup() >= 0 ? *a->loadOnStartup() : INT32_MAX;
        int kb = b->loadOnStartup() && *b->loadOnStartup() >= 0 ? *b->loadOnStartup() : INT32_MAX;
        return ka < kb;
    });
    for (Wrapper* w : order) {
        try {
            w->init(*this);
        } catch (const std::exception& e) {
            throw std::runtime_error("servlet \"" + w->name() + "\" failed to initialise: " + e.what());
        }
    }
    // Sessions belong to host + path: a new version of this app finds the old one's sessions.
    if (_services.sessions) _sessionAccess = _services.sessions(*this);
    for (const auto& module : _modules)
        module->contextStarted(*this);
    _modulesStarted = true;
    LOG_INFO(source(), "started (" + std::to_string(_allWrappers.size()) + " servlets, " +
                           std::to_string(_filterMaps.size()) + " filter mappings) from " + _spec.docBase);
}

void Context::stopInternal() noexcept
{
    auto note = util::CrashNote::activity(_label, "stopping");
    // Requests routed here before the state changed are allowed to finish.
    auto deadline = std::chrono::steady_clock::now() + kStopDrainLimit;
    while (inFlight() > 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (inFlight() > 0)
        LOG_WARN(source(), "stopping with " + std::to_string(inFlight()) + " requests still running");
    // The workers drain, run the app's on_destroy and exit. Swapped out first: a request still
    // running past the drain limit above (or an admin thread reading status()) holds its own
    // copy, so the object outlives it; a request forwarded from now on is answered 503.
    if (auto remote = std::atomic_exchange(&_remote, std::shared_ptr<RemoteApplication>())) remote->stop();

    // No expired-session notice may reach the listeners once they start going away. A request
    // still running past the drain limit keeps the SessionAccess alive through its handle.
    if (_sessionAccess) {
        _sessionAccess->close();
        _sessionAccess.reset();
    }

    closeWebSockets();

    if (_modulesStarted) {
        for (const auto& module : _modules)
            module->contextStopping(*this);
        _modulesStarted = false;
    }
    for (auto it = _allWrappers.rbegin(); it != _allWrappers.rend(); ++it)
        (*it)->destroy();
    for (auto* holders : {&_filters, &_containerFilters}) {
        for (auto it = holders->rbegin(); it != holders->rend(); ++it) {
            if (it->initialized) it->filter->destroy();
            it->initialized = false;
        }
    }
    for (auto it = _listeners.rbegin(); it != _listeners.rend(); ++it) {
        try {
            (*it)->contextDestroyed(*this);
        } catch (...) {
        }
    }
    _mapper = mapper::ServletMapper();
    _allWrappers.clear();
    _mappings.clear();
    _unmapped = ServletMapping();
    _filterMaps.clear();
    _wrappers.clear();
    _filters.clear();
    _listeners.clear();
    for (auto& cs : _containerServlets)
        cs.wrapper->clearPatterns(); // mapped again at the next start
    if (_webSockets->size() > 0) keepModulesMapped();
    _modules.clear(); // last: the code of everything above lives in these libraries
}

void Context::closeWebSockets() noexcept
{
    if (_webSockets->size() == 0) return;
    // Tomcat's WsServerContainer on undeploy: a close 1001 to every open WebSocket. Each
    // session waits closeTimeout (5 s by default) for the client's answer, then closes anyway;
    // its endpoint (the app's code) is destroyed with it, and the registry hears of that.
    const size_t open = _webSockets->size();
    try {
        _webSockets->goAway("the application is stopping");
        if (_webSockets->waitEmpty(std::chrono::steady_clock::now() + kWebSocketCloseWait)) {
            LOG_INFO(source(), "closed " + std::to_string(open) +
                                   " WebSocket(s) with 1001 (the application is stopping)");
            return;
        }
        LOG_WARN(source(), std::to_string(_webSockets->size()) +
                               " WebSocket(s) did not finish their close handshake in time; cutting them");
        _webSockets->abortAll();
        if (_webSockets->waitEmpty(std::chrono::steady_clock::now() + kWebSocketCloseWait)) return;
    } catch (const std::exception&) { // out of memory posting the closes: the wait below decides
    }
    LOG_ERROR(source(), std::to_string(_webSockets->size()) +
                            " WebSocket(s) still open after being cut (a loop thread is stuck); the app's "
                            "code stays loaded until the server exits");
}

void Context::keepModulesMapped() noexcept
{
    // Leaked on purpose: unloading would leave those sessions calling unmapped code.
    static std::mutex mutex;
    static auto* kept = new std::vector<std::shared_ptr<AppModule>>();
    std::lock_guard<std::mutex> lock(mutex);
    for (auto& module : _modules)
        kept->push_back(std::move(module));
}

// ---- request path ------------------------------------------------------------------------------------

const ServletMapping& Context::map(std::string_view pathInContext, mapper::ServletMatch& match) const noexcept
{
    if (!_mapper.map(pathInContext, match)) {
        match.path = pathInContext.empty() ? std::string_view("/") : pathInContext;
        match.servletPath = match.path;
        match.pathInfo.reset();
        return _unmapped;
    }
    return _mappings[match.target];
}

bool Context::isStaticOnly(const ServletMapping& mapping) const noexcept
{
    return mapping.wrapper != nullptr && mapping.wrapper->isDefaultServlet() && _filterMaps.empty() &&
           _listeners.empty() && _inlineErrorPages;
}

bool Context::canServeInline(const ServletMapping& mapping) const noexcept
{
    return _inlineApp || isStaticOnly(mapping);
}

ServiceStatus Context::runChain(Request& request, Response& response, DispatcherType type)
{
    const ServletMapping& mapping = *request.mapping();
    Wrapper* wrapper = mapping.wrapper;
    FilterChain chain(mapping.filters(type), request.pathInContext(),
                      wrapper != nullptr ? &wrapper->servlet() : nullptr);
    ServiceStatus status = chain.doFilter(request, response);
    if (!status.ok()) return status;
    if (wrapper == nullptr && !response.isError() && !response.isCommitted() &&
        response.http().body().empty() && !response.http().fileBody()) {
        response.sendError(404); // no servlet, and no filter answered
    }
    return status;
}

void Context::service(Request& request, Response& response)
{
    // A request the Engine admitted while this Context was Started is served even if stop()
    // began since: stop() waits for it (inFlight) before destroying anything. Answering 503
    // here instead failed requests that raced a redeploy.
    LifecycleState current = state();
    if (current != LifecycleState::Started && current != LifecycleState::Stopping) {
        writeErrorPage(response.http(), 503, "The application at " + displayPath() + " is not running.");
        return;
    }
    // A fatal signal while app code runs names this app and request in the crash report.
    auto note = util::CrashNote::request(_label, request.method(), request.http().target,
                                         request.http().versionMinor);
    ServiceStatus status;
    const char* stage = "listener";
    for (auto& listener : _listeners) {
        status = listener->requestInitialized(request);
        if (!status.ok()) break;
    }
    if (status.ok()) {
        stage = "servlet";
        status = runChain(request, response, DispatcherType::Request);
    }
    // A failure because the session store is down is the store's: finishSession() answers 503
    // and logs it (once a second), not one line per request here.
    bool storeDown = request.sessionStatus() == HttpSession::Status::Unavailable;
    if (!status.ok() && !storeDown) {
        LOG_ERROR(source(), std::string(stage) + " \"" +
                                (request.wrapper() ? request.wrapper()->name() : "?") +
                                "\" threw: " + status.reason() + " (" + std::string(request.method()) + " " +
                                std::string(request.requestUri()) + "); answered 500");
        if (!response.sendError(500)) response.http().setCloseConnection(true);
    }
    if (response.isError()) renderError(request, response);
    for (auto it = _listeners.rbegin(); it != _listeners.rend(); ++it)
        (*it)->requestDestroyed(request);
    finishSession(request, response);
}

void Context::finishSession(Request& request, Response& response)
{
    HttpSession* session = request.openedSession();
    if (session == nullptr) return;
    // The promise: a write the app made is durable before the client sees the response. The
    // finished response is held for the commit (this thread goes back to its pool).
    bool ok = request.sessionStatus() != HttpSession::Status::Unavailable;
    if (ok) {
        ok = response.commitSession(true);
    } else {
        response.sendSessionUnavailable();
    }
    if (!ok) warnSessionStoreFailure(request.method(), request.requestUri(), session->error());
}

void Context::warnSessionStoreFailure(std::string_view method, std::string_view uri,
                                      std::string_view error) noexcept
{
    // One line per second at most: when the store is down every request says the same.
    int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count();
    int64_t last = _lastSessionWarning.load(std::memory_order_relaxed);
    if (now - last >= 1000 && _lastSessionWarning.compare_exchange_strong(last, now)) {
        try {
            LOG_WARN(source(), "answered 503 (" + std::string(method) + " " + std::string(uri) +
                                   "): the session store failed: " + std::string(error));
        } catch (...) { // out of memory for one log line
        }
    }
}

void Context::sessionCreated(HttpSession& session) noexcept
{
    for (auto& listener : _listeners)
        listener->sessionCreated(session);
}

void Context::sessionDestroyed(HttpSession& session) noexcept
{
    for (auto it = _listeners.rbegin(); it != _listeners.rend(); ++it)
        (*it)->sessionDestroyed(session);
}

void Context::renderError(Request& request, Response& response)
{
    int status = response.status();
    std::string message = response.errorMessage();
    response.clearError();
    // One ERROR dispatch per request: an error the error page itself raises gets the plain page.
    if (request.dispatcherType() == DispatcherType::Error || response.isCommitted()) {
        if (!response.isCommitted()) writeErrorPage(request.http(), response.http(), status, message, true);
        return;
    }
    request.setAttribute("javax.servlet.error.status_code", std::to_string(status));
    request.setAttribute("javax.servlet.error.message", message);
    request.setAttribute("javax.servlet.error.request_uri", request.requestUri());
    if (request.wrapper() != nullptr) {
        request.setAttribute("javax.servlet.error.servlet_name", request.wrapper()->name());
    }
    request.setDispatcherType(DispatcherType::Error);

    auto page = _webXml.errorPages.find(status);
    mapper::ServletMatch match;
    const ServletMapping* target = page != _webXml.errorPages.end() ? &map(page->second, match) : nullptr;
    ServiceStatus rendered;
    if (target != nullptr && target->wrapper != nullptr) {
        // The app's <error-page>, through that path's ERROR filter chain.
        request.setMapping(request.keepDispatchUri(_spec.path + page->second), _spec.path, match, *target);
        response.http().resetBuffer();
        rendered = runChain(request, response, DispatcherType::Error);
        if (rendered.ok() && !response.isError()) {
            if (!response.isCommitted()) response.setStatus(status); // the page, with the original status
            return;
        }
    } else if (!request.mapping()->errorFilters.empty()) {
        // The container's page as the end of an ERROR dispatch of the request's own mapping, so
        // the filters mapped with <dispatcher>ERROR</dispatcher> (security headers, say) run
        // around it as they run around an <error-page> (Tomcat's ERROR dispatch).
        ErrorReportServlet report(status, message);
        FilterChain chain(request.mapping()->errorFilters, request.pathInContext(), &report);
        rendered = chain.doFilter(request, response);
        if (rendered.ok() && !response.isError()) return;
    }
    if (!rendered.ok()) {
        LOG_ERROR(source(), "error page for " + std::to_string(status) + " threw: " + rendered.reason());
    }
    response.clearError();
    if (response.isCommitted()) return;
    writeErrorPage(request.http(), response.http(), status, message, true);
}

void Context::recordCompletion(int status, uint64_t latencyNanos) noexcept
{
    _requests.fetch_add(1, std::memory_order_relaxed);
    if (status >= 500) _errors5xx.fetch_add(1, std::memory_order_relaxed);
    if (status >= 100 && status <= 599) _byClass[status / 100 - 1].fetch_add(1, std::memory_order_relaxed);
    _latency.record(latencyNanos);
}

ContextStats Context::stats() const noexcept
{
    ContextStats s;
    s.requests = _requests.load(std::memory_order_relaxed);
    s.errors5xx = _errors5xx.load(std::memory_order_relaxed);
    s.inFlight = inFlight();
    s.p50Micros = _latency.percentileMicros(0.50);
    s.p99Micros = _latency.percentileMicros(0.99);
    for (size_t i = 0; i < _byClass.size(); ++i)
        s.byClass[i] = _byClass[i].load(std::memory_order_relaxed);
    s.laneRunning = _lane.running();
    s.laneQueued = _lane.queued();
    s.laneRejected = _lane.rejected();
    return s;
}

// ---- introspection -----------------------------------------------------------------------------------

std::vector<const Wrapper*> Context::wrappers() const
{
    return std::vector<const Wrapper*>(_allWrappers.begin(), _allWrappers.end());
}

std::vector<std::string> Context::filterNames() const
{
    std::vector<std::string> out;
    for (const auto& h : _containerFilters)
        out.push_back(h.config.name);
    for (const auto& h : _filters)
        out.push_back(h.config.name);
    return out;
}

std::vector<std::string> Context::moduleDescriptions() const
{
    std::vector<std::string> out;
    for (const auto& m : _modules)
        out.push_back(m->describe());
    return out;
}

bool Context::libraryStayedMapped() const noexcept
{
    for (const auto& m : _modules) {
        if (m->stayedMapped()) return true;
    }
    return false;
}

// ---- ServletContext ----------------------------------------------------------------------------------

const std::string& Context::displayName() const noexcept
{
    return _webXml.displayName;
}

const std::string* Context::initParameter(std::string_view name) const noexcept
{
    auto it = _webXml.contextParams.find(std::string(name));
    return it == _webXml.contextParams.end() ? nullptr : &it->second;
}

bool Context::attribute(std::string_view name, std::string& value) const
{
    std::lock_guard<std::mutex> lock(_attributesMutex);
    auto it = _attributes.find(name);
    if (it == _attributes.end()) return false;
    value = it->second;
    return true;
}

void Context::setAttribute(std::string_view name, std::string_view value)
{
    std::lock_guard<std::mutex> lock(_attributesMutex);
    _attributes[std::string(name)] = std::string(value);
}

void Context::removeAttribute(std::string_view name)
{
    std::lock_guard<std::mutex> lock(_attributesMutex);
    auto it = _attributes.find(name);
    if (it != _attributes.end()) _attributes.erase(it);
}

std::string Context::realPath(std::string_view path) const
{
    auto normalized = util::normalizeUriPath(path);
    if (!normalized) return {};
    return util::joinPath(_spec.docBase, *normalized);
}

void Context::log(util::LogLevel level, std::string_view message) const noexcept
{
    util::Log::write(level, source(), message);
}

} // namespace serval::core
