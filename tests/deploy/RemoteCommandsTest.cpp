// servalctl's remote command table without a server: usage errors exit 2 before any
// connection, an unreachable server exits 1 with one line. Against a real server:
// tests/manager/ManagerHttpTest.cpp (ServalctlDrivesTheWholeLifecycleWithAToken).
#include "RemoteCommands.h"

#include <algorithm>
#include <gtest/gtest.h>
#include <sstream>
#include <unistd.h>

namespace {

struct Run
{
    int exit;
    std::string out;
    std::string err;
};

Run remote(const std::string& command, std::vector<std::string> args)
{
    std::ostringstream out;
    std::ostringstream err;
    args.insert(args.begin(), command);
    int exit = serval::deploy::runRemoteCommand(command, args, out, err);
    return {exit, out.str(), err.str()};
}

class RemoteCommandsTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        ::unsetenv("SERVAL_URL");
        ::unsetenv("SERVAL_TOKEN");
    }
};

TEST_F(RemoteCommandsTest, ContextPathCommandsNeedExactlyOnePath)
{
    for (const char* command : {"undeploy", "start", "stop", "reload", "restart-processes", "crashes"}) {
        auto run = remote(command, {"--url", "http://127.0.0.1:1", "--token", "t"});
        EXPECT_EQ(run.exit, 2) << command;
        EXPECT_EQ(
            run.err.rfind(std::string("servalctl ") + command + ": needs exactly one context path\n", 0), 0u)
            << run.err;
    }
    auto deploy = remote("deploy", {"--url", "http://127.0.0.1:1", "--token", "t", "a.sar", "b.sar"});
    EXPECT_EQ(deploy.exit, 2);
    EXPECT_EQ(deploy.err.rfind("servalctl deploy: needs exactly one FILE\n", 0), 0u) << deploy.err;
}

TEST_F(RemoteCommandsTest, UrlAndTokenAreRequiredAndChecked)
{
    auto noUrl = remote("list", {"--token", "t"});
    EXPECT_EQ(noUrl.exit, 2);
    EXPECT_EQ(noUrl.err, "servalctl list: give the server with --url http://HOST:PORT (or SERVAL_URL)\n");
    EXPECT_EQ(remote("list", {"--url", "http://127.0.0.1:1"}).exit, 2);
    auto https = remote("status", {"--url", "https://127.0.0.1:1", "--token", "t"});
    EXPECT_EQ(https.exit, 2);
    EXPECT_NE(https.err.find("put nginx in front"), std::string::npos) << https.err;
    EXPECT_EQ(remote("list", {"--url"}).err, "servalctl: --url needs a value\n");
    auto option = remote("list", {"--url", "http://127.0.0.1:1", "--token", "t", "--frob"});
    EXPECT_EQ(option.exit, 2);
    EXPECT_EQ(option.err.rfind("servalctl list: unknown option --frob\n", 0), 0u) << option.err;
}

TEST_F(RemoteCommandsTest, UnknownCommandIsAUsageError)
{
    auto run = remote("frobnicate", {});
    EXPECT_EQ(run.exit, 2);
    EXPECT_EQ(run.err.rfind("servalctl: unknown command frobnicate\n", 0), 0u) << run.err;
}

TEST_F(RemoteCommandsTest, UnreadableBundleAndUnreachableServerFailWithOneLine)
{
    auto missing = remote("deploy", {"--url", "http://127.0.0.1:1", "--token", "t", "/nonexistent/shop.sar"});
    EXPECT_EQ(missing.exit, 1);
    EXPECT_EQ(missing.err, "servalctl deploy: cannot read /nonexistent/shop.sar\n");
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    auto down = remote("history", {"--url", "http://127.0.0.1:1", "--token", "t", "/shop"});
    EXPECT_EQ(down.exit, 1);
    EXPECT_EQ(down.err.rfind("servalctl history: cannot reach http://127.0.0.1:1: ", 0), 0u) << down.err;
    EXPECT_EQ(std::count(down.err.begin(), down.err.end(), '\n'), 1) << down.err;
}

