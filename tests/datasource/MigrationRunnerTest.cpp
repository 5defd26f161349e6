#include "datasource/MigrationRunner.h"

#include "DbHelpers.h"
#include "EngineFixture.h"

#include <thread>

using namespace serval::datasource;
using serval::test::execOk;
using serval::test::scalar;

namespace {

class MigrationRunnerTest : public serval::test::EngineTest
{
protected:
    /// Writes WEB-INF/migrations/<name> into the temp dir.
    void migration(const std::string& name, const std::string& sql)
    {
        tmp().write("migrations/" + name, sql);
    }

    MigrationOutcome migrate(DataSource& source)
    {
        return MigrationRunner(source, loadMigrations(tmp().file("migrations"))).run();
    }

    /// The message of the DataSourceError that migrating throws ("" if it did not throw).
    std::string refusal(DataSource& source)
    {
        try {
            migrate(source);
        } catch (const DataSourceError& e) {
            return e.what();
        }
        return "";
    }

    void v1()
    {
        migration("V1__create_tables.sql",
                  "CREATE TABLE fortune (id BIGINT PRIMARY KEY, message TEXT NOT NULL);\n");
    }
    void v2()
    {
        migration("V2__seed.sql", "INSERT INTO fortune VALUES (1, 'fortune: No such file or directory');\n");
    }
};

SERVAL_BOTH_ENGINES(MigrationRunnerTest);

} // namespace

TEST_P(MigrationRunnerTest, FirstDeployAppliesEveryMigrationInVersionOrder)
{
    v1();
    v2();
    migration("V10__index.sql", "CREATE INDEX fortune_message ON fortune (message)");
    migration("V2_1__more.sql", "INSERT INTO fortune VALUES (2, 'two');");
    migration("README.txt", "not a migration");
    DataSource source(config());
    MigrationOutcome outcome = migrate(source);
    EXPECT_EQ(outcome.applied, (std::vector<std::string>{"V1__create_tables.sql", "V2__seed.sql",
                                                         "V2_1__more.sql", "V10__index.sql"}));
    EXPECT_EQ(outcome.schemaVersion, "10");
    EXPECT_TRUE(outcome.note.empty());
    auto c = serval::test::lease(source);
    EXPECT_EQ(scalar(*c, "SELECT count(*) FROM fortune"), 2);
    EXPECT_EQ(scalar(*c, "SELECT count(*) FROM serval_schema_history"), 4);
    Statement* row =
        c->prepare("SELECT description, checksum, execution_ms FROM serval_schema_history WHERE version = ?");
    row->bindText(1, "2.1");
    ASSERT_EQ(row->step(), StepResult::Row) << c->lastError().describe();
    EXPECT_EQ(row->columnText(0), "more");
    EXPECT_EQ(row->columnText(1).size(), 64u);
    EXPECT_GE(row->columnInt64(2), 0);
    c->finish(row);
}

TEST_P(MigrationRunnerTest, UpgradeAppliesOnlyTheNewOnes)
{
    v1();
    DataSource source(config());
    EXPECT_EQ(migrate(source).applied.size(), 1u);
    v2();
    MigrationOutcome upgrade = migrate(source);
    EXPECT_EQ(upgrade.applied, std::vector<std::string>{"V2__seed.sql"});
    EXPECT_EQ(upgrade.schemaVersion, "2");
    MigrationOutcome again = migrate(source);
    EXPECT_TRUE(again.applied.empty());
    EXPECT_EQ(again.schemaVersion, "2");
    auto c = serval::test::lease(source);
    EXPECT_EQ(scalar(*c, "SELECT count(*) FROM fortune"), 1);
}

TEST_P(MigrationRunnerTest, AFailingMigrationIsRolledBackAndNamedWithFileAndLine)
{
    v1();
    DataSource source(config());
    migrate(source);
    migration("V2__broken.sql", "CREATE TABLE extra (x BIGINT);\n"
                                "INSERT INTO extra VALUES (1);\n"
                                "\n"
                                "INSERT INTO nosuch VALUES (1);\n"
                                "INSERT INTO extra VALUES (2);\n");
    std::string message = refusal(source);
    EXPECT_NE(message.find("migration WEB-INF/migrations/V2__broken.sql:4 failed: "), std::string::npos)
        << message;
    EXPECT_NE(message.find("nosuch"), std::string::npos) << message;
    EXPECT_NE(message.find("(SQLSTATE 42P01)"), std::string::npos) << message;
    EXPECT_NE(message.find("rolled back, data source \"main\" stays at version 1"), std::string::npos)
        << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "one line";
    auto c = serval::test::lease(source);
    EXPECT_EQ(c->exec("SELECT * FROM extra"), DbStatus::Error)
        << "the table of the failed migration was rolled back";
    EXPECT_EQ(scalar(*c, "SELECT count(*) FROM serval_schema_history"), 1);
    c.release();
    // Fixed, it applies.
    migration("V2__broken.sql", "CREATE TABLE extra (x BIGINT);\n");
    EXPECT_EQ(migrate(source).applied, std::vector<std::string>{"V2__broken.sql"});
}

