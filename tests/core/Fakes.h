#pragma once

// Test doubles for core tests: an AppModule whose classes are lambdas, recording servlets and
// filters, and a stand-in for the DefaultServlet (the real one lives in container/servlets).

#include "core/Context.h"
#include "core/Engine.h"
#include "core/Request.h"
#include "core/Response.h"
#include "core/Servlet.h"
#include "support/TempDir.h"

#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace serval::test {

/// Shared, ordered record of what ran ("init:a", "filter:f>", ...).
using Trace = std::shared_ptr<std::vector<std::string>>;

/// A servlet that writes "<name> sp=<servletPath> pi=<pathInfo>" or runs a custom body.
class FakeServlet : public core::Servlet
{
public:
    FakeServlet(std::string name, Trace trace,
                std::function<core::ServiceStatus(core::Request&, core::Response&)> body = {})
        : _name(std::move(name)), _trace(std::move(trace)), _body(std::move(body))
    {}
    void init(const core::ServletConfig& config) override
    {
        _trace->push_back("init:" + config.name);
        auto it = config.initParams.find("fail");
        if (it != config.initParams.end()) throw std::runtime_error(it->second);
    }
    core::ServiceStatus service(core::Request& request, core::Response& response) override
    {
        if (_body) return _body(request, response);
        response.setContentType("text/plain");
        response.write(_name + " sp=" + std::string(request.servletPath()) +
                       " pi=" + std::string(request.pathInfo().value_or("null")));
        return {};
    }
    void destroy() noexcept override { _trace->push_back("destroy:" + _name); }

private:
    std::string _name;
    Trace _trace;
    std::function<core::ServiceStatus(core::Request&, core::Response&)> _body;
};

class FakeFilter : public core::Filter
{
public:
    FakeFilter(std::string name, Trace trace) : _name(std::move(name)), _trace(std::move(trace)) {}
    core::ServiceStatus doFilter(core::Request& request, core::Response& response,
                                 core::FilterChain& chain) override
    {
        _trace->push_back("filter:" + _name + ":" +
                          (request.dispatcherType() == core::DispatcherType::Error ? "error" : "request"));
        response.addHeader("X-Filter", _name);
        if (request.parameter("stop-at") && *request.parameter("stop-at") == _name) {
            response.write("stopped by " + _name);
            return {};
        }
        return chain.doFilter(request, response);
    }

private:
    std::string _name;
    Trace _trace;
};

class FakeListener : public core::Listener
{
public:
    explicit FakeListener(Trace trace) : _trace(std::move(trace)) {}
    void contextInitialized(core::ServletContext& c) override
    {
        _trace->push_back("contextInitialized:" + c.contextPath());
    }
    void contextDestroyed(core::ServletContext& c) noexcept override
    {
        _trace->push_back("contextDestroyed:" + c.contextPath());
    }
    core::ServiceStatus requestInitialized(core::Request&) override
    {
        _trace->push_back("requestInitialized");
        return {};
    }
    void requestDestroyed(core::Request&) noexcept override { _trace->push_back("requestDestroyed"); }

private:
    Trace _trace;
};

/// Knows servlet classes by name: "Echo" (FakeServlet), "Fail" (returns a failure), "Throw"
/// (throws, as only a container bug would), "Error418"
/// (sendError 418), "ErrorPage" (renders the error attributes); filters "Filter";
/// listeners "Listener".
class FakeModule : public core::AppModule
{
public:
    explicit FakeModule(Trace trace, config::WebAppConfig declarations = {}, std::string name = "libfake.so")
        : _trace(std::move(trace)), _declarations(std::move(declarations)), _name(std::move(name))
    {}
    config::WebAppConfig declarations() const override { return _declarations; }
    std::unique_ptr<core::Servlet> createServlet(const std::string& className, std::string& error) override
    {
        if (className == "Echo") return std::make_unique<FakeServlet>(className, _trace);
        if (className == "Fail") {
            return std::make_unique<FakeServlet>(className, _trace, [](core::Request&, core::Response& r) {
                r.write("partial");
                return core::ServiceStatus::failed("database is down");
            });
        }
        if (className == "Throw") {
            return std::make_unique<FakeServlet>(
                className, _trace, [](core::Request&, core::Response& r) -> core::ServiceStatus {
                    r.write("partial");
                    throw std::runtime_error("container bug");
                });
        }
        if (className == "Error418") {
            return std::make_unique<FakeServlet>(className, _trace, [](core::Request&, core::Response& r) {
                r.sendError(418, "short & stout");
                return core::ServiceStatus();
            });
        }
        if (className == "Error405") {
            return std::make_unique<FakeServlet>(className, _trace, [](core::Request&, core::Response& r) {
                r.sendError(405);
                r.setHeader("Allow", "GET, HEAD"); // belongs to the error: set after sendError
                return core::ServiceStatus();
            });
        }
        if (className == "Redirect") {
            // "set the login cookie, then redirect": both must reach the client.
            return std::make_unique<FakeServlet>(className, _trace, [](core::Request&, core::Response& r) {
                core::Cookie cookie;
                cookie.name = "login";
                cookie.value = "yes";
                r.addCookie(cookie);
                r.setHeader("X-Before", "kept");
                r.write("discarded body");
                r.sendRedirect("/app/home", 303);
                return core::ServiceStatus();
            });
        }
        if (className == "Parts") {
            return std::make_unique<FakeServlet>(className, _trace, [](core::Request& rq, core::Response& r) {
                std::string out = "result=" + std::to_string(static_cast<int>(rq.partsResult()));
                for (const core::Part& part : rq.parts()) {
                    out += " " + part.name +
                           (part.isFile ? "[" + part.filename + "," + part.contentType + "]" : "") + "=" +
                           std::string(part.content);
                }
                const std::string* field = rq.parameter("title");
                out += " title=" + (field ? *field : std::string("none"));
                r.write(out);
                return core::ServiceStatus();
            });
        }
        if (className == "ErrorPage") {
            return std::make_unique<FakeServlet>(className, _trace, [](core::Request& rq, core::Response& r) {
                auto attr = [&](const char* name) {
                    const std::string* v = rq.attribute(name);
                    return v ? *v : std::string("none");
                };
                r.setStatus(200);
                r.write("error page: status=" + attr("javax.servlet.error.status_code") +
                        " uri=" + attr("javax.servlet.error.request_uri") +
                        " message=" + attr("javax.servlet.error.message"));
                return core::ServiceStatus();
            });
        }
        error = "class \"" + className + "\" is unknown to the fake module";
        return nullptr;
    }
    std::unique_ptr<core::Filter> createFilter(const std::string& className, std::string& error) override
    {
        if (className == "Filter") return std::make_unique<FakeFilter>("?", _trace);
        if (className.rfind("Filter:", 0) == 0)
            return std::make_unique<FakeFilter>(className.substr(7), _trace);
        error = "filter class \"" + className + "\" is unknown";
        return nullptr;
    }
    std::unique_ptr<core::Listener> createListener(const std::string& className, std::string& error) override
    {
        if (className == "Listener") return std::make_unique<FakeListener>(_trace);
        error = "listener class \"" + className + "\" is unknown";
        return nullptr;
    }
    void contextStarted(core::ServletContext&) override { _trace->push_back("module:started"); }
    void contextStopping(core::ServletContext&) noexcept override { _trace->push_back("module:stopping"); }
    std::string describe() const override { return _name + " (ABI test)"; }

private:
    Trace _trace;
    config::WebAppConfig _declarations;
    std::string _name;
};

