#include "DbHelpers.h"
#include "EngineFixture.h"
#include "datasource/SqlText.h"

#include <cmath>
#include <limits>

using namespace serval::datasource;
using serval::test::execOk;
using serval::test::scalar;

namespace {

class DataSourceTest : public serval::test::EngineTest
{
protected:
    void createTable(Connection& c)
    {
        execOk(c, "CREATE TABLE item (id BIGINT PRIMARY KEY, price DOUBLE PRECISION, name TEXT, data BYTEA, "
                  "note TEXT)");
    }
};

SERVAL_BOTH_ENGINES(DataSourceTest);

} // namespace

TEST_P(DataSourceTest, BindsAndReadsEveryType)
{
    DataSource source(config());
    auto c = serval::test::lease(source);
    createTable(*c);
    std::string blob;
    for (int i = 0; i < 256; ++i)
        blob.push_back(static_cast<char>(i)); // NUL included
    const int64_t big = std::numeric_limits<int64_t>::max();

    Statement* insert = c->prepare("INSERT INTO item (id, price, name, data, note) VALUES (?, ?, ?, ?, ?)");
    ASSERT_NE(insert, nullptr) << c->lastError().describe();
    EXPECT_EQ(insert->parameterCount(), 5);
    EXPECT_EQ(insert->bindInt64(1, big), DbStatus::Ok);
    EXPECT_EQ(insert->bindDouble(2, 2.5), DbStatus::Ok);
    EXPECT_EQ(insert->bindText(3, "h\xC3\xA9llo \xE2\x9C\x93"), DbStatus::Ok);
    EXPECT_EQ(insert->bindBlob(4, blob), DbStatus::Ok);
    EXPECT_EQ(insert->bindNull(5), DbStatus::Ok);
    ASSERT_EQ(insert->step(), StepResult::Done) << c->lastError().describe();
    EXPECT_EQ(insert->changes(), 1);
    // Binding again starts the next run; an empty text and an empty blob are not NULL.
    insert->bindInt64(1, std::numeric_limits<int64_t>::min());
    insert->bindDouble(2, -0.125);
    insert->bindText(3, "");
    insert->bindBlob(4, "");
    insert->bindText(5, "second");
    ASSERT_EQ(insert->step(), StepResult::Done) << c->lastError().describe();
    c->finish(insert);

    Statement* select = c->prepare("SELECT id, price, name, data, note FROM item ORDER BY id DESC");
    ASSERT_NE(select, nullptr) << c->lastError().describe();
    ASSERT_EQ(select->columnCount(), 5); // known before the first step on both engines
    EXPECT_EQ(select->columnName(0), "id");
    EXPECT_EQ(select->columnName(4), "note");
    ASSERT_EQ(select->step(), StepResult::Row);
    EXPECT_EQ(select->columnType(0), ColumnType::Int64);
    EXPECT_EQ(select->columnInt64(0), big);
    EXPECT_EQ(select->columnType(1), ColumnType::Double);
    EXPECT_EQ(select->columnDouble(1), 2.5);
    EXPECT_EQ(select->columnType(2), ColumnType::Text);
    EXPECT_EQ(select->columnText(2), "h\xC3\xA9llo \xE2\x9C\x93");
    EXPECT_EQ(select->columnType(3), ColumnType::Blob);
    EXPECT_EQ(select->columnBlob(3), blob);
    EXPECT_EQ(select->columnType(4), ColumnType::Null);
    EXPECT_EQ(select->columnText(4), "");
    EXPECT_EQ(select->columnInt64(4), 0);
    EXPECT_EQ(select->columnType(9), ColumnType::Null); // out of range reads as NULL
    ASSERT_EQ(select->step(), StepResult::Row);
    EXPECT_EQ(select->columnInt64(0), std::numeric_limits<int64_t>::min());
    EXPECT_EQ(select->columnDouble(1), -0.125);
    EXPECT_EQ(select->columnType(2), ColumnType::Text);
    EXPECT_EQ(select->columnText(2), "");
    EXPECT_EQ(select->columnType(3), ColumnType::Blob);
    EXPECT_EQ(select->columnBlob(3), "");
    EXPECT_EQ(select->columnText(4), "second");
    EXPECT_EQ(select->step(), StepResult::Done);
    EXPECT_EQ(select->changes(), 0);
    c->finish(select);
}

