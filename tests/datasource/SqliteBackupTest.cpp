#include "DbHelpers.h"
#include "datasource/DataSource.h"
#include "support/ServalProcess.h"
#include "support/TempDir.h"

#include <atomic>
#include <chrono>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <thread>
#include <vector>

using namespace serval::datasource;
using serval::test::execOk;
using serval::test::scalar;
using serval::test::TempDir;

namespace {

DataSourceConfig sqliteAt(const std::string& path, unsigned maxConnections = 4)
{
    DataSourceConfig cfg;
    cfg.url = path;
    cfg.maxConnections = maxConnections;
    cfg.acquireTimeout = std::chrono::seconds(30);
    return cfg;
}

/// Each writer transaction moves one unit between two accounts and logs the move: in any
/// consistent copy the balances sum to zero and the log has one row per move.
void transfer(Connection& c, int64_t from, int64_t to)
{
    Statement* debit = c.prepare("UPDATE account SET balance = balance - 1 WHERE id = ?");
    Statement* credit = c.prepare("UPDATE account SET balance = balance + 1 WHERE id = ?");
    Statement* log = c.prepare("INSERT INTO moves (src, dst, pad) VALUES (?, ?, ?)");
    ASSERT_EQ(c.begin(), DbStatus::Ok) << c.lastError().describe();
    debit->bindInt64(1, from);
    credit->bindInt64(1, to);
    log->bindInt64(1, from);
    log->bindInt64(2, to);
    log->bindText(3, std::string(200, 'x'));
    ASSERT_EQ(debit->step(), StepResult::Done) << c.lastError().describe();
    ASSERT_EQ(credit->step(), StepResult::Done) << c.lastError().describe();
    ASSERT_EQ(log->step(), StepResult::Done) << c.lastError().describe();
    ASSERT_EQ(c.commit(), DbStatus::Ok) << c.lastError().describe();
    c.finish(debit);
    c.finish(credit);
    c.finish(log);
}

} // namespace

TEST(SqliteBackupTest, ACopyTakenUnderWriteLoadIsConsistent)
{
    TempDir tmp;
    DataSource source(sqliteAt(tmp.file("main.db")));
    {
        auto c = serval::test::lease(source);
        execOk(*c, "CREATE TABLE account (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL);"
                   "CREATE TABLE moves (id INTEGER PRIMARY KEY, src BIGINT, dst BIGINT, pad TEXT)");
        ASSERT_EQ(c->begin(), DbStatus::Ok);
        Statement* insert = c->prepare("INSERT INTO account VALUES (?, 0)");
        for (int i = 0; i < 100; ++i) {
            insert->bindInt64(1, i);
            ASSERT_EQ(insert->step(), StepResult::Done);
        }
        c->finish(insert);
        // A few MB, so that a copy takes long enough for writers to commit while it runs.
        execOk(*c, "INSERT INTO moves (src, dst, pad) WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + "
                   "1 FROM n "
                   "WHERE x < 20000) SELECT 0, 0, printf('%.200c', 'y') FROM n");
        ASSERT_EQ(c->commit(), DbStatus::Ok);
    }
    const int64_t seeded = 20000;

    std::atomic<bool> stop{false};
    std::atomic<int64_t> moves{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < 2; ++w) {
        writers.emplace_back([&, w] {
            auto c = serval::test::lease(source);
            for (int64_t i = 0; !stop; ++i) {
                transfer(*c, (i + w) % 100, (i * 7 + 3 + w) % 100);
                ++moves;
            }
        });
    }
    ASSERT_TRUE(serval::test::eventually([&] { return moves > 50; }));
    std::vector<std::string> copies;
    std::vector<int64_t> movesAtStart;
    // At least three copies, and on until one of them ran while a writer committed: a copy of a
    // few MB can finish before a descheduled writer gets the core back, so one try proves nothing
    // either way (a backup that blocked the writers would never see one, and fails the deadline).
    bool movedDuringACopy = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (int i = 0; i < 3 || (!movedDuringACopy && std::chrono::steady_clock::now() < deadline); ++i) {
        std::string copy = tmp.file("backup-" + std::to_string(i) + ".db");
        int64_t before = moves;
        source.backup(copy);
        if (moves > before) movedDuringACopy = true;
        copies.push_back(copy);
        movesAtStart.push_back(before);
    }
    stop = true;
    for (auto& w : writers)
        w.join();
    EXPECT_TRUE(movedDuringACopy) << "the writers were blocked while the backups ran";

    // Every 100 moves of a writer its transfers cancel out, so one copy may see every balance at
    // zero; that all of them do would mean no copy saw a write.
    int midFlight = 0;
    for (size_t i = 0; i < copies.size(); ++i) {
        EXPECT_FALSE(::access((copies[i] + ".partial").c_str(), F_OK) == 0);
        EXPECT_FALSE(::access((copies[i] + "-wal").c_str(), F_OK) == 0) << "a standalone file";
        DataSource restored(sqliteAt(copies[i], 1));
        auto c = serval::test::lease(restored);
        EXPECT_EQ(scalar(*c, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"), 1);
        EXPECT_EQ(scalar(*c, "SELECT sum(balance) FROM account"), 0) << "a half transaction in copy " << i;
        int64_t logged = scalar(*c, "SELECT count(*) FROM moves") - seeded;
        if (scalar(*c, "SELECT count(*) FROM account WHERE balance <> 0") > 0) ++midFlight;
        EXPECT_GE(logged, movesAtStart[i]);
    }
    EXPECT_GT(midFlight, 0) << "no copy holds a balance the writers moved";
}

TEST(SqliteBackupTest, FailuresNameTheFileAndLeaveNothingBehind)
{
    TempDir tmp;
    DataSource missing(sqliteAt(tmp.file("never-used.db")));
    try {
        missing.backup(tmp.file("copy.db"));
        FAIL() << "backed up a database that does not exist";
    } catch (const DataSourceError& e) {
        EXPECT_NE(std::string(e.what()).find("never-used.db"), std::string::npos) << e.what();
    }
    EXPECT_NE(::access(tmp.file("copy.db").c_str(), F_OK), 0);

    DataSource source(sqliteAt(tmp.file("main.db")));
    {
        auto c = serval::test::lease(source);
    }
    EXPECT_THROW(source.backup(tmp.file("no/such/dir/copy.db")), DataSourceError);

    DataSourceConfig pg;
    pg.type = DataSourceType::Postgresql;
    pg.url = "postgresql://serval@127.0.0.1:1/x";
    DataSource postgres(pg);
    try {
        postgres.backup(tmp.file("pg.db"));
        FAIL();
    } catch (const DataSourceError& e) {
        EXPECT_NE(std::string(e.what()).find("pg_dump"), std::string::npos) << e.what();
    }
}

TEST(SqliteBackupTest, EmbeddedDatabasesAreWalWithForeignKeys)
{
    TempDir tmp;
    DataSource source(sqliteAt(tmp.file("main.db")));
    auto c = serval::test::lease(source);
    Statement* mode = c->prepare("PRAGMA journal_mode");
    ASSERT_EQ(mode->step(), StepResult::Row);
    EXPECT_EQ(mode->columnText(0), "wal");
    c->finish(mode);
    EXPECT_EQ(scalar(*c, "PRAGMA foreign_keys"), 1);
    EXPECT_EQ(scalar(*c, "PRAGMA synchronous"), 2); // FULL
}
