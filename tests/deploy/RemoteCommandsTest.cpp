// servalctl's remote command table without a server: usage errors exit 2 before any
// connection, an unreachable server exits 1 with one line. Against a real server:
// tests/manager/ManagerHttpTest.cpp (ServalctlDrivesTheWholeLifecycleWithAToken).
#include "RemoteCommands.h"

#include <algorithm>
#include <gtest/gtest.h>
#include <sstream>

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
    for (const char* command : {"undeploy", "start", "stop", "reload"}) {
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