TEST_P(DataSourceTest, NumbersConvertBetweenColumnTypes)
{
    DataSource source(config());
    auto c = serval::test::lease(source);
    Statement* s = c->prepare("SELECT 42, 2.75, '17', ? ");
    ASSERT_NE(s, nullptr) << c->lastError().describe();
    s->bindText(1, "3.5");
    ASSERT_EQ(s->step(), StepResult::Row) << c->lastError().describe();
    EXPECT_EQ(s->columnText(0), "42");
    EXPECT_EQ(s->columnDouble(0), 42.0);
    EXPECT_EQ(s->columnInt64(1), 2);
    EXPECT_EQ(s->columnInt64(2), 17);
    EXPECT_EQ(s->columnDouble(3), 3.5);
    c->finish(s);
}

TEST_P(DataSourceTest, SpecialDoublesRoundTrip)
{
    if (!isPostgres()) GTEST_SKIP() << "SQLite stores NaN as NULL";
    DataSource source(config());
    auto c = serval::test::lease(source);
    Statement* s = c->prepare("SELECT CAST(? AS DOUBLE PRECISION), CAST(? AS DOUBLE PRECISION)");
    ASSERT_NE(s, nullptr);
    s->bindDouble(1, std::numeric_limits<double>::infinity());
    s->bindDouble(2, std::nan(""));
    ASSERT_EQ(s->step(), StepResult::Row) << c->lastError().describe();
    EXPECT_TRUE(std::isinf(s->columnDouble(0)));
    EXPECT_TRUE(std::isnan(s->columnDouble(1)));
    c->finish(s);
}

TEST_P(DataSourceTest, ChangesCountRowsTouched)
{
    DataSource source(config());
    auto c = serval::test::lease(source);
    createTable(*c);
    execOk(*c, "INSERT INTO item (id, name) VALUES (1, 'a'); INSERT INTO item (id, name) VALUES (2, 'b');"
               "INSERT INTO item (id, name) VALUES (3, 'c')");
    Statement* update = c->prepare("UPDATE item SET note = ? WHERE id >= ?");
    ASSERT_NE(update, nullptr);
    update->bindText(1, "x");
    update->bindInt64(2, 2);
    ASSERT_EQ(update->step(), StepResult::Done);
    EXPECT_EQ(update->changes(), 2);
    // Stepping after Done runs it again with the same bindings.
    ASSERT_EQ(update->step(), StepResult::Done);
    EXPECT_EQ(update->changes(), 2);
    c->finish(update);
    Statement* remove = c->prepare("DELETE FROM item WHERE id = ?");
    remove->bindInt64(1, 1);
    ASSERT_EQ(remove->step(), StepResult::Done);
    EXPECT_EQ(remove->changes(), 1);
    c->finish(remove);
    EXPECT_EQ(scalar(*c, "SELECT count(*) FROM item WHERE note = 'x'"), 2);
}

TEST_P(DataSourceTest, RowsStepInOrderAndResetStopsEarly)
{
    DataSource source(config());
    auto c = serval::test::lease(source);
    createTable(*c);
    Statement* insert = c->prepare("INSERT INTO item (id) VALUES (?)");
    for (int i = 1; i <= 50; ++i) {
        insert->bindInt64(1, i);
        ASSERT_EQ(insert->step(), StepResult::Done) << c->lastError().describe();
    }
    c->finish(insert);
    Statement* select = c->prepare("SELECT id FROM item WHERE id > ? ORDER BY id");
    select->bindInt64(1, 10);
    int64_t expected = 11;
    while (select->step() == StepResult::Row)
        EXPECT_EQ(select->columnInt64(0), expected++);
    EXPECT_EQ(expected, 51);
    select->bindInt64(1, 40);
    ASSERT_EQ(select->step(), StepResult::Row);
    EXPECT_EQ(select->columnInt64(0), 41);
    select->reset(); // stop early, run again with the same binding
    ASSERT_EQ(select->step(), StepResult::Row);
    EXPECT_EQ(select->columnInt64(0), 41);
    c->finish(select);
}

