// The samples and the failure fixtures served by the real `serval` binary over HTTP. One server
// holds every app at once, so each refusal or failure is also checked not to disturb the others.
#include "support/Fixtures.h"
#include "support/HttpClient.h"
#include "support/ServalProcess.h"
#include "support/TempDir.h"

#include <filesystem>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <map>
#include <memory>
#include <serval/abi.h>

using namespace serval::test;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

namespace {

namespace fs = std::filesystem;

std::string buildDir()
{
    return env("SERVAL_BUILD", SERVAL_BUILD_DIR);
}

/// The helpers fixture as g++ built it and, when clang++ is there, as clang++/libc++ did.
std::vector<std::string> helperApps()
{
    std::vector<std::string> apps{"helpers"};
    if (fs::exists(fixtureLibrary("helpers_libcxx"))) apps.push_back("helpers-libcxx");
    return apps;
}

class SdkEndToEndTest : public ::testing::Test
{
protected:
    static void SetUpTestSuite()
    {
        try {
            prepare();
        } catch (const std::exception& e) {
            setupError = e.what();
        }
    }

    /// Builds the base directory (samples + fixtures) and starts the server.
    static void prepare()
    {
        base = std::make_unique<TempDir>();
        base->write(
            "conf/server.xml",
            "<Server logFile=\"logs/serval.log\" accessLog=\"\">\n"
            "  <Connector address=\"127.0.0.1\" port=\"0\" ioThreads=\"1\" workerThreads=\"4\"/>\n"
            "  <Engine defaultHost=\"localhost\"><Host name=\"localhost\" appBase=\"webapps\"/></Engine>\n"
            "</Server>\n");
        std::string globalWebXml = env("SERVAL_SOURCE", SERVAL_SOURCE_DIR) + "/conf/web.xml";
        if (fs::exists(globalWebXml)) fs::copy_file(globalWebXml, base->file("conf/web.xml"));
        makeDirs(base->file("webapps"));
        for (const char* sample : {"hello", "hello-c", "forms", "sessions"}) {
            fs::copy(buildDir() + "/bundles/" + sample, base->file(std::string("webapps/") + sample),
                     fs::copy_options::recursive);
        }

        std::vector<std::tuple<std::string, std::string, std::string>> ok{{"ok", "fixture.Ok", "/ok"}};
        for (const char* refused : {"no_entry", "other_major", "newer_minor", "short_struct", "init_fails",
                                    "init_throws", "unresolved"}) {
            installFixtureApp(*base, std::string("refused-") + refused, refused, servletWebXml(ok));
        }
        installFixtureApp(*base, "throwing", "servlet_throws",
                          servletWebXml({{"ok", "fixture.Ok", "/ok"}, {"fail", "fixture.Fail", "/fail"}}));
        installFixtureApp(
            *base, "filtering", "filter_throws",
            servletWebXml({{"ok", "fixture.Ok", "/ok"}, {"fail", "fixture.Fail", "/fail"}},
                          "  <filter><filter-name>exploding</filter-name><filter-class>fixture.Exploding"
                          "</filter-class></filter>\n  <filter-mapping><filter-name>exploding</filter-name>"
                          "<url-pattern>/fail</url-pattern></filter-mapping>\n"));
        installFixtureApp(*base, "destroying", "destroy_throws",
                          servletWebXml({{"ok", "fixture.Ok", "/ok"}, {"fail", "fixture.Fail", "/fail"}}));
        installFixtureApp(
            *base, "features", "features",
            servletWebXml({{"echo", "features.Echo", "/echo/*"},
                           {"stream", "features.Stream", "/stream"},
                           {"inject", "features.Inject", "/inject"},
                           {"int", "features.ThrowsInt", "/int"}},
                          "  <display-name>Features</display-name>\n  <context-param><param-name>colour"
                          "</param-name><param-value>green</param-value></context-param>\n"));
        base->write("webapps/features/index.html", "features");
        installFixtureApp(*base, "iso-a", "isolation_a",
                          servletWebXml({{"count", "fixture.Count", "/count"}}));
        installFixtureApp(*base, "iso-b", "isolation_b",
                          servletWebXml({{"count", "fixture.Count", "/count"}}));
        // Everything declared in code: an empty web.xml.
        for (const std::string& helpers : helperApps())
            installFixtureApp(*base, helpers, helpers == "helpers" ? "helpers" : "helpers_libcxx",
                              "<web-app/>\n");
        if (fs::exists(buildDir() + "/tests/fixtures/liblibcxx.so")) {
            installFixtureApp(
                *base, "libcxx", "libcxx",
                servletWebXml({{"hello", "libcxx.Hello", "/hello"}, {"fail", "libcxx.Fail", "/fail"}}));
        }

        server = std::make_unique<ServalProcess>(base->path());
        started = server->start();
    }

