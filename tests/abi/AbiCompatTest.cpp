// ABI 1.x is additive: an app built against the 1.0 headers (tests/abi/frozen-1.0, copied from
// the tree that released 1.0 and never edited) loads and passes in this host, whatever later
// minors appended. The fixtures are the same sources as tests/fixtures' C and C++ apps, built
// against those headers (serval_fixture(... FROZEN_1_0)).
#include "app/AppLoader.h"
#include "support/Fixtures.h"
#include "support/HttpClient.h"
#include "support/ServalProcess.h"
#include "support/TempDir.h"

#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <memory>
#include <serval/abi.h>
#include <sstream>

using namespace serval::test;
using ::testing::HasSubstr;

namespace {

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

} // namespace
