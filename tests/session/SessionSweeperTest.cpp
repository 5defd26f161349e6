#include "session/SessionSweeper.h"

#include "StoreFixture.h"
#include "session/SessionIdGenerator.h"

#include <gtest/gtest.h>

using namespace serval::session;
using serval::test::nowMillis;
using serval::test::sqliteOptions;
using serval::test::TempDir;

TEST(SessionSweeperTest, SweepsOncePerIntervalAndReportsWhatExpired)
{
    TempDir dir;
    SqliteSessionStore store(sqliteOptions(dir));
    const std::string scope = sessionScope("localhost", "/shop");
    int64_t t0 = nowMillis();
    std::string doomed = SessionIdGenerator::generateBase();
    ASSERT_EQ(store
                  .commitAndWait(scope, {SessionOp::create(doomed, t0, 1),
                                         SessionOp::create(SessionIdGenerator::generateBase(), t0, 600)})
                  .status,
              StoreStatus::Ok);
    std::vector<ExpiredSession> reported;
    SessionSweeper sweeper(store, 60000, [&](const std::vector<ExpiredSession>& e) {
        reported.insert(reported.end(), e.begin(), e.end());
    });
    EXPECT_EQ(sweeper.tick(t0 + 500), 0u);   // first sweep: nothing expired yet
    EXPECT_EQ(sweeper.tick(t0 + 2000), 0u);  // not due: the interval has not passed
    EXPECT_EQ(sweeper.tick(t0 + 60500), 1u); // due
    ASSERT_EQ(reported.size(), 1u);
    EXPECT_EQ(reported[0].id, doomed);
    EXPECT_EQ(reported[0].scope, scope);
    EXPECT_EQ(store.count(scope, t0 + 60500), 1u);
}

TEST(SessionSweeperTest, AStoreThatIsDownIsRetriedWithoutThrowing)
{
    RedisSessionStore::Options options = serval::test::redisOptions("redis://127.0.0.1:1/0", "x:");
    options.pool.connectTimeout = std::chrono::milliseconds(100);
    RedisSessionStore store(options);
    SessionSweeper sweeper(store, 1000);
    EXPECT_EQ(sweeper.tick(nowMillis()), 0u);
    EXPECT_EQ(sweeper.tick(nowMillis() + 1000), 0u);
}