TEST_P(DataSourceTest, PlaceholdersInQuotesAndCommentsAreNotParameters)
{
    DataSource source(config());
    auto c = serval::test::lease(source);
    Statement* s = c->prepare("SELECT '?' AS \"q?\", ? AS p -- and ?\n");
    ASSERT_NE(s, nullptr) << c->lastError().describe();
    EXPECT_EQ(s->parameterCount(), 1);
    s->bindText(1, "bound");
    ASSERT_EQ(s->step(), StepResult::Row) << c->lastError().describe();
    EXPECT_EQ(s->columnName(0), "q?");
    EXPECT_EQ(s->columnText(0), "?");
    EXPECT_EQ(s->columnText(1), "bound");
    c->finish(s);
}

TEST_P(DataSourceTest, StatementsAreCachedPerConnection)
{
    DataSource source(config());
    auto c = serval::test::lease(source);
    Statement* first = c->prepare("SELECT 1");
    ASSERT_NE(first, nullptr);
    Statement* concurrent = c->prepare("SELECT 1"); // the first is still out: a second one
    EXPECT_NE(first, concurrent);
    c->finish(first);
    c->finish(concurrent);
    EXPECT_EQ(c->prepare("SELECT 1"), first);
    EXPECT_EQ(c->cachedStatements(), 2u);
    c->finishAll();
    c.release();
    // The same connection comes back from the pool with its statements prepared.
    auto again = serval::test::lease(source);
    EXPECT_EQ(again->cachedStatements(), 2u);
}

TEST_P(DataSourceTest, MisuseIsReportedNotFatal)
{
    DataSource source(config());
    auto c = serval::test::lease(source);
    Statement* s = c->prepare("SELECT ?");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->bindInt64(0, 1), DbStatus::Misuse);
    EXPECT_EQ(s->bindInt64(2, 1), DbStatus::Misuse);
    EXPECT_NE(c->lastError().message.find("out of range"), std::string::npos) << c->lastError().message;
    c->finish(s);
    EXPECT_EQ(c->prepare("   -- nothing\n"), nullptr);
    EXPECT_NE(c->lastError().status, DbStatus::Ok);
    if (isPostgres()) {
        Statement* text = c->prepare("SELECT CAST(? AS TEXT)");
        EXPECT_EQ(text->bindText(1, std::string_view("a\0b", 3)), DbStatus::Misuse);
        c->finish(text);
    }
    EXPECT_EQ(scalar(*c, "SELECT 7"), 7); // still usable
}

TEST_P(DataSourceTest, ErrorsCarryPortableSqlStates)
{
    DataSource source(config());
    auto c = serval::test::lease(source);
    execOk(*c, "CREATE TABLE parent (id BIGINT PRIMARY KEY);"
               "CREATE TABLE child (id BIGINT PRIMARY KEY, parent BIGINT NOT NULL REFERENCES parent (id),"
               " qty BIGINT CHECK (qty > 0));"
               "INSERT INTO parent (id) VALUES (1)");
    auto stateOf = [&](const std::string& sql) {
        EXPECT_EQ(c->exec(sql), DbStatus::Error) << sql;
        return c->lastError().sqlState;
    };
    EXPECT_EQ(stateOf("INSERT INTO parent (id) VALUES (1)"), "23505");
    EXPECT_EQ(stateOf("INSERT INTO child (id, parent) VALUES (1, 99)"), "23503");
    EXPECT_EQ(stateOf("INSERT INTO child (id, parent) VALUES (1, NULL)"), "23502");
    EXPECT_EQ(stateOf("INSERT INTO child (id, parent, qty) VALUES (1, 1, -5)"), "23514");
    EXPECT_EQ(stateOf("SELECT * FROM nosuch"), "42P01");
    EXPECT_EQ(stateOf("SELECT nosuch FROM parent"), "42703");
    EXPECT_EQ(stateOf("SELEC 1"), "42601");
    EXPECT_EQ(stateOf("CREATE TABLE parent (id BIGINT)"), "42P07");
    EXPECT_FALSE(c->lastError().message.empty());
    EXPECT_NE(c->lastError().describe().find("(SQLSTATE 42P07)"), std::string::npos);
}

