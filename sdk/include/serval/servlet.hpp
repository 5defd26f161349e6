// serval/servlet.hpp: the Serval SDK for C++17 apps (header-only).
//
//   #include <serval/servlet.hpp>
//
//   class Hello : public serval::HttpServlet {
//   public:
//       void doGet(serval::Request& request, serval::Response& response) override {
//           response.setContentType("text/plain");
//           response.write("Hello, World!");
//       }
//   };
//
//   SERVAL_APP("hello") {
//       app.servlet<Hello>("hello", {"/hello"});   // mapped in code: no web.xml needed
//   }
//
// Code declares servlets, filters and listeners with their url-patterns (like Servlet 3.0's
// annotations); WEB-INF/web.xml, when there is one, overrides what code declares. A class
// registered by name only (app.servlet<Hello>("hello.Hello")) is offered to web.xml's
// <servlet-class>, as in ABI 1.0. The body's parameter is named both `app` and `registry`.
//
// Build it with find_package(Serval CONFIG) and serval_add_bundle() (hidden visibility, only the
// entry symbol exported).
//
// THREADS: apps are called concurrently on many threads, exactly like Java servlets. One servlet
// or filter instance serves many requests AT THE SAME TIME: service()/doGet()/doFilter() and the
// request listener hooks must be thread-safe (no unsynchronised mutable members). init() and
// destroy() run on a control thread, never concurrently with requests.
//
// EXCEPTIONS: every hook runs inside a catch-all barrier. An exception escaping doGet() (or any
// hook) becomes a status code; the container answers 500 and logs one line naming the app, the
// servlet and the exception's message. No exception ever crosses into the container.
//
// STATIC STATE: nothing here has a static constructor. Registration runs when the container
// initialises the app (SERVAL_APP's body), not at dlopen time.
#pragma once

#include "serval/abi.h"
#include "serval/db.hpp"
#include "serval/http.hpp"

#include <cstdint>
#include <exception>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace serval {

class FilterChain;
class Registry;

/// Thrown by FilterChain::doFilter when something later in the chain failed. The container
/// already has that failure's message; letting this propagate fails the request closed.
class ChainFailed : public Error
{
public:
    explicit ChainFailed(serval_status_t status) : Error(status, "a later filter or the servlet failed") {}
};

/// Base class for servlets (javax.servlet.http.HttpServlet).
///
/// service() dispatches by method. The doXxx defaults answer 405 with an Allow header listing
/// what the concrete class implements; OPTIONS answers 200 with that Allow header; HEAD runs
/// doGet() and the container sends the headers (with the GET's Content-Length) without the body.
class HttpServlet
{
public:
    virtual ~HttpServlet() = default;

    /// Control thread, once, before any request. Throw to refuse to start.
    virtual void init(ServletConfig& config) { (void)config; }
    /// Control thread, once, after the last request.
    virtual void destroy() {}

    /// Request threads, concurrently.
    virtual void service(Request& request, Response& response)
    {
        std::string_view method = request.method();
        if (method == "GET") {
            doGet(request, response);
        } else if (method == "HEAD") {
            doHead(request, response);
        } else if (method == "POST") {
            doPost(request, response);
        } else if (method == "PUT") {
            doPut(request, response);
        } else if (method == "DELETE") {
            doDelete(request, response);
        } else if (method == "OPTIONS") {
            doOptions(request, response);
        } else if (method == "TRACE") {
            methodNotAllowed(response);
        } else {
            response.setStatus(501);
            response.setContentType("text/plain; charset=utf-8");
            response.write("Method not implemented\n");
        }
    }

    virtual void doGet(Request& request, Response& response) { notAllowed(request, response); }
    /// Runs doGet(); the container drops the body bytes of a HEAD response, keeping its length.
    virtual void doHead(Request& request, Response& response) { doGet(request, response); }
    virtual void doPost(Request& request, Response& response) { notAllowed(request, response); }
    virtual void doPut(Request& request, Response& response) { notAllowed(request, response); }
    virtual void doDelete(Request& request, Response& response) { notAllowed(request, response); }
    virtual void doOptions(Request& request, Response& response)
    {
        (void)request;
        response.setHeader("Allow", allow());
        response.setStatus(200);
    }