TEST_P(MigrationRunnerTest, AnAppliedMigrationThatChangedIsRefused)
{
    v1();
    DataSource source(config());
    migrate(source);
    migration("V1__create_tables.sql", "CREATE TABLE fortune (id BIGINT PRIMARY KEY, message TEXT);\n");
    v2();
    std::string message = refusal(source);
    EXPECT_NE(
        message.find("migration WEB-INF/migrations/V1__create_tables.sql was changed after it was applied"),
        std::string::npos)
        << message;
    EXPECT_NE(message.find("put the change in a new migration"), std::string::npos) << message;
    auto c = serval::test::lease(source);
    EXPECT_EQ(scalar(*c, "SELECT count(*) FROM serval_schema_history"), 1) << "V2 was not applied either";
}

TEST_P(MigrationRunnerTest, AnAppliedMigrationThatDisappearedIsRefused)
{
    v1();
    v2();
    DataSource source(config());
    migrate(source);
    ::unlink(tmp().file("migrations/V1__create_tables.sql").c_str());
    std::string message = refusal(source);
    EXPECT_NE(
        message.find("V1__create_tables.sql (version 1) was applied to data source \"main\" but is missing"),
        std::string::npos)
        << message;
}

TEST_P(MigrationRunnerTest, AnOlderBundleMeetsANewerSchemaWithANote)
{
    v1();
    v2();
    DataSource source(config());
    migrate(source);
    ::unlink(tmp().file("migrations/V2__seed.sql").c_str()); // the previous version redeploys
    MigrationOutcome outcome = migrate(source);
    EXPECT_TRUE(outcome.applied.empty());
    EXPECT_EQ(outcome.schemaVersion, "2");
    EXPECT_NE(outcome.note.find("is at version 2, newer than this bundle's migrations"), std::string::npos)
        << outcome.note;
}

TEST_P(MigrationRunnerTest, OutOfOrderMigrationsAreRefused)
{
    v1();
    migration("V3__three.sql", "CREATE TABLE three (x BIGINT);");
    DataSource source(config());
    migrate(source);
    v2();
    std::string message = refusal(source);
    EXPECT_NE(message.find("V2__seed.sql has version 2, below the version 3"), std::string::npos) << message;
}

TEST_P(MigrationRunnerTest, CommitInsideAMigrationIsReported)
{
    v1();
    migration("V2__commits.sql", "INSERT INTO fortune VALUES (1, 'a');\nCOMMIT;\n");
    DataSource source(config());
    std::string message = refusal(source);
    EXPECT_NE(message.find("V2__commits.sql ended the transaction itself"), std::string::npos) << message;
}

TEST_P(MigrationRunnerTest, BodiesWithSemicolonsStayWhole)
{
    v1();
    if (isPostgres()) {
        migration("V2__function.sql", "CREATE FUNCTION shout(t TEXT) RETURNS TEXT AS $$\n"
                                      "BEGIN\n  RETURN upper(t) || '!';\nEND;\n$$ LANGUAGE plpgsql;\n"
                                      "INSERT INTO fortune VALUES (1, shout('hi'));\n");
    } else {
        migration("V2__trigger.sql", "CREATE TABLE audit (n TEXT);\n"
                                     "CREATE TRIGGER fortune_audit AFTER INSERT ON fortune BEGIN\n"
                                     "  INSERT INTO audit VALUES (new.message);\n"
                                     "  INSERT INTO audit VALUES ('second');\nEND;\n"
                                     "INSERT INTO fortune VALUES (1, 'HI!');\n");
    }
    DataSource source(config());
    EXPECT_EQ(migrate(source).applied.size(), 2u);
    auto c = serval::test::lease(source);
    Statement* s = c->prepare("SELECT message FROM fortune");
    ASSERT_EQ(s->step(), StepResult::Row);
    EXPECT_EQ(s->columnText(0), "HI!");
    c->finish(s);
}