TEST_P(DataSourceTest, ExecPointsAtTheFailingStatement)
{
    DataSource source(config());
    auto c = serval::test::lease(source);
    std::string script = "CREATE TABLE a (x BIGINT);\n"
                         "INSERT INTO a VALUES (1);\n"
                         "\n"
                         "-- the bad one:\n"
                         "INSERT INTO\n  nosuch VALUES (1);\n"
                         "INSERT INTO a VALUES (2);\n";
    ASSERT_EQ(c->exec(script), DbStatus::Error);
    const DbError& error = c->lastError();
    ASSERT_GE(error.offset, 0);
    // The statement starts on line 5; both engines point at "nosuch" on line 6 or its start.
    unsigned line = serval::datasource::lineOf(script, static_cast<size_t>(error.offset));
    EXPECT_TRUE(line == 5 || line == 6) << line;
    EXPECT_EQ(error.sqlState, "42P01");
    // The statements before it ran (no transaction), the one after did not.
    EXPECT_EQ(scalar(*c, "SELECT count(*) FROM a"), 1);
}

TEST_P(DataSourceTest, TransactionsCommitAndRollBack)
{
    DataSource source(config());
    auto c = serval::test::lease(source);
    createTable(*c);
    EXPECT_FALSE(c->inTransaction());
    ASSERT_EQ(c->begin(), DbStatus::Ok) << c->lastError().describe();
    EXPECT_TRUE(c->inTransaction());
    execOk(*c, "INSERT INTO item (id) VALUES (1)");
    ASSERT_EQ(c->rollback(), DbStatus::Ok);
    EXPECT_FALSE(c->inTransaction());
    EXPECT_EQ(scalar(*c, "SELECT count(*) FROM item"), 0);

    ASSERT_EQ(c->begin(), DbStatus::Ok);
    execOk(*c, "INSERT INTO item (id) VALUES (2)");
    ASSERT_EQ(c->commit(), DbStatus::Ok) << c->lastError().describe();
    EXPECT_EQ(scalar(*c, "SELECT count(*) FROM item"), 1);

    // A statement that fails inside a transaction: rolling back leaves nothing behind.
    ASSERT_EQ(c->begin(), DbStatus::Ok);
    execOk(*c, "INSERT INTO item (id) VALUES (3)");
    EXPECT_EQ(c->exec("INSERT INTO item (id) VALUES (2)"), DbStatus::Error);
    ASSERT_EQ(c->rollback(), DbStatus::Ok);
    EXPECT_EQ(scalar(*c, "SELECT count(*) FROM item"), 1);
}

TEST_P(DataSourceTest, CommitAfterAFailedStatementIsRefusedOnPostgres)
{
    if (!isPostgres()) GTEST_SKIP() << "SQLite rolls back only the failed statement";
    DataSource source(config());
    auto c = serval::test::lease(source);
    createTable(*c);
    ASSERT_EQ(c->begin(), DbStatus::Ok);
    execOk(*c, "INSERT INTO item (id) VALUES (1)");
    EXPECT_EQ(c->exec("INSERT INTO item (id) VALUES (1)"), DbStatus::Error);
    EXPECT_EQ(c->commit(), DbStatus::Error);
    EXPECT_EQ(c->lastError().sqlState, "25P02");
    EXPECT_FALSE(c->inTransaction());
    EXPECT_EQ(scalar(*c, "SELECT count(*) FROM item"), 0);
}