    /// Methods the class implements, as an Allow header value ("GET, HEAD, OPTIONS").
    std::string allow() const
    {
        const char* const names[] = {"GET", "HEAD",   "POST",
                                     "PUT", "DELETE", "OPTIONS"}; // no static: see SERVAL_HIDDEN
        std::string value;
        for (unsigned i = 0; i < 6; ++i) {
            if ((_allowMask & (1u << i)) == 0) continue;
            if (!value.empty()) value += ", ";
            value += names[i];
        }
        return value;
    }

protected:
    void methodNotAllowed(Response& response)
    {
        response.setStatus(405);
        response.setHeader("Allow", allow());
        response.setContentType("text/plain; charset=utf-8");
        response.write("Method not allowed\n");
    }

private:
    friend class Registry;
    void notAllowed(Request& request, Response& response)
    {
        (void)request;
        methodNotAllowed(response);
    }

    unsigned _allowMask = 1u << 5; ///< bit i = names[i] in allow(); set by the Registry
};

/// The rest of the chain for one request (javax.servlet.FilterChain).
class FilterChain
{
public:
    explicit FilterChain(serval_chain_t* handle) noexcept : _handle(handle) {}
    /// Runs the next filter or the servlet. Throws ChainFailed if that failed.
    void doFilter(Request& request, Response& response)
    {
        response.syncStream();
        serval_status_t status = detail::host().chain_do_filter(_handle, request.handle(), response.handle());
        if (status != SERVAL_OK) throw ChainFailed(status);
    }

private:
    serval_chain_t* _handle;
};

/// Base class for filters (javax.servlet.Filter). doFilter runs on request threads, concurrently.
class Filter
{
public:
    virtual ~Filter() = default;
    virtual void init(FilterConfig& config) { (void)config; }
    virtual void doFilter(Request& request, Response& response, FilterChain& chain) = 0;
    virtual void destroy() {}
};

/// Base class for listeners: context lifecycle (control thread) and request events (request
/// threads, concurrently). Override what you need.
class Listener
{
public:
    virtual ~Listener() = default;
    virtual void contextInitialized(ServletContext& context) { (void)context; }
    virtual void contextDestroyed(ServletContext& context) { (void)context; }
    virtual void requestInitialized(Request& request) { (void)request; }
    virtual void requestDestroyed(Request& request) { (void)request; }
};

/// javax.servlet.http.HttpSessionListener (ABI 1.2): a Listener that also gets session events.
/// sessionCreated runs on the request that created the session; sessionDestroyed on the request
/// that invalidates it, or on the host's sweep thread when it expired (then only id() is known).
/// Concurrently, like request events. Registered with Registry::listener<T>() like any Listener.
class HttpSessionListener : public Listener
{
public:
    virtual void sessionCreated(Session& session) { (void)session; }
    virtual void sessionDestroyed(Session& session) { (void)session; }
};