    static void TearDownTestSuite()
    {
        server.reset();
        base.reset();
    }

    void SetUp() override
    {
        ASSERT_EQ(setupError, "");
        ASSERT_TRUE(started) << server->error() << "\n" << server->log();
    }

    static HttpReply get(const std::string& target, const std::map<std::string, std::string>& headers = {})
    {
        return httpRequest(server->port(), "GET", target, headers);
    }
    static HttpReply request(const std::string& method, const std::string& target,
                             const std::string& body = "",
                             const std::map<std::string, std::string>& headers = {})
    {
        return httpRequest(server->port(), method, target, headers, body);
    }

    static std::unique_ptr<TempDir> base;
    static std::unique_ptr<ServalProcess> server;
    static bool started;
    static std::string setupError;
};

std::unique_ptr<TempDir> SdkEndToEndTest::base;
std::unique_ptr<ServalProcess> SdkEndToEndTest::server;
bool SdkEndToEndTest::started = false;
std::string SdkEndToEndTest::setupError;

// ---- hello (C++) ----------------------------------------------------------------------------------

TEST_F(SdkEndToEndTest, HelloServletAnswersText)
{
    HttpReply reply = get("/hello/hello");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.body, "Hello, World!");
    EXPECT_EQ(reply.header("Content-Type"), "text/plain");
    EXPECT_EQ(reply.header("Content-Length"), "13");
    EXPECT_FALSE(reply.hasHeader("X-Hello-Filter")) << "the filter is mapped to /json only";
}

TEST_F(SdkEndToEndTest, HelloHeadIsAnsweredFromDoGetWithoutBody)
{
    HttpReply reply = request("HEAD", "/hello/hello");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.header("Content-Length"), "13");
    EXPECT_EQ(reply.body, "");
}

TEST_F(SdkEndToEndTest, HelloOtherMethodsGet405WithAllow)
{
    HttpReply post = request("POST", "/hello/hello", "x=1");
    EXPECT_EQ(post.status, 405);
    EXPECT_EQ(post.header("Allow"), "GET, HEAD, OPTIONS");
    HttpReply del = request("DELETE", "/hello/hello");
    EXPECT_EQ(del.status, 405);
    HttpReply options = request("OPTIONS", "/hello/hello");
    EXPECT_EQ(options.status, 200);
    EXPECT_EQ(options.header("Allow"), "GET, HEAD, OPTIONS");
}

TEST_F(SdkEndToEndTest, HelloJsonUsesInitParamQueryParamAndFilter)
{
    HttpReply reply = get("/hello/json?name=Serval");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.header("Content-Type"), "application/json");
    EXPECT_EQ(reply.header("X-Hello-Filter"), "hello-filter");
    EXPECT_EQ(reply.body, "{\"greeting\":\"Bonjour, Serval!\",\"servlet\":\"json\",\"context\":\"/hello\"}");
    EXPECT_EQ(get("/hello/json?name=%22q%22").body,
              "{\"greeting\":\"Bonjour, \\\"q\\\"!\",\"servlet\":\"json\",\"context\":\"/hello\"}");
}

TEST_F(SdkEndToEndTest, HelloServesItsStaticPageAndHidesWebInf)
{
    HttpReply index = get("/hello/");
    EXPECT_EQ(index.status, 200);
    EXPECT_THAT(index.body, HasSubstr("<h1>Hello sample</h1>"));
    EXPECT_EQ(get("/hello/hello.txt").body, "Hello, World!");
    EXPECT_EQ(get("/hello/WEB-INF/web.xml").status, 404);
    EXPECT_EQ(get("/hello/WEB-INF/lib/libhello.so").status, 404);
}

// ---- hello-c (C, abi.h only) ------------------------------------------------------------------------

