#include "session/RedisConnection.h"

#include <gtest/gtest.h>

using serval::session::RedisAddress;

TEST(RedisAddressTest, ParsesHostPortAndDatabase)
{
    RedisAddress a = RedisAddress::parse("redis://10.0.0.5:6380/3");
    EXPECT_EQ(a.host, "10.0.0.5");
    EXPECT_EQ(a.port, 6380);
    EXPECT_EQ(a.database, 3);
    EXPECT_EQ(a.describe(), "10.0.0.5:6380/3");

    RedisAddress d = RedisAddress::parse("redis://cache.internal");
    EXPECT_EQ(d.host, "cache.internal");
    EXPECT_EQ(d.port, 6379);
    EXPECT_EQ(d.database, 0);

    RedisAddress v6 = RedisAddress::parse("redis://[::1]:7000/1");
    EXPECT_EQ(v6.host, "::1");
    EXPECT_EQ(v6.port, 7000);
}

TEST(RedisAddressTest, CredentialsAreParsedAndNeverDescribed)
{
    RedisAddress a = RedisAddress::parse("redis://app:s%40cret@127.0.0.1:6379/0");
    EXPECT_EQ(a.user, "app");
    EXPECT_EQ(a.password, "s@cret");
    EXPECT_EQ(a.describe().find("cret"), std::string::npos);

    RedisAddress p = RedisAddress::parse("redis://:only-password@127.0.0.1");
    EXPECT_EQ(p.user, "");
    EXPECT_EQ(p.password, "only-password");
}

TEST(RedisAddressTest, ParsesUnixSockets)
{
    RedisAddress a = RedisAddress::parse("unix:///run/redis/redis.sock?db=2");
    EXPECT_EQ(a.socketPath, "/run/redis/redis.sock");
    EXPECT_EQ(a.database, 2);
    EXPECT_EQ(a.describe(), "unix:/run/redis/redis.sock/2");
}

TEST(RedisAddressTest, RejectsMalformedUrlsWithTheAcceptedForms)
{
    for (const char* bad : {"http://127.0.0.1", "redis://", "redis://:6379", "redis://h:0", "redis://h:99999",
                            "redis://h:port", "redis://h/x", "redis://user@h", "unix://relative.sock",
                            "unix:///s.sock?database=1", "redis://[::1"}) {
        try {
            RedisAddress::parse(bad);
            ADD_FAILURE() << bad << " was accepted";
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find("redis://[[user]:password@]host[:port][/db]"),
                      std::string::npos)
                << e.what();
        }
    }
}