namespace detail {

/// The catch-all barrier around every hook: no exception crosses the C ABI.
template <typename F> serval_status_t barrier(F&& body) noexcept
{
    try {
        body();
        return SERVAL_OK;
    } catch (const ChainFailed& e) {
        return e.status() == SERVAL_OK ? SERVAL_ERROR : e.status(); // the host has the message
    } catch (const std::exception& e) {
        const char* what = e.what();
        host().set_error(serval_str_t{what, std::strlen(what)});
    } catch (...) {
        const char unknown[] = "unknown exception (not derived from std::exception)";
        host().set_error(serval_str_t{unknown, sizeof unknown - 1});
    }
    return SERVAL_ERROR;
}

inline serval_str_t literal(const std::string& s) noexcept
{
    return serval_str_t{s.data(), s.size()};
}

template <typename T> unsigned allowMask()
{
    using Method = void (HttpServlet::*)(Request&, Response&);
    unsigned mask = 1u << 5; // OPTIONS
    if (!std::is_same_v<decltype(&T::doGet), Method>) mask |= (1u << 0) | (1u << 1);
    if (!std::is_same_v<decltype(&T::doHead), Method>) mask |= 1u << 1;
    if (!std::is_same_v<decltype(&T::doPost), Method>) mask |= 1u << 2;
    if (!std::is_same_v<decltype(&T::doPut), Method>) mask |= 1u << 3;
    if (!std::is_same_v<decltype(&T::doDelete), Method>) mask |= 1u << 4;
    return mask;
}

/// Strings the class structs point at (url-patterns, servlet names), owned by their entry.
struct StringList
{
    std::vector<std::string> strings;
    std::vector<serval_str_t> views;

    void assign(std::initializer_list<std::string_view> list)
    {
        strings.assign(list.begin(), list.end());
        views.clear();
        for (const std::string& s : strings)
            views.push_back(serval_str_t{s.data(), s.size()});
    }
};

struct ServletEntry
{
    serval_servlet_class_t abi{};
    std::string name;
    HttpServlet* (*create)() = nullptr;
    unsigned allowMask = 0;
    StringList patterns;
};
struct FilterEntry
{
    serval_filter_class_t abi{};
    std::string name;
    Filter* (*create)() = nullptr;
    StringList patterns;
};
struct ListenerEntry
{
    serval_listener_class_t abi{};
    std::string name;
    Listener* (*create)() = nullptr;
};

template <typename Abi> void stamp(Abi& abi) noexcept
{
    abi.struct_size = sizeof(Abi);
    abi.abi_major = SERVAL_ABI_MAJOR;
    abi.abi_minor = SERVAL_ABI_MINOR;
}

// Servlet hooks.
inline serval_status_t servletInit(void* instance, serval_config_t* config)
{
    return barrier([&] {
        Config view(config);
        static_cast<HttpServlet*>(instance)->init(view);
    });
}
/// Runs a request hook; an HttpError it throws becomes sendError(status, message) (rethrown,
/// so a 500 and a log line, if the response is already committed).
template <typename F> void answeringHttpErrors(Response& response, F&& body)
{
    try {
        body();
    } catch (const HttpError& e) {
        if (!response.sendError(e.httpStatus(), e.what())) throw;
    }
    response.syncStream();
}

inline serval_status_t servletService(void* instance, serval_request_t* request, serval_response_t* response)
{
    return barrier([&] {
        Request req(request);
        Response resp(response);
        answeringHttpErrors(resp, [&] {
            try {
                static_cast<HttpServlet*>(instance)->service(req, resp);
            } catch (const DbError& e) {
                // The database is not there right now (no free connection, or none at all): tell
                // the client to come back (503 + Retry-After) rather than blame the app (500).
                if (!e.unavailable() || resp.isCommitted()) throw;
                req.context().log(e.what(), SERVAL_LOG_WARN);
                resp.sendError(503);
                resp.setHeader("Retry-After", "1");
            }
        });
    });
}
inline serval_status_t servletDestroy(void* instance)
{
    std::unique_ptr<HttpServlet> owned(static_cast<HttpServlet*>(instance));
    return barrier([&] { owned->destroy(); });
}

// Filter hooks.
inline serval_status_t filterCreate(void* classData, void** out)
{
    return barrier([&] { *out = static_cast<FilterEntry*>(classData)->create(); });
}
inline serval_status_t filterInit(void* instance, serval_config_t* config)
{
    return barrier([&] {
        Config view(config);
        static_cast<Filter*>(instance)->init(view);
    });
}
inline serval_status_t filterDo(void* instance, serval_request_t* request, serval_response_t* response,
                                serval_chain_t* chain)
{
    return barrier([&] {
        Request req(request);
        Response resp(response);
        FilterChain next(chain);
        answeringHttpErrors(resp, [&] { static_cast<Filter*>(instance)->doFilter(req, resp, next); });
    });
}
inline serval_status_t filterDestroy(void* instance)
{
    std::unique_ptr<Filter> owned(static_cast<Filter*>(instance));
    return barrier([&] { owned->destroy(); });
}

// Listener hooks.
inline serval_status_t listenerCreate(void* classData, void** out)
{
    return barrier([&] { *out = static_cast<ListenerEntry*>(classData)->create(); });
}
inline serval_status_t listenerContextInitialized(void* instance, serval_context_t* context)
{
    return barrier([&] {
        ServletContext view(context);
        static_cast<Listener*>(instance)->contextInitialized(view);
    });
}
inline serval_status_t listenerContextDestroyed(void* instance, serval_context_t* context)
{
    return barrier([&] {
        ServletContext view(context);
        static_cast<Listener*>(instance)->contextDestroyed(view);
    });
}
inline serval_status_t listenerRequestInitialized(void* instance, serval_request_t* request)
{
    return barrier([&] {
        Request view(request);
        static_cast<Listener*>(instance)->requestInitialized(view);
    });
}
inline serval_status_t listenerRequestDestroyed(void* instance, serval_request_t* request)
{
    return barrier([&] {
        Request view(request);
        static_cast<Listener*>(instance)->requestDestroyed(view);
    });
}
/// Only registered for classes derived from HttpSessionListener (Registry::listener), so the
/// instance, a Listener*, is one.
inline HttpSessionListener* sessionListener(void* instance) noexcept
{
    return static_cast<HttpSessionListener*>(static_cast<Listener*>(instance));
}
inline serval_status_t listenerSessionCreated(void* instance, serval_session_t* session)
{
    return barrier([&] {
        Session view(session);
        sessionListener(instance)->sessionCreated(view);
    });
}
inline serval_status_t listenerSessionDestroyed(void* instance, serval_session_t* session)
{
    return barrier([&] {
        Session view(session);
        sessionListener(instance)->sessionDestroyed(view);
    });
}
inline serval_status_t listenerDestroy(void* instance)
{
    delete static_cast<Listener*>(instance);
    return SERVAL_OK;
}

} // namespace detail

