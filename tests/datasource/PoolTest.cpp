#include "DbHelpers.h"
#include "EngineFixture.h"
#include "support/ServalProcess.h"

#include <atomic>
#include <thread>
#include <vector>

using namespace serval::datasource;
using serval::test::execOk;
using serval::test::scalar;

namespace {

class PoolTest : public serval::test::EngineTest
{
};

SERVAL_BOTH_ENGINES(PoolTest);

} // namespace

TEST_P(PoolTest, ExhaustedPoolTimesOutWithADistinctStatus)
{
    DataSourceConfig cfg = config(2);
    cfg.acquireTimeout = std::chrono::milliseconds(100);
    DataSource source(cfg);
    auto a = serval::test::lease(source);
    auto b = serval::test::lease(source);
    PooledConnection c;
    DbError error;
    auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(source.acquire(c, error), DbStatus::PoolTimeout);
    EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(100));
    EXPECT_FALSE(c);
    EXPECT_NE(error.message.find("no connection became free within 100 ms (all 2 in use)"), std::string::npos)
        << error.message;
    DataSourceStatsSnapshot stats = source.stats();
    EXPECT_EQ(stats.open, 2u);
    EXPECT_EQ(stats.inUse, 2u);
    EXPECT_EQ(stats.waits, 1u);
    EXPECT_EQ(stats.timeouts, 1u);

    b.release();
    EXPECT_EQ(source.acquire(c, error), DbStatus::Ok) << error.describe();
    EXPECT_EQ(source.stats().opened, 2u); // the returned connection was reused
}

TEST_P(PoolTest, AWaiterGetsTheConnectionReleasedMeanwhile)
{
    DataSourceConfig cfg = config(1);
    cfg.acquireTimeout = std::chrono::seconds(20);
    DataSource source(cfg);
    auto held = serval::test::lease(source);
    std::atomic<bool> got{false};
    std::thread waiter([&] {
        PooledConnection c;
        DbError error;
        got = source.acquire(c, error) == DbStatus::Ok && scalar(*c, "SELECT 3") == 3;
    });
    ASSERT_TRUE(serval::test::eventually([&] { return source.stats().waiting == 1; }));
    held.release();
    waiter.join();
    EXPECT_TRUE(got);
    EXPECT_EQ(source.stats().waits, 1u);
    EXPECT_EQ(source.stats().timeouts, 0u);
}

TEST_P(PoolTest, ManyThreadsShareABoundedPool)
{
    DataSourceConfig cfg = config(3);
    cfg.acquireTimeout = std::chrono::seconds(30);
    DataSource source(cfg);
    {
        auto c = serval::test::lease(source);
        execOk(*c, "CREATE TABLE counter (id BIGINT PRIMARY KEY, n BIGINT NOT NULL); INSERT INTO counter "
                   "VALUES (1, 0)");
    }
    constexpr int kThreads = 8;
    constexpr int kIncrements = 50;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < kIncrements; ++i) {
                PooledConnection c;
                DbError error;
                if (source.acquire(c, error) != DbStatus::Ok) {
                    ++failures;
                    continue;
                }
                Statement* update = c->prepare("UPDATE counter SET n = n + ? WHERE id = 1");
                bool ok = c->begin() == DbStatus::Ok && update != nullptr &&
                          update->bindInt64(1, 1) == DbStatus::Ok && update->step() == StepResult::Done &&
                          c->commit() == DbStatus::Ok;
                c->finish(update);
                if (!ok) ++failures;
            }
        });
    }
    for (auto& t : threads)
        t.join();
    EXPECT_EQ(failures, 0);
    auto c = serval::test::lease(source);
    EXPECT_EQ(scalar(*c, "SELECT n FROM counter"), kThreads * kIncrements);
    DataSourceStatsSnapshot stats = source.stats();
    EXPECT_LE(stats.opened, 3u);
    EXPECT_EQ(stats.acquires, 1u + kThreads * kIncrements + 1u);
}