TEST_F(SdkEndToEndTest, HelloCAnswersLikeTheCppSample)
{
    HttpReply hello = get("/hello-c/hello");
    EXPECT_EQ(hello.status, 200);
    EXPECT_EQ(hello.body, "Hello, World!");
    EXPECT_EQ(hello.header("Content-Type"), "text/plain");

    HttpReply json = get("/hello-c/json?name=C");
    EXPECT_EQ(json.status, 200);
    EXPECT_EQ(json.header("X-Hello-Filter"), "hello-c-filter");
    EXPECT_EQ(json.body, "{\"greeting\":\"Bonjour, C!\",\"servlet\":\"json\",\"context\":\"/hello-c\"}");

    HttpReply post = request("POST", "/hello-c/hello", "x=1");
    EXPECT_EQ(post.status, 405);
    EXPECT_EQ(post.header("Allow"), "GET, HEAD");

    HttpReply head = request("HEAD", "/hello-c/hello");
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.header("Content-Length"), "13");
    EXPECT_THAT(get("/hello-c/").body, HasSubstr("Hello sample in C"));
}

// ---- forms ----------------------------------------------------------------------------------------

TEST_F(SdkEndToEndTest, FormsEchoesQueryParametersEscaped)
{
    HttpReply reply = get("/forms/search?q=%3Cb%3Ex%3C%2Fb%3E&tag=news&tag=docs");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.header("Content-Type"), "text/html; charset=utf-8");
    EXPECT_THAT(reply.body, HasSubstr("<span id=\"q\">&lt;b&gt;x&lt;/b&gt;</span>"));
    EXPECT_THAT(reply.body, HasSubstr("<li>news</li>\n<li>docs</li>"));
}

TEST_F(SdkEndToEndTest, FormsPostRedirectsWith303ThenGetShowsTheName)
{
    HttpReply post = request("POST", "/forms/submit", "name=Ada+Lovelace&message=hi",
                             {{"Content-Type", "application/x-www-form-urlencoded"}});
    EXPECT_EQ(post.status, 303);
    EXPECT_EQ(post.header("Location"), "/forms/thanks?name=Ada%20Lovelace");
    HttpReply thanks = get(post.header("Location"));
    EXPECT_EQ(thanks.status, 200);
    EXPECT_THAT(thanks.body, HasSubstr("Thank you, <span id=\"name\">Ada Lovelace</span>!"));
}

// The POST is forwarded to /error.html: the DefaultServlet serves error pages for ERROR
// dispatches whatever the method (as Tomcat's does).
TEST_F(SdkEndToEndTest, FormsPostErrorUsesTheAppsErrorPage)
{
    HttpReply reply = request("POST", "/forms/submit", "message=hi",
                              {{"Content-Type", "application/x-www-form-urlencoded"}});
    EXPECT_EQ(reply.status, 400);
    EXPECT_THAT(reply.body, HasSubstr("id=\"forms-error\""));
}

TEST_F(SdkEndToEndTest, FormsGetOnPostOnlyServletIs405)
{
    HttpReply reply = get("/forms/submit");
    EXPECT_EQ(reply.status, 405);
    EXPECT_EQ(reply.header("Allow"), "POST, OPTIONS");
}

TEST_F(SdkEndToEndTest, FormsUnknownPathGetsTheApps404Page)
{
    HttpReply reply = get("/forms/nowhere");
    EXPECT_EQ(reply.status, 404);
    EXPECT_THAT(reply.body, HasSubstr("id=\"forms-404\""));
}

TEST_F(SdkEndToEndTest, FormsThrowingServletGets500ErrorPageAndOneLogLine)
{
    HttpReply reply = get("/forms/boom");
    EXPECT_EQ(reply.status, 500);
    EXPECT_THAT(reply.body, HasSubstr("id=\"forms-error\""));
    EXPECT_TRUE(server->waitForLog("app \"forms\" servlet \"boom\": boom: this servlet fails on purpose"))
        << server->log();
}

TEST_F(SdkEndToEndTest, FormsListenerSeesContextAndRequests)
{
    HttpReply first = get("/forms/stats");
    HttpReply second = get("/forms/stats");
    EXPECT_EQ(first.status, 200);
    EXPECT_THAT(first.body, HasSubstr("started yes"));
    long a = std::stol(first.body.substr(first.body.find(' ') + 1));
    long b = std::stol(second.body.substr(second.body.find(' ') + 1));
    EXPECT_GE(a, 1);
    EXPECT_EQ(b, a + 1);
}