/// Which dispatches a filter declared in code runs for (<dispatcher> in web.xml): OR them.
///   app.filter<SecurityHeaders>("security", {"/*"}, serval::Dispatch::Request | serval::Dispatch::Error);
struct Dispatch
{
    static constexpr uint32_t Request = SERVAL_DISPATCH_ON_REQUEST;
    static constexpr uint32_t Error = SERVAL_DISPATCH_ON_ERROR;
};

/// Tag for Registry::listener: declare the listener from code (@WebListener), not only offer
/// its class to web.xml.
struct DeclaredTag
{
};
inline constexpr DeclaredTag declared{};

/// The classes an app offers, by the names web.xml uses, and what it declares in code. Filled in
/// SERVAL_APP's body, which runs when the container initialises the app (control thread, once).
class Registry
{
public:
    /// Declares servlet `name` of class T mapped to `urlPatterns` (@WebServlet): no web.xml
    /// entry is needed. web.xml may still override it: a <servlet> named `name` replaces the
    /// class and init params, its <servlet-mapping>s replace these patterns.
    ///   app.servlet<Home>("home", {"", "/index"});
    template <typename T>
    Registry& servlet(std::string_view name, std::initializer_list<std::string_view> urlPatterns)
    {
        servlet<T>(name);
        detail::ServletEntry& entry = *_servlets.back();
        entry.patterns.assign(urlPatterns);
        entry.abi.url_patterns = entry.patterns.views.data();
        entry.abi.url_pattern_count = entry.patterns.views.size();
        return *this;
    }
    /// Declares filter `name` of class T on `urlPatterns` for `dispatchers` (Dispatch bits;
    /// REQUEST only by default), run before web.xml's filters; a <filter> named `name` in
    /// web.xml replaces it.
    template <typename T>
    Registry& filter(std::string_view name, std::initializer_list<std::string_view> urlPatterns,
                     uint32_t dispatchers = Dispatch::Request)
    {
        filter<T>(name);
        detail::FilterEntry& entry = *_filters.back();
        entry.patterns.assign(urlPatterns);
        entry.abi.url_patterns = entry.patterns.views.data();
        entry.abi.url_pattern_count = entry.patterns.views.size();
        entry.abi.dispatchers = dispatchers;
        return *this;
    }
    /// Declares listener `name` of class T (@WebListener): it runs without a <listener>.
    template <typename T> Registry& listener(std::string_view name, DeclaredTag)
    {
        listener<T>(name);
        _listeners.back()->abi.declared = true;
        return *this;
    }

