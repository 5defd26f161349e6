#include "DbHelpers.h"
#include "datasource/DataSource.h"
#include "support/PostgresServer.h"
#include "support/ServalProcess.h"

#include <atomic>
#include <gtest/gtest.h>
#include <thread>
#include <vector>

using namespace serval::datasource;
using serval::test::eventually;
using serval::test::PostgresServer;

// The server restarts under load: requests fail while it is down (fast, with ConnectionLost or
// the server's own 57P01, never hanging), and once it is back every thread succeeds again with
// no connection stuck in use and no broken one lent out.
TEST(PostgresRestartTest, ErrorsDuringTheOutageRecoveryAfterNoStuckConnection)
{
    PostgresServer server; // its own: restarting the shared one would disturb other tests
    std::string error;
    ASSERT_TRUE(server.start(error)) << error;
    ASSERT_TRUE(server.execute("postgres", "CREATE TABLE hits (n BIGINT)", error)) << error;

    DataSourceConfig cfg;
    cfg.type = DataSourceType::Postgresql;
    cfg.url = server.url("postgres");
    cfg.passwordFile = server.passwordFile();
    cfg.maxConnections = 4;
    cfg.acquireTimeout = std::chrono::seconds(5);
    cfg.statementTimeout = std::chrono::seconds(5);
    DataSource source(cfg);

    std::atomic<bool> stop{false};
    std::atomic<uint64_t> ok{0};
    std::atomic<uint64_t> failed{0};
    std::atomic<int64_t> slowestMillis{0};
    std::atomic<int> unexpected{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
        threads.emplace_back([&] {
            while (!stop) {
                auto started = std::chrono::steady_clock::now();
                PooledConnection c;
                DbError acquireError;
                bool success = false;
                DbStatus status = source.acquire(c, acquireError);
                if (status == DbStatus::Ok) {
                    Statement* insert = c->prepare("INSERT INTO hits (n) VALUES (?)");
                    success = insert != nullptr && insert->bindInt64(1, 1) == DbStatus::Ok &&
                              insert->step() == StepResult::Done;
                    if (!success) status = c->lastError().status;
                    c->finish(insert);
                    c.release();
                }
                if (!success && status != DbStatus::ConnectionLost && status != DbStatus::Error) ++unexpected;
                auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::steady_clock::now() - started)
                                  .count();
                if (millis > slowestMillis) slowestMillis = millis;
                if (success) {
                    ++ok;
                } else {
                    ++failed;
                    // Pace the retries while the server is down (load, not a wait for a condition).
                    std::this_thread::sleep_for(std::chrono::milliseconds(2));
                }
            }
        });
    }

    ASSERT_TRUE(eventually([&] { return ok > 200; }, std::chrono::seconds(30)));
    server.stop();
    uint64_t failedBefore = failed;
    ASSERT_TRUE(eventually([&] { return failed > failedBefore + 20; }, std::chrono::seconds(30)));
    ASSERT_TRUE(server.start(error)) << error;
    uint64_t okAfterRestart = ok;
    ASSERT_TRUE(eventually([&] { return ok > okAfterRestart + 200; }, std::chrono::seconds(30)))
        << "no recovery after the restart: " << source.stats().connectFailures << " connect failures";
    stop = true;
    for (auto& t : threads)
        t.join();

    EXPECT_EQ(unexpected, 0);
    EXPECT_LT(slowestMillis, 5000) << "a request hung during the outage";
    DataSourceStatsSnapshot stats = source.stats();
    EXPECT_EQ(stats.inUse, 0u);
    EXPECT_LE(stats.open, 4u);
    EXPECT_GE(stats.discarded + stats.connectFailures, 1u);
    // Every idle connection left works.
    std::vector<PooledConnection> all;
    for (unsigned i = 0; i < cfg.maxConnections; ++i) {
        all.push_back(serval::test::lease(source));
        EXPECT_EQ(serval::test::scalar(*all.back(), "SELECT 1"), 1);
    }
    all.clear();
    // No acknowledged insert was lost (one cut off mid-answer may have committed unacknowledged).
    auto c = serval::test::lease(source);
    EXPECT_GE(serval::test::scalar(*c, "SELECT count(*) FROM hits"), static_cast<int64_t>(ok.load()));
}