// ---- sessions ---------------------------------------------------------------------------------------

TEST_F(SdkEndToEndTest, SessionsLogsInReadsAndCountsVisits)
{
    EXPECT_EQ(get("/sessions/hello").status, 401) << "nobody logged in";
    HttpReply login = get("/sessions/login?user=World");
    ASSERT_EQ(login.status, 200) << login.raw;
    EXPECT_EQ(login.body, "Hello, World!");
    std::string setCookie = login.header("Set-Cookie");
    ASSERT_EQ(setCookie.rfind("SERVALSESSION=", 0), 0u) << setCookie;
    std::string cookie = setCookie.substr(0, setCookie.find(';'));
    EXPECT_EQ(get("/sessions/hello", {{"Cookie", cookie}}).body, "Hello, World!");
    EXPECT_EQ(get("/sessions/visit", {{"Cookie", cookie}}).body, "Hello, World!");
    EXPECT_EQ(get("/sessions/visit", {{"Cookie", cookie}}).body, "Hello, World!");
    EXPECT_EQ(get("/sessions/visits", {{"Cookie", cookie}}).body, "2");

    HttpReply again = get("/sessions/login?user=Ann", {{"Cookie", cookie}});
    std::string renewed = again.header("Set-Cookie");
    EXPECT_NE(renewed.substr(0, renewed.find(';')), cookie) << "a login changes the session id";
    EXPECT_EQ(get("/sessions/hello", {{"Cookie", cookie}}).status, 401) << "the old id is retired";
}

// ---- what crosses the ABI -------------------------------------------------------------------------

TEST_F(SdkEndToEndTest, RequestResponseContextAndConfigCrossTheAbi)
{
    HttpReply reply = request("POST", "/features/echo/a%20b/c?a=1&a=2", "a=3&z=9",
                              {{"X-Test", "hi"},
                               {"Cookie", "session=abc; other=x"},
                               {"Content-Type", "application/x-www-form-urlencoded"}});
    ASSERT_EQ(reply.status, 200) << reply.body;
    auto v = keyValueLines(reply.body);
    EXPECT_EQ(v["method"], "POST");
    EXPECT_EQ(v["uri"], "/features/echo/a%20b/c");
    EXPECT_EQ(v["context"], "/features");
    EXPECT_EQ(v["servletPath"], "/echo");
    EXPECT_EQ(v["pathInfo"], "/a b/c");
    EXPECT_EQ(v["query"], "a=1&a=2");
    EXPECT_EQ(v["protocol"], "HTTP/1.1");
    EXPECT_EQ(v["scheme"], "http");
    EXPECT_EQ(v["serverName"], "localhost");
    EXPECT_EQ(v["remote"], "127.0.0.1 port");
    EXPECT_EQ(v["local"], "127.0.0.1 " + std::to_string(server->port()));
    EXPECT_EQ(v["contentType"], "application/x-www-form-urlencoded");
    EXPECT_EQ(v["header.x-test"], "hi");
    EXPECT_EQ(v["xHeaders"], "1");
    EXPECT_EQ(v["param.a"], "1");
    EXPECT_EQ(v["params.a"], "1;2;3;");
    EXPECT_EQ(v["params"], "4");
    EXPECT_EQ(v["cookie.session"], "abc");
    EXPECT_EQ(v["cookies"], "2");
    EXPECT_EQ(v["attribute"], "yes");
    EXPECT_EQ(v["attributeRemoved"], "(none)");
    EXPECT_EQ(v["body"], "a=3&z=9");
    EXPECT_EQ(v["contentLength"], "7");
    EXPECT_EQ(v["ctx.path"], "/features");
    EXPECT_EQ(v["ctx.name"], "Features");
    EXPECT_EQ(v["ctx.param"], "green");
    EXPECT_EQ(v["ctx.attribute"], "1");
    EXPECT_EQ(v["ctx.realPath"], "/index.html");
    EXPECT_EQ(v["response.header"], "1");

    EXPECT_EQ(reply.header("X-Features"), "1");
    int multi = 0;
    for (const auto& [name, value] : reply.headers) {
        if (name == "X-Multi") ++multi;
    }
    EXPECT_EQ(multi, 2);
    std::string cookie = reply.header("Set-Cookie");
    EXPECT_THAT(cookie, StartsWith("flavour=oatmeal"));
    EXPECT_THAT(cookie, HasSubstr("Path=/features"));
    EXPECT_THAT(cookie, HasSubstr("Max-Age=60"));
    EXPECT_THAT(cookie, HasSubstr("HttpOnly"));
    EXPECT_THAT(cookie, HasSubstr("SameSite=Lax"));
    EXPECT_TRUE(server->waitForLog("features: echo served"));
}

