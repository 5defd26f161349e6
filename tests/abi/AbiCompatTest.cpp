// The ABI's longest promise: apps built against ABI 1.0 (the frozen headers in
// tests/abi/frozen-1.0, C and C++ layer alike) load and behave unchanged in this host, whatever
// later minors appended (1.1: sessions).
#include "app/AppLoader.h"
#include "support/Fixtures.h"
#include "support/HttpClient.h"
#include "support/ServalProcess.h"
#include "support/TempDir.h"

#include <filesystem>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <serval/abi.h>

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

} // namespace

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
            // A 1.0 listener struct is shorter than 1.1's: it must still be accepted.
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
