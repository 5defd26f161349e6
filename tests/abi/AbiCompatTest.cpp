// ABI 1.x is additive: an app built against the 1.0 headers (tests/abi/frozen-1.0, copied from
// the tree that released 1.0 and never edited; C and C++ layer alike) loads and behaves unchanged
// in this host, whatever later minors appended (1.1: sdk helpers; 1.2: sessions). The fixtures are the
// same sources as tests/fixtures' C and C++ apps, built against those headers
// (serval_fixture(... FROZEN_1_0)).
#include "app/AppLoader.h"
#include "support/Fixtures.h"
#include "support/HttpClient.h"
#include "support/ServalProcess.h"
#include "support/TempDir.h"

#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>
#include <filesystem>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <memory>
#include <serval/abi.h>
#include <sstream>

using namespace serval::test;
using ::testing::HasSubstr;

namespace {

namespace fs = std::filesystem;

void addApp(const TempDir& base, const std::string& context, const std::string& library,
            const std::string& webXml)
{
    std::string dir = "webapps/" + context + "/WEB-INF";
    base.write(dir + "/web.xml", webXml);
    makeDirs(base.file(dir + "/lib"));
    fs::copy_file(fixtureLibrary(library), base.file(dir + "/lib/lib" + library + ".so"));
}

std::string servlet(const std::string& name, const std::string& cls, const std::string& pattern)
{
    return "  <servlet><servlet-name>" + name + "</servlet-name><servlet-class>" + cls +
           "</servlet-class></servlet>\n  <servlet-mapping><servlet-name>" + name +
           "</servlet-name><url-pattern>" + pattern + "</url-pattern></servlet-mapping>\n";
}

std::string sourceDir()
{
    return env("SERVAL_SOURCE", SERVAL_SOURCE_DIR);
}

/// The hash abi.h.sha256 records for `version`, or "".
std::string recordedHash(const std::string& version)
{
    std::istringstream records(readFile(sourceDir() + "/sdk/include/serval/abi.h.sha256"));
    std::string line;
    while (std::getline(records, line)) {
        std::istringstream fields(line);
        std::string v, hash;
        fields >> v >> hash;
        if (v == version) return hash;
    }
    return {};
}

TEST(AbiCompatTest, TheFrozenHeaderIsTheReleased1_0)
{
    Poco::SHA2Engine sha(Poco::SHA2Engine::SHA_256);
    sha.update(readFile(sourceDir() + "/tests/abi/frozen-1.0/serval/abi.h"));
    EXPECT_EQ(Poco::DigestEngine::digestToHex(sha.digest()), recordedHash("1.0"))
        << "tests/abi/frozen-1.0 must stay the header ABI 1.0 was released with";
    EXPECT_GT(SERVAL_ABI_MINOR, 0) << "this host is newer than 1.0, or the test proves nothing";
}

TEST(AbiCompatTest, AppsBuiltFor1_0LoadAndCreateTheirClasses)
{
    for (const char* library : {"frozen_c", "frozen_features"}) {
        std::string error;
        std::shared_ptr<serval::core::AppModule> module =
            serval::app::loadAppModule(fixtureLibrary(library), "old", error);
        ASSERT_TRUE(module) << library << ": " << error;
        EXPECT_THAT(module->describe(), HasSubstr("(ABI 1.0)"));
        EXPECT_TRUE(module->declarations().servlets.empty()) << "1.0 classes declare nothing in code";
    }
    std::string error;
    auto module = serval::app::loadAppModule(fixtureLibrary("frozen_c"), "old", error);
    ASSERT_TRUE(module) << error;
    EXPECT_TRUE(module->createServlet("fixture.Ok", error)) << error;
    EXPECT_TRUE(module->createFilter("fixture.Pass", error)) << error;
}

class AbiCompatServerTest : public ::testing::Test
{
protected:
    static void SetUpTestSuite()
    {
        base = std::make_unique<TempDir>();
        base->write(
            "conf/server.xml",
            "<Server logFile=\"logs/serval.log\" accessLog=\"\">\n"
            "  <Connector address=\"127.0.0.1\" port=\"0\" ioThreads=\"1\" workerThreads=\"2\"/>\n"
            "  <Engine defaultHost=\"localhost\"><Host name=\"localhost\" appBase=\"webapps\"/></Engine>\n"
            "</Server>\n");
        installFixtureApp(
            *base, "c", "frozen_c",
            servletWebXml({{"ok", "fixture.Ok", "/ok"}},
                          "  <filter><filter-name>pass</filter-name><filter-class>fixture.Pass"
                          "</filter-class></filter>\n  <filter-mapping><filter-name>pass</filter-name>"
                          "<url-pattern>/*</url-pattern></filter-mapping>\n"));
        installFixtureApp(*base, "features", "frozen_features",
                          servletWebXml({{"echo", "features.Echo", "/echo/*"},
                                         {"stream", "features.Stream", "/stream"},
                                         {"inject", "features.Inject", "/inject"}},
                                        "  <display-name>Features</display-name>\n"));
        base->write("webapps/features/index.html", "features");
        server = std::make_unique<ServalProcess>(base->path());
        started = server->start();
    }
    static void TearDownTestSuite()
    {
        server.reset();
        base.reset();
    }
    void SetUp() override { ASSERT_TRUE(started) << server->error() << "\n" << server->log(); }
    static HttpReply get(const std::string& target) { return httpRequest(server->port(), "GET", target, {}); }