TEST_F(SdkEndToEndTest, PathInfoIsNullWhenTheServletPathIsTheWholePath)
{
    EXPECT_EQ(keyValueLines(get("/features/echo").body)["pathInfo"], "(null)");
}

TEST_F(SdkEndToEndTest, FlushStreamsChunks)
{
    HttpReply reply = get("/features/stream");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.header("Transfer-Encoding"), "chunked");
    EXPECT_EQ(reply.body, "chunk 1\nchunk 2\nchunk 3\ncommitted\n");
}

TEST_F(SdkEndToEndTest, HeaderInjectionIsRefusedByTheHost)
{
    HttpReply reply = get("/features/inject");
    EXPECT_EQ(reply.body, "refused " + std::to_string(SERVAL_INVALID_ARGUMENT));
    EXPECT_FALSE(reply.hasHeader("X-Evil"));
    EXPECT_THAT(reply.raw, Not(HasSubstr("stolen")));
}

TEST_F(SdkEndToEndTest, NonStandardExceptionBecomes500AndALogLine)
{
    EXPECT_EQ(get("/features/int").status, 500);
    EXPECT_TRUE(server->waitForLog(
        "app \"features\" servlet \"int\": unknown exception (not derived from std::exception)"));
    EXPECT_EQ(keyValueLines(get("/features/echo").body)["method"], "GET");
}

// ---- refusals: one sentence each, everything else keeps serving ------------------------------------

TEST_F(SdkEndToEndTest, RefusedLibrariesAreLoggedWithTheirSentence)
{
    // The deployer's ELF check (before any dlopen) words these two; the loader's own sentences are
    // checked word for word in AppLoaderTest.
    EXPECT_TRUE(server->waitForLog("libno_entry.so does not export serval_app_init_v1")) << server->log();
    EXPECT_TRUE(server->waitForLog("libother_major.so exports serval_app_init_v2 (ABI 2.x)"))
        << server->log();
    EXPECT_THAT(server->log(), HasSubstr("rebuild it against SDK 1.x"));
    EXPECT_TRUE(
        server->waitForLog("app \"refused-newer_minor\" was built for ABI 1.7; this container provides 1." +
                           std::to_string(SERVAL_ABI_MINOR)))
        << server->log();
    EXPECT_TRUE(server->waitForLog("app \"refused-short_struct\": its descriptor (serval_app_t) is 40 bytes"))
        << server->log();
    EXPECT_TRUE(server->waitForLog(
        "app \"refused-init_fails\": initialisation failed: the database is not configured"))
        << server->log();
    EXPECT_TRUE(server->waitForLog(
        "app \"refused-init_throws\": initialisation failed: cannot read the configuration"))
        << server->log();
    EXPECT_TRUE(server->waitForLog("app \"refused-unresolved\": cannot load libunresolved.so"))
        << server->log();
    for (const char* refused : {"no_entry", "other_major", "newer_minor", "short_struct", "init_fails"}) {
        HttpReply reply = get(std::string("/refused-") + refused + "/ok");
        EXPECT_NE(reply.status, 200) << refused;
        EXPECT_NE(reply.status, 0) << refused << ": the server must answer";
    }
    EXPECT_EQ(get("/hello/hello").body, "Hello, World!");
}

TEST_F(SdkEndToEndTest, ThrowingServletGets500WithoutPartialOutputAndTheAppKeepsServing)
{
    HttpReply reply = get("/throwing/fail");
    EXPECT_EQ(reply.status, 500);
    EXPECT_THAT(reply.body, Not(HasSubstr("partial output")));
    EXPECT_TRUE(server->waitForLog("app \"throwing\" servlet \"fail\": servlet exploded")) << server->log();
    EXPECT_EQ(get("/throwing/ok").body, "ok");
    EXPECT_EQ(get("/throwing/fail").status, 500);
}