TEST_P(PoolTest, ALeaseEndingInsideATransactionRollsItBack)
{
    DataSource source(config(1));
    {
        auto c = serval::test::lease(source);
        execOk(*c, "CREATE TABLE t (x BIGINT)");
        ASSERT_EQ(c->begin(), DbStatus::Ok);
        execOk(*c, "INSERT INTO t VALUES (1)");
        Statement* open = c->prepare("SELECT x FROM t");
        ASSERT_EQ(open->step(), StepResult::Row); // left open: the pool finishes it
    }
    auto c = serval::test::lease(source);
    EXPECT_FALSE(c->inTransaction());
    EXPECT_EQ(scalar(*c, "SELECT count(*) FROM t"), 0);
    EXPECT_EQ(source.stats().opened, 1u);
}

TEST_P(PoolTest, CloseIdleOpensFreshConnections)
{
    DataSource source(config(2));
    {
        auto c = serval::test::lease(source);
    }
    EXPECT_EQ(source.stats().open, 1u);
    source.closeIdle();
    EXPECT_EQ(source.stats().open, 0u);
    auto c = serval::test::lease(source);
    EXPECT_EQ(scalar(*c, "SELECT 1"), 1);
    EXPECT_EQ(source.stats().opened, 2u);
}

TEST_P(PoolTest, UnreachableDatabaseFailsAtOnce)
{
    DataSourceConfig cfg = config(2);
    if (isPostgres()) {
        cfg.url = "postgresql://serval@127.0.0.1:1/nosuch"; // port 1: nothing listens
    } else {
        cfg.url = tmp().file("no/such/dir/main.db");
    }
    cfg.acquireTimeout = std::chrono::seconds(30);
    DataSource source(cfg);
    PooledConnection c;
    DbError error;
    auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(source.acquire(c, error), DbStatus::ConnectionLost);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
    EXPECT_EQ(error.sqlState, "08001");
    EXPECT_NE(error.message.find("data source \"main\""), std::string::npos) << error.message;
    EXPECT_NE(error.message.find(cfg.url), std::string::npos) << error.message;
    DataSourceStatsSnapshot stats = source.stats();
    EXPECT_EQ(stats.connectFailures, 1u);
    EXPECT_EQ(stats.open, 0u); // the slot it reserved was given back
}

TEST_P(PoolTest, AConnectionTheServerClosedIsNotLentAgain)
{
    if (!isPostgres()) GTEST_SKIP() << "an SQLite connection cannot be closed from outside";
    DataSource source(config(2));
    auto victim = serval::test::lease(source);
    auto killer = serval::test::lease(source);
    int64_t pid = scalar(*victim, "SELECT pg_backend_pid()");
    Statement* kill = killer->prepare("SELECT pg_terminate_backend(CAST(? AS INTEGER))");
    kill->bindInt64(1, pid);
    ASSERT_EQ(kill->step(), StepResult::Row) << killer->lastError().describe();
    killer->finish(kill);
    // pg_terminate_backend only signals: wait until the backend has gone.
    ASSERT_TRUE(serval::test::eventually([&] {
        Statement* alive =
            killer->prepare("SELECT count(*) FROM pg_stat_activity WHERE pid = CAST(? AS INTEGER)");
        alive->bindInt64(1, pid);
        bool gone = alive->step() == StepResult::Row && alive->columnInt64(0) == 0;
        killer->finish(alive);
        return gone;
    }));
    killer.release();
    victim.release(); // it did no I/O since, so it looks fine: idle, and next in line (LIFO)
    auto c = serval::test::lease(source);
    EXPECT_NE(scalar(*c, "SELECT pg_backend_pid()"), pid);
    EXPECT_EQ(source.stats().discarded, 1u);
    EXPECT_EQ(source.stats().opened, 2u); // the other idle one was used, none opened
}

TEST_P(PoolTest, WrongPasswordIsRefused)
{
    if (!isPostgres()) GTEST_SKIP() << "SQLite has no password";
    tmp().write("wrong", "not-the-password\n");
    DataSourceConfig cfg = config(1);
    cfg.passwordFile = tmp().file("wrong");
    DataSource source(cfg);
    PooledConnection c;
    DbError error;
    EXPECT_EQ(source.acquire(c, error), DbStatus::ConnectionLost);
    EXPECT_NE(error.message.find("password authentication failed"), std::string::npos) << error.message;

    cfg.passwordFile = tmp().file("missing");
    DataSource missing(cfg);
    EXPECT_EQ(missing.acquire(c, error), DbStatus::Error);
    EXPECT_NE(error.message.find("cannot read passwordFile"), std::string::npos) << error.message;
}