    static std::unique_ptr<TempDir> base;
    static std::unique_ptr<ServalProcess> server;
    static bool started;
};

std::unique_ptr<TempDir> AbiCompatServerTest::base;
std::unique_ptr<ServalProcess> AbiCompatServerTest::server;
bool AbiCompatServerTest::started = false;

TEST_F(AbiCompatServerTest, ACApp1_0ServesThroughItsFilter)
{
    HttpReply reply = get("/c/ok");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.body, "ok");
}

TEST_F(AbiCompatServerTest, ACppApp1_0SeesTheRequestAndWritesTheResponse)
{
    HttpReply reply = httpRequest(
        server->port(), "POST", "/features/echo/a%20b?a=1",
        {{"Cookie", "session=abc"}, {"Content-Type", "application/x-www-form-urlencoded"}}, "a=2");
    ASSERT_EQ(reply.status, 200) << reply.body;
    auto v = keyValueLines(reply.body);
    EXPECT_EQ(v["pathInfo"], "/a b");
    EXPECT_EQ(v["params.a"], "1;2;");
    EXPECT_EQ(v["cookie.session"], "abc");
    EXPECT_EQ(v["body"], "a=2");
    EXPECT_EQ(v["ctx.name"], "Features");
    EXPECT_EQ(reply.header("X-Features"), "1");
    EXPECT_THAT(reply.header("Set-Cookie"), HasSubstr("flavour=oatmeal"));

    HttpReply stream = get("/features/stream");
    EXPECT_EQ(stream.header("Transfer-Encoding"), "chunked");
    EXPECT_EQ(stream.body, "chunk 1\nchunk 2\nchunk 3\ncommitted\n");
    EXPECT_EQ(get("/features/inject").body, "refused " + std::to_string(SERVAL_INVALID_ARGUMENT));
}

TEST(AbiCompatTest, TheHostIsNewerThanTheFrozenHeaders)
{
    EXPECT_EQ(SERVAL_ABI_MAJOR, 1);
    EXPECT_GE(SERVAL_ABI_MINOR, 1);
}

TEST(AbiCompatTest, AppsBuiltForAbi10LoadAndSayWhatTheyWereBuiltFor)
{
    for (const char* name : {"frozen_c", "frozen_features"}) {
        std::string error;
        auto module = serval::app::loadAppModule(fixtureLibrary(name), "old", error);
        ASSERT_NE(module, nullptr) << name << ": " << error;
        EXPECT_EQ(module->describe(), std::string("lib") + name + ".so (ABI 1.0)");
        std::string classError;
        EXPECT_NE(module->createServlet(name == std::string("frozen_c") ? "fixture.Ok" : "features.Echo",
                                        classError),
                  nullptr)
            << classError;
        if (name == std::string("frozen_features")) {
            // A 1.0 listener struct is shorter than 1.2's: it must still be accepted.
            EXPECT_NE(module->createListener("features.Listener", classError), nullptr) << classError;
        }
    }
}

TEST(AbiCompatTest, AppsBuiltForAbi10ServeThroughTheRealServer)
{
    TempDir base;
    base.write("conf/server.xml",
               "<Server logFile=\"logs/serval.log\" accessLog=\"\">\n"
               "  <Connector address=\"127.0.0.1\" port=\"0\" ioThreads=\"1\" workerThreads=\"2\"/>\n"
               "  <Engine defaultHost=\"localhost\"><Host name=\"localhost\" appBase=\"webapps\"/></Engine>\n"
               "</Server>\n");
    addApp(base, "c", "frozen_c", "<web-app>\n" + servlet("ok", "fixture.Ok", "/ok") + "</web-app>\n");
    addApp(base, "features", "frozen_features",
           "<web-app>\n" + servlet("echo", "features.Echo", "/echo/*") +
               servlet("stream", "features.Stream", "/stream") +
               servlet("inject", "features.Inject", "/inject") +
               "  <listener><listener-class>features.Listener</listener-class></listener>\n</web-app>\n");
    ServalProcess server(base.path());
    ASSERT_TRUE(server.start()) << server.error();

    EXPECT_EQ(httpGet(server.port(), "/c/ok").body, "ok");

    HttpReply echo = httpGet(server.port(), "/features/echo/a?x=1", {{"Cookie", "session=abc"}});
    EXPECT_EQ(echo.status, 200);
    EXPECT_THAT(echo.body, HasSubstr("uri=/features/echo/a\n"));
    EXPECT_THAT(echo.body, HasSubstr("cookie.session=abc\n"));
    EXPECT_THAT(echo.body, HasSubstr("listener=ran\n"));
    EXPECT_THAT(echo.header("Set-Cookie"), HasSubstr("flavour=oatmeal"));

    HttpReply stream = httpGet(server.port(), "/features/stream");
    EXPECT_EQ(stream.status, 200);
    EXPECT_EQ(stream.header("Transfer-Encoding"), "chunked");

    EXPECT_THAT(httpGet(server.port(), "/features/inject").body, HasSubstr("refused"));
    EXPECT_EQ(ServalProcess::sanitizerReport(server.log()), "");
}

} // namespace