TEST_P(DataSourceTest, StatementTimeoutCancelsAndTheConnectionStaysUsable)
{
    DataSourceConfig cfg = config();
    cfg.statementTimeout = std::chrono::milliseconds(200);
    DataSource source(cfg);
    auto c = serval::test::lease(source);
    auto started = std::chrono::steady_clock::now();
    Statement* slow = c->prepare(pick("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) "
                                      "SELECT count(*) FROM n",
                                      "SELECT pg_sleep(30)"));
    ASSERT_NE(slow, nullptr) << c->lastError().describe();
    EXPECT_EQ(slow->step(), StepResult::Error);
    EXPECT_EQ(c->lastError().status, DbStatus::Timeout) << c->lastError().describe();
    EXPECT_EQ(c->lastError().sqlState, "57014");
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
    c->finish(slow);
    EXPECT_EQ(scalar(*c, "SELECT 5"), 5);
    EXPECT_GE(source.stats().errors, 1u);
}

TEST_P(DataSourceTest, StatsCountQueriesAndErrors)
{
    DataSource source(config());
    {
        auto c = serval::test::lease(source);
        EXPECT_EQ(scalar(*c, "SELECT 1"), 1);
        EXPECT_EQ(scalar(*c, "SELECT 2"), 2);
        EXPECT_EQ(c->exec("SELECT * FROM nosuch"), DbStatus::Error);
        DataSourceStatsSnapshot during = source.stats();
        EXPECT_EQ(during.inUse, 1u);
        EXPECT_EQ(during.open, 1u);
    }
    DataSourceStatsSnapshot after = source.stats();
    EXPECT_EQ(after.inUse, 0u);
    EXPECT_EQ(after.open, 1u);
    EXPECT_EQ(after.acquires, 1u);
    EXPECT_EQ(after.opened, 1u);
    EXPECT_GE(after.queries, 3u);
    EXPECT_GT(after.queryNanos, 0u);
    EXPECT_EQ(after.errors, 1u);
    uint64_t bucketed = 0;
    for (uint64_t n : after.latencyBuckets)
        bucketed += n;
    EXPECT_EQ(bucketed, after.queries); // every execution is in the histogram too
    EXPECT_GT(after.p99Micros, 0u);
    EXPECT_GE(after.p99Micros, after.p50Micros);
}

TEST_P(DataSourceTest, CachedStatementSurvivesAMigrationThatChangesItsColumns)
{
    // The old version of an app keeps a cached `SELECT *` while the new version's migration adds
    // a column: PostgreSQL refuses the stale plan (0A000) and the statement is prepared again;
    // SQLite re-prepares by itself. Either way the old code keeps working.
    DataSource source(config(1));
    auto c = serval::test::lease(source);
    execOk(*c, "CREATE TABLE fortune (id BIGINT PRIMARY KEY, message TEXT)");
    execOk(*c, "INSERT INTO fortune (id, message) VALUES (1, 'one')");
    const std::string sql = "SELECT * FROM fortune WHERE id = ?";
    Statement* before = c->prepare(sql);
    ASSERT_NE(before, nullptr) << c->lastError().describe();
    before->bindInt64(1, 1);
    ASSERT_EQ(before->step(), StepResult::Row) << c->lastError().describe();
    EXPECT_EQ(before->columnCount(), 2);
    c->finish(before);

    {
        // The migration runs on another connection, as the deployer's does.
        DataSource migrator(config(1));
        auto m = serval::test::lease(migrator);
        execOk(*m, "ALTER TABLE fortune ADD COLUMN added_at BIGINT");
    }

    Statement* after = c->prepare(sql);
    ASSERT_EQ(after, before); // the cached one
    after->bindInt64(1, 1);
    ASSERT_EQ(after->step(), StepResult::Row) << c->lastError().describe();
    EXPECT_EQ(after->columnCount(), 3);
    EXPECT_EQ(after->columnText(1), "one");
    EXPECT_EQ(after->columnType(2), ColumnType::Null);
    c->finish(after);
}
