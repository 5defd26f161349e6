// startup::raiseOpenFileLimit: the soft RLIMIT_NOFILE goes up to the hard one, and a hard limit
// below what the connectors allow is named in a warning (issue 15: 10,000 idle WebSockets).
#include "startup/OpenFileLimit.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

namespace serval::startup {
namespace {

struct OpenFileLimitTest : ::testing::Test
{
    void SetUp() override { ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0); }
    void TearDown() override { ::setrlimit(RLIMIT_NOFILE, &saved); }
    rlimit saved{};
};

TEST_F(OpenFileLimitTest, RaisesTheSoftLimitToTheHardOne)
{
    if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < 512) GTEST_SKIP() << "hard limit below 512";
    rlimit low{256, saved.rlim_max};
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
    config::ServerConfig config;
    config.connectors.resize(1);
    config.connectors[0].maxConnections = 100;
    OpenFileLimit limit = raiseOpenFileLimit(config);
    EXPECT_EQ(limit.before, 256u);
    EXPECT_EQ(limit.after, saved.rlim_max);
    EXPECT_EQ(limit.needed, 100 + kOpenFileReserve);
    EXPECT_EQ(limit.warning, "");
    rlimit now{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &now), 0);
    EXPECT_EQ(now.rlim_cur, saved.rlim_max);
}

TEST_F(OpenFileLimitTest, AHardLimitBelowMaxConnectionsIsNamed)
{
    if (saved.rlim_max == RLIM_INFINITY || saved.rlim_max > 1000000) GTEST_SKIP() << "no finite hard limit";
    config::ServerConfig config;
    config.connectors.resize(2);
    config.connectors[0].maxConnections = static_cast<uint32_t>(saved.rlim_max);
    config.connectors[1].maxConnections = 10;
    OpenFileLimit limit = raiseOpenFileLimit(config);
    EXPECT_NE(limit.warning.find("the open file limit is " + std::to_string(saved.rlim_max)),
              std::string::npos)
        << limit.warning;
    EXPECT_NE(limit.warning.find("maxConnections"), std::string::npos) << limit.warning;
}

} // namespace
} // namespace serval::startup