TEST_F(SdkEndToEndTest, ThrowingFilterGets500AndTheAppKeepsServing)
{
    EXPECT_EQ(get("/filtering/fail").status, 500);
    EXPECT_TRUE(server->waitForLog("app \"filtering\" filter \"exploding\": filter exploded"))
        << server->log();
    EXPECT_EQ(get("/filtering/ok").body, "ok");
}

TEST_F(SdkEndToEndTest, AppsWithTheSameSymbolsAndSingletonDoNotShareState)
{
    std::string a1 = get("/iso-a/count").body;
    std::string a2 = get("/iso-a/count").body;
    std::string b1 = get("/iso-b/count").body;
    EXPECT_THAT(a1, StartsWith("a "));
    EXPECT_EQ(b1, "b 1 b");
    EXPECT_EQ(std::stol(a2.substr(2)), std::stol(a1.substr(2)) + 1);
}

TEST_F(SdkEndToEndTest, AppBuiltWithClangAndLibcxxServes)
{
    if (!fs::exists(buildDir() + "/tests/fixtures/liblibcxx.so"))
        GTEST_SKIP() << "clang++/libc++ not installed";
    HttpReply reply = get("/libcxx/hello?b=2&a=1");
    EXPECT_EQ(reply.status, 200);
    EXPECT_THAT(reply.body, StartsWith("libc++ "));
    EXPECT_THAT(reply.body, HasSubstr("servlet hello a=1 b=2"));
    EXPECT_EQ(get("/libcxx/fail").status, 500);
    EXPECT_TRUE(server->waitForLog("app \"libcxx\" servlet \"fail\": libc++ exception"));
}

// ---- the helpers of ABI 1.1, from both C++ standard libraries --------------------------------------

TEST_F(SdkEndToEndTest, HelpersTypedPathAndQueryParametersAndContentNegotiation)
{
    for (const std::string& app : helperApps()) {
        std::string library = app == "helpers" ? "libstdc++" : "libc++";
        HttpReply json =
            get("/" + app + "/items/42/edit?limit=5&verbose=true", {{"Accept", "application/json"}});
        ASSERT_EQ(json.status, 200) << app << ": " << json.body;
        EXPECT_EQ(json.header("Content-Type"), "application/json; charset=utf-8");
        EXPECT_THAT(json.body,
                    StartsWith("{\"id\":42,\"limit\":5,\"verbose\":true,\"next\":\"edit\",\"library\":\"" +
                               library + "\",\"requests\":"));
        EXPECT_EQ(json.header("X-Helpers"), library);
        EXPECT_EQ(get("/" + app + "/items/7", {{"Accept", "text/html, application/json;q=0"}}).body,
                  "item 7");
        EXPECT_EQ(get("/" + app + "/items/7?limit=many").status, 400) << "not a number";
        HttpReply missing = get("/" + app + "/items/seven");
        EXPECT_EQ(missing.status, 404);
        EXPECT_EQ(missing.header("X-Helpers"), library) << "the ERROR filter wraps the container's page";
        EXPECT_EQ(get("/" + app + "/nowhere").header("X-Helpers"), library);
    }
}

TEST_F(SdkEndToEndTest, HelpersJsonInAndOut)
{
    for (const std::string& app : helperApps()) {
        std::map<std::string, std::string> json{{"Content-Type", "application/json"}};
        HttpReply created = request("POST", "/" + app + "/json", "{\"name\":\"Ada\"}", json);
        EXPECT_EQ(created.status, 201) << app;
        EXPECT_EQ(created.body, "{\"hello\":\"Ada\",\"chars\":3}");
        EXPECT_EQ(request("POST", "/" + app + "/json", "{\"name\":", json).status, 400);
        EXPECT_EQ(request("POST", "/" + app + "/json", "{\"nom\":1}", json).status, 400);
        EXPECT_EQ(request("POST", "/" + app + "/json", "name=Ada", {{"Content-Type", "text/plain"}}).status,
                  415);
    }
}