TEST_P(MigrationRunnerTest, TwoRunnersAtOnceApplyEachMigrationOnce)
{
    // Without the lock, the second runner's CREATE TABLE (no IF NOT EXISTS) or the duplicate
    // history row would fail, or the INSERTs would run twice.
    v1();
    v2();
    for (int v = 3; v <= 12; ++v) {
        migration("V" + std::to_string(v) + "__step.sql",
                  "INSERT INTO fortune VALUES (" + std::to_string(v) + ", 'step');\n");
    }
    DataSource nodeA(config());
    DataSource nodeB(config()); // separate pools: two nodes (or processes) on one database
    MigrationOutcome a;
    MigrationOutcome b;
    std::string errorA;
    std::string errorB;
    auto run = [this](DataSource& source, MigrationOutcome& out, std::string& error) {
        try {
            out = migrate(source);
        } catch (const std::exception& e) {
            error = e.what();
        }
    };
    std::thread first(run, std::ref(nodeA), std::ref(a), std::ref(errorA));
    std::thread second(run, std::ref(nodeB), std::ref(b), std::ref(errorB));
    first.join();
    second.join();
    EXPECT_EQ(errorA, "");
    EXPECT_EQ(errorB, "");
    EXPECT_EQ(a.applied.size() + b.applied.size(), 12u);
    EXPECT_EQ(a.schemaVersion, "12");
    EXPECT_EQ(b.schemaVersion, "12");
    auto c = serval::test::lease(nodeA);
    EXPECT_EQ(scalar(*c, "SELECT count(*) FROM fortune"), 11);
    EXPECT_EQ(scalar(*c, "SELECT count(*) FROM serval_schema_history"), 12);
}

TEST_P(MigrationRunnerTest, StatementTimeoutDoesNotApplyToMigrations)
{
    DataSourceConfig cfg = config();
    cfg.statementTimeout = std::chrono::milliseconds(50);
    migration("V1__slow.sql",
              pick("CREATE TABLE n AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                   "WHERE x < 500000) SELECT x FROM c;",
                   "SELECT pg_sleep(0.3);"));
    DataSource source(cfg);
    EXPECT_EQ(migrate(source).applied.size(), 1u);
    // ... and the connection has its configured timeout back.
    auto c = serval::test::lease(source);
    Statement* slow = c->prepare(pick("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) "
                                      "SELECT count(*) FROM n",
                                      "SELECT pg_sleep(30)"));
    EXPECT_EQ(slow->step(), StepResult::Error);
    EXPECT_EQ(c->lastError().status, DbStatus::Timeout);
    c->finish(slow);
}

TEST(MigrationFilesTest, BadNamesAndDuplicateVersionsAreRefused)
{
    serval::test::TempDir tmp;
    tmp.write("m/V1__ok.sql", "");
    tmp.write("m/v2_lowercase.sql", "");
    try {
        loadMigrations(tmp.file("m"));
        FAIL() << "accepted a misnamed migration";
    } catch (const DataSourceError& e) {
        EXPECT_NE(std::string(e.what()).find("WEB-INF/migrations/v2_lowercase.sql: a migration is named "
                                             "V<version>__<description>.sql"),
                  std::string::npos)
            << e.what();
    }
    ::unlink(tmp.file("m/v2_lowercase.sql").c_str());
    tmp.write("m/V1.0__same.sql", "");
    try {
        loadMigrations(tmp.file("m"));
        FAIL() << "accepted two migrations with one version";
    } catch (const DataSourceError& e) {
        EXPECT_NE(std::string(e.what()).find("have the same version"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(loadMigrations(tmp.file("nosuch")).empty());
}

TEST(MigrationFilesTest, VersionsCompareNumerically)
{
    EXPECT_LT(compareVersions(*parseVersion("2"), *parseVersion("10")), 0);
    EXPECT_EQ(compareVersions(*parseVersion("1"), *parseVersion("1.0")), 0);
    EXPECT_GT(compareVersions(*parseVersion("1_2"), *parseVersion("1.1.9")), 0);
    EXPECT_FALSE(parseVersion("1..2"));
    EXPECT_FALSE(parseVersion("a"));
    EXPECT_FALSE(parseVersion(""));
}