/// What a library named lib*declares*.so declares in code: servlet "code" (class Echo) on
/// "/code/*" and "/shared", filter "guard" (class Filter:guard) on "/*" for REQUEST and ERROR,
/// and the listener class "Listener".
inline config::WebAppConfig codeDeclarations()
{
    config::WebAppConfig code;
    config::ServletDef servlet;
    servlet.name = "code";
    servlet.className = "Echo";
    code.servlets.push_back(servlet);
    config::ServletMappingDef mapping;
    mapping.servletName = "code";
    mapping.urlPatterns = {"/code/*", "/shared"};
    code.servletMappings.push_back(mapping);
    config::FilterDef filter;
    filter.name = "guard";
    filter.className = "Filter:guard";
    code.filters.push_back(filter);
    config::FilterMappingDef filterMapping;
    filterMapping.filterName = "guard";
    filterMapping.urlPatterns = {"/*"};
    filterMapping.onError = true;
    code.filterMappings.push_back(filterMapping);
    code.listeners.push_back("Listener");
    return code;
}

/// Stand-in for servlets::DefaultServlet: answers "static:<path>" for paths under docBase
/// that exist, sendError(404) otherwise.
class StandInDefaultServlet : public core::Servlet
{
public:
    explicit StandInDefaultServlet(std::string docBase) : _docBase(std::move(docBase)) {}
    core::ServiceStatus service(core::Request& request, core::Response& response) override
    {
        std::string path(request.pathInContext());
        if (readFile(_docBase + path).empty()) {
            response.sendError(404);
            return {};
        }
        response.setContentType("text/plain");
        response.write("static:" + path);
        return {};
    }

private:
    std::string _docBase;
};

/// Services wired to the fakes: every WEB-INF/lib/*.so becomes a FakeModule.
inline core::ContextServices fakeServices(Trace trace)
{
    core::ContextServices services;
    services.appLoader = [trace](const std::string& libPath, const std::string&,
                                 std::string& error) -> std::shared_ptr<core::AppModule> {
        if (libPath.find("broken") != std::string::npos) {
            error = "libbroken.so refused: missing entry symbol serval_app_init_v1";
            return nullptr;
        }
        size_t slash = libPath.rfind('/');
        std::string file = libPath.substr(slash + 1);
        if (file.find("declares") != std::string::npos)
            return std::make_shared<FakeModule>(trace, codeDeclarations(), file);
        return std::make_shared<FakeModule>(trace, config::WebAppConfig(), file);
    };
    services.defaultServlet = [](const core::Context& context) {
        return std::make_unique<StandInDefaultServlet>(context.docBase());
    };
    return services;
}

/// One exchange driven through an Engine as a Connector would: onHead, then service unless
/// rejected, then complete.
struct Exchange
{
    http::HttpExchange exchange;
    http::HeadDecision decision;

    Exchange(const std::string& method, const std::string& target, const std::string& host = "localhost")
    {
        exchange.request.method = method;
        exchange.request.target = target;
        size_t q = target.find('?');
        exchange.request.path = target.substr(0, q);
        if (q != std::string::npos) exchange.request.query = target.substr(q + 1);
        if (!host.empty()) exchange.request.headers.push_back({"Host", host});
    }
    /// Runs the whole exchange; returns the final status.
    int run(core::Engine& engine, bool complete = true)
    {
        decision = engine.onHead(exchange);
        if (decision.rejectStatus == 0) engine.service(exchange);
        if (complete) engine.complete(exchange, 0);
        return exchange.response.status();
    }
    std::string body() { return exchange.response.body(); }
    std::string header(const std::string& name) { return std::string(exchange.response.header(name)); }
};

} // namespace serval::test