TEST_F(SdkEndToEndTest, HelpersMultipartUploadGivesPartsAndParameters)
{
    std::string body =
        "--b0undary\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nMy file\r\n"
        "--b0undary\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"notes.txt\"\r\n"
        "Content-Type: text/plain\r\n\r\n0123456789\r\n--b0undary--\r\n";
    std::map<std::string, std::string> type{{"Content-Type", "multipart/form-data; boundary=b0undary"}};
    for (const std::string& app : helperApps()) {
        HttpReply reply = request("POST", "/" + app + "/upload", body, type);
        EXPECT_EQ(reply.status, 200) << app << ": " << reply.body;
        EXPECT_EQ(reply.body, "title::7\ndoc:notes.txt:text/plain:10\ntitle=My file\n") << app;
        EXPECT_EQ(request("POST", "/" + app + "/upload", body.substr(0, body.size() - 6), type).status, 400);
    }
}

TEST_F(SdkEndToEndTest, HelpersTemplateEscapesAndCsrfGuardsThePost)
{
    for (const std::string& app : helperApps()) {
        HttpReply page = get("/" + app + "/page?q=%3Cscript%3E");
        ASSERT_EQ(page.status, 200) << app;
        EXPECT_THAT(page.body,
                    HasSubstr("<h1>A &amp; B</h1><ul><li>&lt;script&gt;</li><li><b>bold</b></li></ul>"));
        std::string cookie = page.header("Set-Cookie");
        EXPECT_THAT(cookie, StartsWith("csrf="));
        EXPECT_THAT(cookie, HasSubstr("HttpOnly"));
        EXPECT_THAT(cookie, HasSubstr("SameSite=Strict"));
        size_t at = page.body.find("value=\"") + 7;
        std::string token = page.body.substr(at, page.body.find('"', at) - at);
        std::string jar = cookie.substr(0, cookie.find(';'));
        std::map<std::string, std::string> form{{"Content-Type", "application/x-www-form-urlencoded"}};

        EXPECT_EQ(request("POST", "/" + app + "/post", "_csrf=" + token, form).status, 403) << "no cookie";
        form["Cookie"] = jar;
        EXPECT_EQ(request("POST", "/" + app + "/post", "_csrf=wrong", form).status, 403);
        HttpReply posted = request("POST", "/" + app + "/post", "_csrf=" + token, form);
        EXPECT_EQ(posted.status, 303);
        EXPECT_EQ(posted.header("Location"), "/" + app + "/page");
        EXPECT_THAT(posted.header("Set-Cookie"), StartsWith("flash=posted"))
            << "the cookie set before the redirect";
        form["Sec-Fetch-Site"] = "cross-site";
        EXPECT_EQ(request("POST", "/" + app + "/post", "_csrf=" + token, form).status, 403);
        std::string tampered = jar;
        tampered[6] = tampered[6] == 'A' ? 'B' : 'A';
        form = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Cookie", tampered}};
        EXPECT_EQ(request("POST", "/" + app + "/post", "_csrf=" + token, form).status, 403)
            << "unsigned cookie";
    }
}

TEST_F(SdkEndToEndTest, HelpersPasswordsTokensAndSignatures)
{
    for (const std::string& app : helperApps()) {
        // Three PBKDF2 rounds (hash, right, wrong) take seconds in a sanitizer build under load.
        HttpReply reply = httpRequest(server->port(), "POST", "/" + app + "/password",
                                      {{"Content-Type", "application/x-www-form-urlencoded"}},
                                      "password=s3cret", "127.0.0.1", std::chrono::seconds(60));
        EXPECT_EQ(reply.body, "scheme=pbkdf2-sha256\nright=yes\nwrong=no\ntoken=22\nsigned=user=ada\n"
                              "forged=(refused)\nequal=yes\n")
            << app;
    }
}

TEST_F(SdkEndToEndTest, HelpersDataDirectoryPersistsUnderData)
{
    EXPECT_EQ(get("/helpers/data").body, "visits=1");
    EXPECT_EQ(get("/helpers/data").body, "visits=2");
    EXPECT_EQ(readFile(base->file("data/localhost/helpers/visits")), "2");
}

// Runs last (gtest keeps declaration order): stops the server.
TEST_F(SdkEndToEndTest, ZzThrowingDestroyIsLoggedAtShutdownAndTheServerExitsCleanly)
{
    EXPECT_EQ(get("/destroying/ok").body, "ok");
    EXPECT_EQ(server->stop(), 0);
    EXPECT_THAT(server->log(), HasSubstr("app \"destroying\" servlet \"fail\": destroy exploded"));
}

} // namespace
