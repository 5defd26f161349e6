#pragma once

// The container-side servlet model (Servlet spec vocabulary). Application code reaches these
// through the C ABI adapters in container/app; the DefaultServlet and the manager implement
// them directly.

#include "config/WebAppConfig.h"
#include "core/ServiceStatus.h"
#include "util/Log.h"

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace serval::core {

class ContextResources;
class Request;
class Response;
class FilterChain;
class HttpSession;

/// Why a request reaches a servlet: sent by the client, or an error page the Context renders.
enum class DispatcherType
{
    Request,
    Error
};

/// What a servlet, filter or listener sees of its web application (javax.servlet.ServletContext).
/// Implemented by Context. THREADS: all methods are safe from any thread.
class ServletContext
{
public:
    virtual ~ServletContext() = default;
    virtual const std::string& contextPath() const noexcept = 0; ///< "" for ROOT, "/shop"
    virtual const std::string& displayName() const noexcept = 0;
    /// <context-param> value, or nullptr.
    virtual const std::string* initParameter(std::string_view name) const noexcept = 0;
    virtual const std::map<std::string, std::string>& initParameters() const noexcept = 0;
    /// Application-scope attributes (string values). Thread-safe.
    virtual bool attribute(std::string_view name, std::string& value) const = 0;
    virtual void setAttribute(std::string_view name, std::string_view value) = 0;
    virtual void removeAttribute(std::string_view name) = 0;
    /// File system path for a resource path ("/index.html") inside the docBase, or "" if it
    /// would leave the docBase.
    virtual std::string realPath(std::string_view path) const = 0;
    /// Writes one line to the server log, tagged with this app.
    virtual void log(util::LogLevel level, std::string_view message) const noexcept = 0;
    /// The resources the container bound to this app (data sources), or nullptr.
    virtual ContextResources* resources() const noexcept { return nullptr; }
    /// data/<host>/<app>: the app's own directory, shared by its versions and kept across
    /// redeploys; "" when the container gives it none (container endpoints, unit tests).
    virtual std::string_view dataDirectory() const noexcept { return {}; }
    /// The server's secret (data/serval.key), which the host keys the app's signatures with
    /// (never handed to app code); "" when there is none (the host then uses a per-process one).
    virtual std::string_view signingSecret() const noexcept { return {}; }
};

/// <servlet> or <filter> configuration: name plus init params.
struct ComponentConfig
{
    std::string name;
    std::string className;
    std::map<std::string, std::string> initParams;
    ServletContext* context = nullptr;
};
using ServletConfig = ComponentConfig;
using FilterConfig = ComponentConfig;

/// A servlet. init() and destroy() run on a control thread; service() on any request thread,
/// concurrently. A failed service() returns its reason: the Context answers 500 and logs it.
class Servlet
{
public:
    virtual ~Servlet() = default;
    /// Throws (std::exception) to refuse to start: the Context records the reason and fails.
    virtual void init(const ServletConfig& config) { (void)config; }
    virtual ServiceStatus service(Request& request, Response& response) = 0;
    virtual void destroy() noexcept {}
};

/// A filter around the servlet, in web.xml order.
class Filter
{
public:
    virtual ~Filter() = default;
    virtual void init(const FilterConfig& config) { (void)config; }
    /// Returns chain.doFilter(request, response) to continue, or answers and returns ok. A
    /// failure further down the chain is the filter's to pass on (or to handle).
    virtual ServiceStatus doFilter(Request& request, Response& response, FilterChain& chain) = 0;
    virtual void destroy() noexcept {}
};

/// <listener>: context lifecycle and per-request events. Default implementations do nothing.
class Listener
{
public:
    virtual ~Listener() = default;
    virtual void contextInitialized(ServletContext& context) { (void)context; }
    virtual void contextDestroyed(ServletContext& context) noexcept { (void)context; }
    /// A failure ends the request with a 500 before any filter or servlet runs.
    virtual ServiceStatus requestInitialized(Request& request)
    {
        (void)request;
        return {};
    }
    virtual void requestDestroyed(Request& request) noexcept { (void)request; }
    /// HttpSessionListener: a request created `session` (on its thread), or the session is about
    /// to end: invalidated by a request (its thread, attributes still readable) or expired (the
    /// sweep's thread; the view has the id and times, no attributes). Concurrent, like requests.
    virtual void sessionCreated(HttpSession& session) noexcept { (void)session; }
    virtual void sessionDestroyed(HttpSession& session) noexcept { (void)session; }
};

/// Application code loaded for one Context (Tomcat's Loader + WebappClassLoader): creates the
/// servlets, filters and listeners that web.xml names by class. Implemented by container/app
/// for shared libraries loaded through the C ABI.
///
/// LIFETIME: the Context holds the module in a shared_ptr declared before every servlet,
/// filter and listener it created, so they are all destroyed before the library is unloaded.
class AppModule
{
public:
    virtual ~AppModule() = default;
    /// Each returns nullptr and sets `error` to one actionable sentence if the class is unknown
    /// or its constructor failed.
    virtual std::unique_ptr<Servlet> createServlet(const std::string& className, std::string& error) = 0;
    virtual std::unique_ptr<Filter> createFilter(const std::string& className, std::string& error) = 0;
    virtual std::unique_ptr<Listener> createListener(const std::string& className, std::string& error) = 0;
    /// What the library declares in code (Servlet 3.0's annotations; SERVAL_APP's registry with
    /// url-patterns): servlets with their mappings, filters with theirs, listeners, as web.xml
    /// would say them. The Context merges them under its web.xml (mergeCodeDeclarations).
    virtual config::WebAppConfig declarations() const { return {}; }
    /// Called once after the Context started (all servlets initialised) and once before it stops.
    virtual void contextStarted(ServletContext& context) { (void)context; }
    virtual void contextStopping(ServletContext& context) noexcept { (void)context; }
    /// Description for the admin page: "libshop.so (ABI 1.0)".
    virtual std::string describe() const { return {}; }
    /// True if dlclose() left the library mapped (reported in the admin page).
    virtual bool stayedMapped() const noexcept { return false; }
};

} // namespace serval::core