    /// Registers T (derived from HttpServlet) as <servlet-class> `className`.
    template <typename T> Registry& servlet(std::string_view className)
    {
        static_assert(std::is_base_of_v<HttpServlet, T>, "servlets derive from serval::HttpServlet");
        auto entry = std::make_unique<detail::ServletEntry>();
        entry->name = std::string(className);
        entry->create = []() -> HttpServlet* { return new T(); };
        entry->allowMask = detail::allowMask<T>();
        detail::stamp(entry->abi);
        entry->abi.name = detail::literal(entry->name);
        entry->abi.class_data = entry.get();
        entry->abi.on_create = &servletCreate;
        entry->abi.on_init = &detail::servletInit;
        entry->abi.on_service = &detail::servletService;
        entry->abi.on_destroy = &detail::servletDestroy;
        _servletClasses.push_back(&entry->abi);
        _servlets.push_back(std::move(entry));
        return *this;
    }
    /// Registers T (derived from Filter) as <filter-class> `className`.
    template <typename T> Registry& filter(std::string_view className)
    {
        static_assert(std::is_base_of_v<Filter, T>, "filters derive from serval::Filter");
        auto entry = std::make_unique<detail::FilterEntry>();
        entry->name = std::string(className);
        entry->create = []() -> Filter* { return new T(); };
        detail::stamp(entry->abi);
        entry->abi.name = detail::literal(entry->name);
        entry->abi.class_data = entry.get();
        entry->abi.on_create = &detail::filterCreate;
        entry->abi.on_init = &detail::filterInit;
        entry->abi.on_do_filter = &detail::filterDo;
        entry->abi.on_destroy = &detail::filterDestroy;
        _filterClasses.push_back(&entry->abi);
        _filters.push_back(std::move(entry));
        return *this;
    }
    /// Registers T (derived from Listener) as <listener-class> `className`.
    template <typename T> Registry& listener(std::string_view className)
    {
        static_assert(std::is_base_of_v<Listener, T>, "listeners derive from serval::Listener");
        auto entry = std::make_unique<detail::ListenerEntry>();
        entry->name = std::string(className);
        entry->create = []() -> Listener* { return new T(); };
        detail::stamp(entry->abi);
        entry->abi.name = detail::literal(entry->name);
        entry->abi.class_data = entry.get();
        entry->abi.on_create = &detail::listenerCreate;
        entry->abi.on_context_initialized = &detail::listenerContextInitialized;
        entry->abi.on_context_destroyed = &detail::listenerContextDestroyed;
        entry->abi.on_request_initialized = &detail::listenerRequestInitialized;
        entry->abi.on_request_destroyed = &detail::listenerRequestDestroyed;
        entry->abi.on_destroy = &detail::listenerDestroy;
        if constexpr (std::is_base_of_v<HttpSessionListener, T>) {
            entry->abi.on_session_created = &detail::listenerSessionCreated;
            entry->abi.on_session_destroyed = &detail::listenerSessionDestroyed;
        }
        _listenerClasses.push_back(&entry->abi);
        _listeners.push_back(std::move(entry));
        return *this;
    }

