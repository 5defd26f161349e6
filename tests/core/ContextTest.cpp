#include "core/Context.h"

#include "Fakes.h"
#include "config/WebAppConfig.h"
#include "core/Engine.h"
#include "core/ErrorPage.h"
#include "core/Host.h"
#include "util/Log.h"

#include <algorithm>
#include <gtest/gtest.h>

using namespace serval;
using test::Exchange;

namespace {

/// One host "localhost" with one app at /app built from `webXml`, plus a static file.
struct ContextTest : ::testing::Test
{
    test::TempDir dir;
    test::Trace trace = std::make_shared<std::vector<std::string>>();
    core::Engine engine{"localhost", test::fakeServices(trace)};
    std::shared_ptr<core::Host> host;
    std::shared_ptr<core::Context> context;

    void deploy(const std::string& webXml, bool withLibrary = true)
    {
        dir.write("app/index.html", "<h1>hi</h1>");
        dir.write("app/404.html", "not here");
        if (withLibrary) dir.write("app/WEB-INF/lib/libfake.so", "");
        config::HostConfig hc;
        hc.appBase = dir.path();
        host = std::make_shared<core::Host>(hc);
        engine.addHost(host);
        core::ContextSpec spec;
        spec.name = "app";
        spec.path = "/app";
        spec.docBase = dir.file("app");
        spec.webXml = config::parseWebXml(webXml);
        context = std::make_shared<core::Context>(spec, engine.services());
        host->addContext(context);
    }
    bool start() { return engine.start() && context->isStarted(); }
    /// Runs `exchange` with the server log going to a file; returns the status, `log` the lines.
    int runLogged(Exchange& exchange, std::string& log)
    {
        std::string logFile = dir.file("serval.log");
        EXPECT_TRUE(util::Log::openFile(logFile, false));
        int status = exchange.run(engine);
        util::Log::closeFile();
        log = test::readFile(logFile);
        return status;
    }
};

const char* kServlets = R"(<web-app>
  <servlet><servlet-name>echo</servlet-name><servlet-class>Echo</servlet-class></servlet>
  <servlet><servlet-name>boom</servlet-name><servlet-class>Fail</servlet-class></servlet>
  <servlet><servlet-name>crash</servlet-name><servlet-class>Throw</servlet-class></servlet>
  <servlet><servlet-name>teapot</servlet-name><servlet-class>Error418</servlet-class></servlet>
  <servlet-mapping><servlet-name>echo</servlet-name><url-pattern>/api/*</url-pattern><url-pattern>*.do</url-pattern></servlet-mapping>
  <servlet-mapping><servlet-name>boom</servlet-name><url-pattern>/boom</url-pattern></servlet-mapping>
  <servlet-mapping><servlet-name>crash</servlet-name><url-pattern>/crash</url-pattern></servlet-mapping>
  <servlet-mapping><servlet-name>teapot</servlet-name><url-pattern>/teapot</url-pattern></servlet-mapping>
</web-app>)";

} // namespace

TEST_F(ContextTest, ServletsGetServletPathAndPathInfo)
{
    deploy(kServlets);
    ASSERT_TRUE(start()) << context->failureReason();
    Exchange a("GET", "/app/api/users/7?x=1");
    EXPECT_EQ(a.run(engine), 200);
    EXPECT_EQ(a.body(), "Echo sp=/api pi=/users/7");
    Exchange b("GET", "/app/x/y.do");
    b.run(engine);
    EXPECT_EQ(b.body(), "Echo sp=/x/y.do pi=null");
}

TEST_F(ContextTest, DefaultServletIsTheFallback)
{
    deploy(kServlets);
    ASSERT_TRUE(start());
    Exchange a("GET", "/app/index.html");
    EXPECT_EQ(a.run(engine), 200);
    EXPECT_EQ(a.body(), "static:/index.html");
}

TEST_F(ContextTest, WebXmlMappingSlashReplacesTheDefaultServlet)
{
    deploy(R"(<web-app><servlet><servlet-name>echo</servlet-name><servlet-class>Echo</servlet-class></servlet>
      <servlet-mapping><servlet-name>echo</servlet-name><url-pattern>/</url-pattern></servlet-mapping></web-app>)");
    ASSERT_TRUE(start());
    Exchange a("GET", "/app/index.html");
    a.run(engine);
    EXPECT_EQ(a.body(), "Echo sp=/index.html pi=null");
}

TEST_F(ContextTest, AppMayMapMorePatternsToTheDefaultServlet)
{
    deploy(R"(<web-app><servlet><servlet-name>echo</servlet-name><servlet-class>Echo</servlet-class></servlet>
      <servlet-mapping><servlet-name>echo</servlet-name><url-pattern>/*</url-pattern></servlet-mapping>
      <servlet-mapping><servlet-name>default</servlet-name><url-pattern>*.html</url-pattern></servlet-mapping></web-app>)");
    ASSERT_TRUE(start()) << context->failureReason();
    Exchange a("GET", "/app/index.html");
    a.run(engine);
    EXPECT_EQ(a.body(), "Echo sp= pi=/index.html"); // "/*" (prefix) beats "*.html" (extension)
}

TEST_F(ContextTest, FiltersRunInDeclarationOrderAroundTheServlet)
{
    deploy(R"(<web-app>
      <servlet><servlet-name>echo</servlet-name><servlet-class>Echo</servlet-class></servlet>
      <servlet-mapping><servlet-name>echo</servlet-name><url-pattern>/api/*</url-pattern></servlet-mapping>
      <filter><filter-name>b</filter-name><filter-class>Filter:b</filter-class></filter>
      <filter><filter-name>a</filter-name><filter-class>Filter:a</filter-class></filter>
      <filter><filter-name>c</filter-name><filter-class>Filter:c</filter-class></filter>
      <filter-mapping><filter-name>a</filter-name><url-pattern>/*</url-pattern></filter-mapping>
      <filter-mapping><filter-name>b</filter-name><servlet-name>echo</servlet-name></filter-mapping>
      <filter-mapping><filter-name>c</filter-name><url-pattern>*.css</url-pattern></filter-mapping>
    </web-app>)");
    ASSERT_TRUE(start()) << context->failureReason();
    Exchange a("GET", "/app/api/x");
    a.run(engine);
    EXPECT_EQ(a.body(), "Echo sp=/api pi=/x");
    std::vector<std::string> filtersRun;
    for (const auto& t : *trace) {
        if (t.rfind("filter:", 0) == 0) filtersRun.push_back(t);
    }
    EXPECT_EQ(filtersRun, (std::vector<std::string>{"filter:a:request", "filter:b:request"}));
    EXPECT_EQ(a.exchange.response.headers().size(), 3u); // X-Filter a, X-Filter b, Content-Type

    Exchange stop("GET", "/app/api/x?stop-at=a");
    stop.run(engine);
    EXPECT_EQ(stop.body(), "stopped by a");
}

TEST_F(ContextTest, AFilterBelowAServletPrefixRunsOnlyForThePathsUnderIt)
{
    deploy(R"(<web-app>
      <servlet><servlet-name>echo</servlet-name><servlet-class>Echo</servlet-class></servlet>
      <servlet-mapping><servlet-name>echo</servlet-name><url-pattern>/x/*</url-pattern></servlet-mapping>
      <filter><filter-name>y</filter-name><filter-class>Filter:y</filter-class></filter>
      <filter-mapping><filter-name>y</filter-name><url-pattern>/x/y/*</url-pattern></filter-mapping>
    </web-app>)");
    ASSERT_TRUE(start()) << context->failureReason();
    Exchange inside("GET", "/app/x/y/1");
    inside.run(engine);
    EXPECT_EQ(inside.header("X-Filter"), "y");
    EXPECT_EQ(inside.body(), "Echo sp=/x pi=/y/1");
    Exchange beside("GET", "/app/x/yz");
    beside.run(engine);
    EXPECT_EQ(beside.header("X-Filter"), "");
    EXPECT_EQ(beside.body(), "Echo sp=/x pi=/yz");
}

TEST_F(ContextTest, FiltersMakeStaticRequestsGoToWorkers)
{
    deploy(R"(<web-app><filter><filter-name>a</filter-name><filter-class>Filter:a</filter-class></filter>
      <filter-mapping><filter-name>a</filter-name><url-pattern>/*</url-pattern></filter-mapping></web-app>)");
    ASSERT_TRUE(start());
    Exchange a("GET", "/app/index.html");
    a.run(engine);
    EXPECT_EQ(a.decision.dispatch, http::Dispatch::Worker);
    EXPECT_EQ(a.body(), "static:/index.html");
}

TEST_F(ContextTest, PlainStaticRequestsRunInline)
{
    deploy("<web-app/>", false);
    ASSERT_TRUE(start());
    Exchange a("GET", "/app/index.html");
    a.run(engine);
    EXPECT_EQ(a.decision.dispatch, http::Dispatch::Inline);
    EXPECT_EQ(a.decision.maxBodySize, context->maxBodySize());
}

TEST_F(ContextTest, FailureBecomes500WithOneLogLineNamingAppServletAndMessage)
{
    deploy(kServlets);
    ASSERT_TRUE(start());
    Exchange a("GET", "/app/boom");
    std::string log;
    EXPECT_EQ(runLogged(a, log), 500);
    EXPECT_EQ(a.body().find("partial"), std::string::npos); // the servlet's partial output is discarded
    EXPECT_NE(a.body().find("500 Internal Server Error"), std::string::npos);
    EXPECT_NE(log.find("[app:/app] servlet \"boom\" threw: database is down (GET /app/boom); answered 500"),
              std::string::npos)
        << log;
    // The app keeps serving.
    Exchange b("GET", "/app/api/x");
    EXPECT_EQ(b.run(engine), 200);
}

TEST_F(ContextTest, AnExceptionFromContainerCodeReachesTheLastResortCatch)
{
    deploy(kServlets);
    ASSERT_TRUE(start());
    Exchange a("GET", "/app/crash");
    std::string log;
    EXPECT_EQ(runLogged(a, log), 500);
    EXPECT_EQ(a.body().find("partial"), std::string::npos);
    EXPECT_NE(log.find("[engine] unexpected failure while serving /app/crash; answered 500"),
              std::string::npos)
        << log;
    EXPECT_EQ(context->inFlight(), 0);
    Exchange b("GET", "/app/api/x");
    EXPECT_EQ(b.run(engine), 200);
}

TEST_F(ContextTest, ContainerErrorPageWhenTheAppHasNone)
{
    deploy(kServlets);
    ASSERT_TRUE(start());
    Exchange a("GET", "/app/teapot");
    EXPECT_EQ(a.run(engine), 418);
    EXPECT_NE(a.body().find("short &amp; stout"), std::string::npos); // escaped
    EXPECT_EQ(a.header("Content-Type"), "text/html; charset=utf-8");
}

TEST_F(ContextTest, ContainerErrorPageIsJsonForAClientThatAsksForJson)
{
    // An API client (Accept: application/json, no HTML) gets the container's error as JSON, as
    // Spring Boot answers non-browser clients; a browser's Accept keeps the HTML page.
    deploy(kServlets);
    ASSERT_TRUE(start());
    Exchange api("GET", "/app/teapot");
    api.exchange.request.headers.push_back({"Accept", "application/json"});
    EXPECT_EQ(api.run(engine), 418);
    EXPECT_EQ(api.header("Content-Type"), "application/json; charset=utf-8");
    EXPECT_EQ(api.body().rfind("{\"status\":418,\"error\":\"", 0), 0u) << api.body();
    EXPECT_NE(api.body().find("\"message\":\"short & stout"), std::string::npos) << api.body();

    Exchange browser("GET", "/app/teapot");
    browser.exchange.request.headers.push_back(
        {"Accept", "text/html,application/xhtml+xml,application/json;q=0.9"});
    EXPECT_EQ(browser.run(engine), 418);
    EXPECT_EQ(browser.header("Content-Type"), "text/html; charset=utf-8");
    EXPECT_TRUE(serval::core::prefersJson("application/problem+json"));
    EXPECT_FALSE(serval::core::prefersJson("*/*"));
}