TEST_F(RemoteCommandsTest, OnlyDeployTakesSeveralServersWithOneTokenOrOnePerServer)
{
    const std::vector<std::string> two = {"--url", "http://127.0.0.1:1", "--url", "http://127.0.0.1:2"};
    std::vector<std::string> list = two;
    list.insert(list.end(), {"--token", "t"});
    auto several = remote("list", list);
    EXPECT_EQ(several.exit, 2);
    EXPECT_EQ(several.err,
              "servalctl list: give one --url (only deploy goes to several servers, one at a time)\n");

    std::vector<std::string> tokens = two;
    tokens.insert(tokens.end(), {"--token", "a", "--token", "b", "--token", "c", "shop.sar"});
    auto mismatch = remote("deploy", tokens);
    EXPECT_EQ(mismatch.exit, 2);
    EXPECT_NE(mismatch.err.find("once per --url, in the same order (2 urls, 3 tokens)"), std::string::npos)
        << mismatch.err;

    std::vector<std::string> bad = two;
    bad.insert(bad.end(), {"--url", "ftp://x", "--token", "t", "shop.sar"});
    EXPECT_EQ(remote("deploy", bad).exit, 2) << "every --url is checked before any server is touched";
}

TEST_F(RemoteCommandsTest, ARollingDeployStopsAtTheFirstServerThatFailsAndNamesTheOthers)
{
    char file[] = "/tmp/serval-rolling-XXXXXX";
    int fd = ::mkstemp(file);
    ASSERT_GE(fd, 0);
    ::close(fd);
    auto run = remote("deploy", {"--url", "http://127.0.0.1:1", "--url", "http://127.0.0.1:2", "--url",
                                 "http://127.0.0.1:3", "--token", "t", file, "--path", "/shop"});
    ::unlink(file);
    EXPECT_EQ(run.exit, 1);
    EXPECT_EQ(run.out, "");
    EXPECT_EQ(run.err.rfind("servalctl deploy: http://127.0.0.1:1: cannot reach it: ", 0), 0u) << run.err;
    EXPECT_NE(run.err.find("\nservalctl deploy: stopped at server 1 of 3; not touched: http://127.0.0.1:2 "
                           "http://127.0.0.1:3\n"),
              std::string::npos)
        << run.err;
}

} // namespace

TEST_F(RemoteCommandsTest, DeployOnServerNeedsAnAbsolutePathAndUploadsNothing)
{
    auto relative =
        remote("deploy", {"--url", "http://127.0.0.1:1", "--token", "t", "--on-server", "shop.sar"});
    EXPECT_EQ(relative.exit, 1);
    EXPECT_EQ(relative.err,
              "servalctl deploy: --on-server needs an absolute path on the server, not shop.sar\n");
    // An absolute path is sent as it is (the server reads it): here only the connection fails.
    auto absolute =
        remote("deploy", {"--url", "http://127.0.0.1:1", "--token", "t", "--on-server", "/srv/missing.sar"});
    EXPECT_EQ(absolute.exit, 1);
    EXPECT_NE(absolute.err.find("cannot reach"), std::string::npos) << absolute.err;
    EXPECT_EQ(remote("list", {"--url", "http://127.0.0.1:1", "--token", "t", "--on-server"}).exit, 2)
        << "deploy's option only";
}

TEST_F(RemoteCommandsTest, OnlyCrashesTakesAnId)
{
    auto run = remote("stop", {"--url", "http://127.0.0.1:1", "--token", "t", "/shop", "--id", "c1"});
    EXPECT_EQ(run.exit, 2);
    EXPECT_EQ(run.err.rfind("servalctl stop: unknown option --id\n", 0), 0u) << run.err;
    auto id = remote("crashes", {"--url", "http://127.0.0.1:1", "--token", "t", "/shop", "--id"});
    EXPECT_EQ(id.exit, 2);
    EXPECT_EQ(id.err, "servalctl: --id needs a value\n");
}