    /// Points the descriptor's class lists at this registry (which outlives them).
    void publish(serval_app_t& app) const noexcept
    {
        app.servlets = _servletClasses.data();
        app.servlet_count = _servletClasses.size();
        app.filters = _filterClasses.data();
        app.filter_count = _filterClasses.size();
        app.listeners = _listenerClasses.data();
        app.listener_count = _listenerClasses.size();
    }

private:
    static serval_status_t servletCreate(void* classData, void** out)
    {
        return detail::barrier([&] {
            auto* entry = static_cast<detail::ServletEntry*>(classData);
            HttpServlet* servlet = entry->create();
            servlet->_allowMask = entry->allowMask;
            *out = servlet;
        });
    }

    std::vector<std::unique_ptr<detail::ServletEntry>> _servlets;
    std::vector<std::unique_ptr<detail::FilterEntry>> _filters;
    std::vector<std::unique_ptr<detail::ListenerEntry>> _listeners;
    std::vector<const serval_servlet_class_t*> _servletClasses;
    std::vector<const serval_filter_class_t*> _filterClasses;
    std::vector<const serval_listener_class_t*> _listenerClasses;
};

namespace detail {

using RegisterFn = void (*)(Registry&);

/// The descriptor of THIS app: a zero-initialised static (constant initialisation, no static
/// constructor), filled by the entry.
SERVAL_HIDDEN inline serval_app_t& descriptor() noexcept
{
    static serval_app_t app;
    return app;
}
SERVAL_HIDDEN inline RegisterFn& registerSlot() noexcept
{
    static RegisterFn fn = nullptr;
    return fn;
}

inline serval_status_t appInit(void*) noexcept
{
    return barrier([] {
        auto registry = std::make_unique<Registry>();
        registerSlot()(*registry);
        registry->publish(descriptor());
        descriptor().app_data = registry.release();
    });
}
inline serval_status_t appDestroy(void* data) noexcept
{
    delete static_cast<Registry*>(data);
    descriptor().app_data = nullptr;
    return SERVAL_OK;
}

/// The handshake (see serval_app_init_v1 in abi.h): store the host table, hand out the descriptor.
inline serval_status_t entry(const serval_host_api_t* host, const serval_app_t** out, const char* name,
                             RegisterFn registerClasses) noexcept
{
    hostSlot() = host;
    registerSlot() = registerClasses;
    serval_app_t& app = descriptor();
    stamp(app);
    app.name = serval_str_t{name, std::strlen(name)};
    app.on_init = &appInit;
    app.on_destroy = &appDestroy;
    *out = &app;
    return SERVAL_OK;
}

} // namespace detail
} // namespace serval

/// Defines the app: exports the entry symbol and registers classes in the body that follows,
/// where the Registry is named `app` (and `registry`, its ABI 1.0 name). Once per app library:
///   SERVAL_APP("hello") { app.servlet<Hello>("hello", {"/hello"}); }
#define SERVAL_APP(appName)                                                                                  \
    static void servalRegisterClasses(::serval::Registry& app, ::serval::Registry& registry);                \
    static void servalRegister(::serval::Registry& registry)                                                 \
    {                                                                                                        \
        servalRegisterClasses(registry, registry);                                                           \
    }                                                                                                        \
    extern "C" SERVAL_EXPORT serval_status_t serval_app_init_v1(const serval_host_api_t* host,               \
                                                                const serval_app_t** out_app)                \
    {                                                                                                        \
        return ::serval::detail::entry(host, out_app, appName, &servalRegister);                             \
    }                                                                                                        \
    static void servalRegisterClasses([[maybe_unused]] ::serval::Registry& app,                              \
                                      [[maybe_unused]] ::serval::Registry& registry)