TEST_F(ContextTest, ErrorPagesByStatusIncludingContainer404s)
{
    deploy(R"(<web-app>
      <servlet><servlet-name>teapot</servlet-name><servlet-class>Error418</servlet-class></servlet>
      <servlet><servlet-name>errors</servlet-name><servlet-class>ErrorPage</servlet-class></servlet>
      <servlet-mapping><servlet-name>teapot</servlet-name><url-pattern>/teapot</url-pattern></servlet-mapping>
      <servlet-mapping><servlet-name>errors</servlet-name><url-pattern>/errors/*</url-pattern></servlet-mapping>
      <filter><filter-name>onerror</filter-name><filter-class>Filter:e</filter-class></filter>
      <filter-mapping><filter-name>onerror</filter-name><url-pattern>/errors/*</url-pattern><dispatcher>ERROR</dispatcher></filter-mapping>
      <error-page><error-code>418</error-code><location>/errors/teapot</location></error-page>
      <error-page><error-code>404</error-code><location>/404.html</location></error-page>
    </web-app>)");
    ASSERT_TRUE(start()) << context->failureReason();
    Exchange a("GET", "/app/teapot");
    EXPECT_EQ(a.run(engine), 418); // the page's own 200 does not replace the status
    EXPECT_EQ(a.body(), "error page: status=418 uri=/app/teapot message=short & stout");
    EXPECT_EQ(trace->back(), "filter:e:error");

    Exchange b("GET", "/app/missing.png"); // the (stand-in) DefaultServlet says 404
    EXPECT_EQ(b.run(engine), 404);
    EXPECT_EQ(b.body(), "static:/404.html");

    Exchange direct("GET", "/app/errors/x"); // ERROR-only filters do not run on requests
    size_t before = trace->size();
    direct.run(engine);
    for (size_t i = before; i < trace->size(); ++i)
        EXPECT_NE((*trace)[i], "filter:e:error");
}

TEST_F(ContextTest, MissingErrorPageFallsBackToContainerPage)
{
    deploy(
        R"(<web-app><error-page><error-code>404</error-code><location>/nope.html</location></error-page></web-app>)",
        false);
    ASSERT_TRUE(start());
    Exchange a("GET", "/app/missing");
    EXPECT_EQ(a.run(engine), 404);
    EXPECT_NE(a.body().find("404 Not Found"), std::string::npos);
}

TEST_F(ContextTest, LifecycleOrderListenersFiltersServletsByLoadOnStartup)
{
    deploy(R"(<web-app>
      <listener><listener-class>Listener</listener-class></listener>
      <servlet><servlet-name>late</servlet-name><servlet-class>Echo</servlet-class><load-on-startup>5</load-on-startup></servlet>
      <servlet><servlet-name>lazy</servlet-name><servlet-class>Echo</servlet-class></servlet>
      <servlet><servlet-name>early</servlet-name><servlet-class>Echo</servlet-class><load-on-startup>1</load-on-startup></servlet>
      <servlet-mapping><servlet-name>lazy</servlet-name><url-pattern>/lazy</url-pattern></servlet-mapping>
    </web-app>)");
    ASSERT_TRUE(start()) << context->failureReason();
    EXPECT_EQ(*trace, (std::vector<std::string>{"contextInitialized:/app", "init:early", "init:late",
                                                "init:lazy", "module:started"}));
    trace->clear();
    Exchange a("GET", "/app/lazy");
    a.run(engine);
    EXPECT_EQ(*trace, (std::vector<std::string>{"requestInitialized", "requestDestroyed"}));
    EXPECT_EQ(a.decision.dispatch, http::Dispatch::Worker);
    trace->clear();
    engine.stop();
    EXPECT_EQ(*trace, (std::vector<std::string>{"module:stopping", "destroy:Echo", "destroy:Echo",
                                                "destroy:Echo", "contextDestroyed:/app"}));
}

TEST_F(ContextTest, FailedStartKeepsTheReasonAndAnswers503)
{
    deploy(R"(<web-app><servlet><servlet-name>x</servlet-name><servlet-class>Echo</servlet-class>
      <init-param><param-name>fail</param-name><param-value>no config file</param-value></init-param></servlet></web-app>)");
    engine.start();
    EXPECT_EQ(context->state(), core::LifecycleState::Failed);
    EXPECT_EQ(context->failureReason(), "servlet \"x\" failed to initialise: no config file");
    Exchange a("GET", "/app/index.html");
    EXPECT_EQ(a.run(engine), 503);
    EXPECT_EQ(a.decision.rejectStatus, 503);
    EXPECT_NE(a.body().find("/app is not running"), std::string::npos);
}

TEST_F(ContextTest, UnknownClassAndRefusedLibraryFailTheStart)
{
    deploy(
        R"(<web-app><servlet><servlet-name>x</servlet-name><servlet-class>Nope</servlet-class></servlet></web-app>)");
    engine.start();
    EXPECT_EQ(context->failureReason(), "class \"Nope\" is unknown to the fake module");

    test::TempDir other;
    other.write("WEB-INF/lib/libbroken.so", "");
    core::ContextSpec spec;
    spec.path = "/b";
    spec.docBase = other.path();
    core::Context broken(spec, engine.services());
    EXPECT_FALSE(broken.start());
    EXPECT_EQ(broken.failureReason(), "libbroken.so refused: missing entry symbol serval_app_init_v1");
}

TEST_F(ContextTest, StoppedContextAnswers503AndRestarts)
{
    deploy(kServlets);
    ASSERT_TRUE(start());
    context->stop();
    Exchange a("GET", "/app/api/x");
    EXPECT_EQ(a.run(engine), 503);
    ASSERT_TRUE(context->start()) << context->failureReason();
    Exchange b("GET", "/app/api/x");
    EXPECT_EQ(b.run(engine), 200);
}

TEST_F(ContextTest, ContainerServletsAreAddedProgrammaticallyAndSurviveRestart)
{
    deploy("<web-app/>", false);
    context->addServlet("status", std::make_unique<test::FakeServlet>("status", trace),
                        {"/status", "/status/*"});
    ASSERT_TRUE(start()) << context->failureReason();
    Exchange a("GET", "/app/status/x");
    a.run(engine);
    EXPECT_EQ(a.body(), "status sp=/status pi=/x");
    context->stop();
    ASSERT_TRUE(context->start());
    Exchange b("GET", "/app/status");
    b.run(engine);
    EXPECT_EQ(b.body(), "status sp=/status pi=null");
    ASSERT_EQ(context->wrappers().size(), 2u);
    EXPECT_EQ(context->wrappers()[0]->patterns(), (std::vector<std::string>{"/status", "/status/*"}));
}

TEST_F(ContextTest, CountersTrackRequestsErrorsAndInFlight)
{
    deploy(kServlets);
    ASSERT_TRUE(start());
    Exchange pending("GET", "/app/api/x");
    pending.run(engine, false);
    EXPECT_EQ(context->inFlight(), 1);
    engine.complete(pending.exchange, 10);
    EXPECT_EQ(context->inFlight(), 0);
    Exchange boom("GET", "/app/boom");
    boom.exchange.startNanos = 1; // long ago
    boom.run(engine);
    auto stats = context->stats();
    EXPECT_EQ(stats.requests, 2u);
    EXPECT_EQ(stats.errors5xx, 1u);
    EXPECT_EQ(stats.inFlight, 0);
    EXPECT_GT(stats.p99Micros, 0u);
}

TEST_F(ContextTest, ServletContextParamsAttributesRealPath)
{
    deploy(
        R"(<web-app><display-name>Demo</display-name><context-param><param-name>k</param-name><param-value>v</param-value></context-param></web-app>)",
        false);
    ASSERT_TRUE(start());
    EXPECT_EQ(context->displayName(), "Demo");
    ASSERT_NE(context->initParameter("k"), nullptr);
    EXPECT_EQ(*context->initParameter("k"), "v");
    std::string value;
    EXPECT_FALSE(context->attribute("a", value));
    context->setAttribute("a", "1");
    EXPECT_TRUE(context->attribute("a", value));
    EXPECT_EQ(value, "1");
    EXPECT_EQ(context->realPath("/x/../index.html"), dir.file("app") + "/index.html");
    EXPECT_EQ(context->realPath("/../etc/passwd"), "");
}

TEST_F(ContextTest, HeadersSetAfterSendErrorSurviveTheErrorPage)
{
    deploy(
        R"(<web-app><servlet><servlet-name>m</servlet-name><servlet-class>Error405</servlet-class></servlet>
      <servlet-mapping><servlet-name>m</servlet-name><url-pattern>/m</url-pattern></servlet-mapping></web-app>)");
    ASSERT_TRUE(start());
    Exchange a("POST", "/app/m");
    EXPECT_EQ(a.run(engine), 405);
    EXPECT_EQ(a.header("Allow"), "GET, HEAD");
    EXPECT_NE(a.body().find("405 Method Not Allowed"), std::string::npos);
}

TEST_F(ContextTest, AppCodeRunsOnWorkersUnlessTheAppDeclaresInlineDispatch)
{
    deploy(kServlets);
    ASSERT_TRUE(start());
    Exchange app("GET", "/app/api/x");
    EXPECT_EQ(app.run(engine), 200);
    EXPECT_EQ(app.decision.dispatch, http::Dispatch::Worker); // app code may block
    EXPECT_EQ(app.decision.lane, &context->ownLane());        // on its own share of the pool
    Exchange file("GET", "/app/index.html");
    file.run(engine);
    EXPECT_EQ(file.decision.dispatch, http::Dispatch::Inline);
    EXPECT_EQ(file.decision.lane, nullptr);
}

TEST_F(ContextTest, ALaneGivenToTheContextCarriesItsWorkerRequests)
{
    /// The admin pool stand-in: startup gives the manager and /metrics one of their own.
    struct AdminLane final : http::DispatchLane
    {
        bool submit(http::DispatchTask&) noexcept override { return false; }
        bool cancel(http::DispatchTask&) noexcept override { return false; }
        uint32_t threads() const noexcept override { return 2; }
    } admin;
    deploy(kServlets);
    context->useDispatchLane(admin);
    ASSERT_TRUE(start());
    Exchange app("GET", "/app/api/x");
    EXPECT_EQ(app.run(engine), 200);
    EXPECT_EQ(app.decision.lane, &admin);
}

TEST_F(ContextTest, MaxThreadsAndMaxQueueComeFromTheSpec)
{
    core::ContextSpec spec;
    spec.name = "bounded";
    spec.maxThreads = 3;
    spec.maxQueue = 7;
    core::Context bounded(spec, engine.services());
    EXPECT_EQ(bounded.ownLane().threads(), 3u);
    EXPECT_EQ(bounded.ownLane().maxQueue(), 7u);
    EXPECT_EQ(bounded.stats().laneRejected, 0u);
}

TEST_F(ContextTest, InlineDispatchContextParamMovesAppCodeToTheIoThread)
{
    std::string webXml = kServlets;
    webXml.insert(webXml.find("<servlet>"),
                  "<context-param><param-name>serval.dispatch</param-name><param-value>inline</param-value>"
                  "</context-param>");
    deploy(webXml);
    ASSERT_TRUE(start()) << context->failureReason();
    Exchange app("GET", "/app/api/x");
    EXPECT_EQ(app.run(engine), 200);
    EXPECT_EQ(app.body(), "Echo sp=/api pi=/x");
    EXPECT_EQ(app.decision.dispatch, http::Dispatch::Inline);
}

TEST_F(ContextTest, UnknownDispatchValueFailsTheStartWithWhatToWrite)
{
    std::string webXml = kServlets;
    webXml.insert(webXml.find("<servlet>"),
                  "<context-param><param-name>serval.dispatch</param-name><param-value>fast</param-value>"
                  "</context-param>");
    deploy(webXml);
    EXPECT_FALSE(start());
    EXPECT_NE(context->failureReason().find("use \"inline\" or \"worker\""), std::string::npos)
        << context->failureReason();
}

// ---- issue 14: what a first real app stumbled on -------------------------------------------------

TEST_F(ContextTest, RedirectKeepsTheHeadersAndCookiesSetBeforeIt)
{
    deploy(
        R"(<web-app><servlet><servlet-name>r</servlet-name><servlet-class>Redirect</servlet-class></servlet>
      <servlet-mapping><servlet-name>r</servlet-name><url-pattern>/login</url-pattern></servlet-mapping></web-app>)");
    ASSERT_TRUE(start()) << context->failureReason();
    Exchange a("POST", "/app/login");
    EXPECT_EQ(a.run(engine), 303);
    EXPECT_EQ(a.header("Location"), "/app/home");
    EXPECT_EQ(a.header("Set-Cookie"), "login=yes");
    EXPECT_EQ(a.header("X-Before"), "kept");
    EXPECT_EQ(a.body(), ""); // only the body goes
}

const char* kErrorFiltered = R"(<web-app>
  <servlet><servlet-name>teapot</servlet-name><servlet-class>Error418</servlet-class></servlet>
  <servlet><servlet-name>boom</servlet-name><servlet-class>Fail</servlet-class></servlet>
  <servlet-mapping><servlet-name>teapot</servlet-name><url-pattern>/teapot</url-pattern></servlet-mapping>
  <servlet-mapping><servlet-name>boom</servlet-name><url-pattern>/boom</url-pattern></servlet-mapping>
  <filter><filter-name>headers</filter-name><filter-class>Filter:sec</filter-class></filter>
  <filter-mapping><filter-name>headers</filter-name><url-pattern>/*</url-pattern>
    <dispatcher>REQUEST</dispatcher><dispatcher>ERROR</dispatcher></filter-mapping>
</web-app>)";

TEST_F(ContextTest, ErrorFiltersRunAroundTheContainersOwnErrorPages)
{
    deploy(kErrorFiltered);
    ASSERT_TRUE(start()) << context->failureReason();
    // sendError from a servlet, the container's 404 (the DefaultServlet's) and its 500 (a
    // failing servlet): each page passes through the ERROR dispatch of the filter on "/*".
    for (const auto& [target, status] : std::vector<std::pair<std::string, int>>{
             {"/app/teapot", 418}, {"/app/missing.png", 404}, {"/app/boom", 500}}) {
        Exchange a("GET", target);
        EXPECT_EQ(a.run(engine), status) << target;
        EXPECT_EQ(a.header("X-Filter"), "sec") << target << ": the ERROR filter's header is on the page";
        EXPECT_EQ(trace->back(), "filter:sec:error") << target;
        EXPECT_NE(a.body().find(std::to_string(status)), std::string::npos) << target << ": " << a.body();
        EXPECT_EQ(a.header("Content-Type"), "text/html; charset=utf-8") << target;
    }
}

TEST_F(ContextTest, RequestOnlyFiltersDoNotRunForErrorPages)
{
    deploy(R"(<web-app>
      <servlet><servlet-name>teapot</servlet-name><servlet-class>Error418</servlet-class></servlet>
      <servlet-mapping><servlet-name>teapot</servlet-name><url-pattern>/teapot</url-pattern></servlet-mapping>
      <filter><filter-name>f</filter-name><filter-class>Filter:req</filter-class></filter>
      <filter-mapping><filter-name>f</filter-name><url-pattern>/*</url-pattern></filter-mapping>
    </web-app>)");
    ASSERT_TRUE(start());
    Exchange a("GET", "/app/teapot");
    EXPECT_EQ(a.run(engine), 418);
    EXPECT_EQ(trace->back(), "filter:req:request"); // once, for the request; not again for the page
}

TEST_F(ContextTest, ServletsFiltersAndListenersDeclaredInCodeNeedNoWebXml)
{
    dir.write("app/WEB-INF/lib/libdeclares.so", "");
    deploy("<web-app/>");
    ASSERT_TRUE(start()) << context->failureReason();
    Exchange a("GET", "/app/code/7");
    EXPECT_EQ(a.run(engine), 200);
    EXPECT_EQ(a.body(), "Echo sp=/code pi=/7");
    EXPECT_EQ(a.header("X-Filter"), "guard");
    EXPECT_NE(std::find(trace->begin(), trace->end(), "requestInitialized"), trace->end());
    Exchange missing("GET", "/app/nothing-here");
    EXPECT_EQ(missing.run(engine), 404);
    EXPECT_EQ(missing.header("X-Filter"), "guard"); // declared with ERROR too
}

TEST_F(ContextTest, WebXmlOverridesWhatCodeDeclares)
{
    dir.write("app/WEB-INF/lib/libdeclares.so", "");
    deploy(R"(<web-app>
      <servlet><servlet-name>code</servlet-name><servlet-class>Echo</servlet-class></servlet>
      <servlet-mapping><servlet-name>code</servlet-name><url-pattern>/mine/*</url-pattern></servlet-mapping>
      <servlet><servlet-name>teapot</servlet-name><servlet-class>Error418</servlet-class></servlet>
      <filter><filter-name>guard</filter-name><filter-class>Filter:web</filter-class></filter>
      <filter-mapping><filter-name>guard</filter-name><url-pattern>/mine/*</url-pattern></filter-mapping>
    </web-app>)");
    ASSERT_TRUE(start()) << context->failureReason();
    Exchange mine("GET", "/app/mine/1"); // web.xml's mapping of "code" replaces the code's patterns
    EXPECT_EQ(mine.run(engine), 200);
    EXPECT_EQ(mine.body(), "Echo sp=/mine pi=/1");
    EXPECT_EQ(mine.header("X-Filter"), "web"); // and its <filter> named "guard" replaces the code's
    Exchange old("GET", "/app/code/1");
    EXPECT_EQ(old.run(engine), 404);
    EXPECT_EQ(old.header("X-Filter"), "");
}

TEST_F(ContextTest, TwoLibrariesDeclaringTheSameServletFailTheStartNamingBoth)
{
    dir.write("app/WEB-INF/lib/libdeclares-a.so", "");
    dir.write("app/WEB-INF/lib/libdeclares-b.so", "");
    deploy("<web-app/>");
    EXPECT_FALSE(start());
    EXPECT_EQ(
        context->failureReason(),
        "libdeclares-b.so (ABI test) declares servlet \"code\", which libdeclares-a.so (ABI test) declares "
        "too: give each a name of its own, or declare it in WEB-INF/web.xml");
}

TEST_F(ContextTest, MultipartFieldsArePartsAndParameters)
{
    deploy(R"(<web-app><servlet><servlet-name>p</servlet-name><servlet-class>Parts</servlet-class>
      <multipart-config><max-file-size>8</max-file-size></multipart-config></servlet>
      <servlet-mapping><servlet-name>p</servlet-name><url-pattern>/upload</url-pattern></servlet-mapping></web-app>)");
    ASSERT_TRUE(start()) << context->failureReason();
    auto upload = [&](const std::string& file) {
        Exchange a("POST", "/app/upload?q=1");
        a.exchange.request.headers.push_back({"Content-Type", "multipart/form-data; boundary=XyZ"});
        a.exchange.request.body =
            "--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nHello\r\n"
            "--XyZ\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"a.txt\"\r\n"
            "Content-Type: text/plain\r\n\r\n" +
            file + "\r\n--XyZ--\r\n";
        a.run(engine);
        return a.body();
    };
    EXPECT_EQ(upload("12345678"), "result=0 title=Hello doc[a.txt,text/plain]=12345678 title=Hello");
    EXPECT_EQ(upload("123456789"), "result=2 title=none"); // over <max-file-size>: refused whole
}
