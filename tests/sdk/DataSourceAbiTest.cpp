// The ABI 1.2 data source calls end to end: the real `serval` binary serving the C++ guestbook
// (serval/db.hpp) and the pure C fixture (serval/abi.h) on both engines, each app twice: in its
// worker processes (the default isolation, where the worker opens its own pools from what the
// server bound and migrated) and in the server (isolation="none"). Both engines: an embedded
// SQLite database the app declared and nobody bound (data/localhost/<app>/main.db), and a
// private PostgreSQL server bound in server.xml. One server and one PostgreSQL for the whole
// binary (CTest runs it as one group).
#include "datasource/DataSource.h"
#include "datasource/PooledConnection.h"
#include "datasource/Statement.h"
#include "support/DataSourceApps.h"
#include "support/HttpClient.h"
#include "support/PostgresServer.h"
#include "support/ServalProcess.h"
#include "support/TempDir.h"

#include <filesystem>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <map>
#include <memory>
#include <serval/abi.h>
#include <thread>

using namespace serval::test;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

class DataSourceAbiTest : public ::testing::TestWithParam<std::string>
{
protected:
    static void SetUpTestSuite()
    {
        base = std::make_unique<TempDir>();
        std::string error;
        postgres = PostgresServer::shared(error);
        if (postgres == nullptr) {
            setupError = error;
            return;
        }
        // Each app its own database: migrations history is per database.
        auto bound = [&](std::string& failure, std::string* database = nullptr) {
            std::string made = postgres->createDatabase(failure);
            if (database != nullptr) *database = made;
            return "<DataSource name=\"main\" type=\"postgresql\" url=\"" + postgres->url(made) +
                   "\" passwordFile=\"" + postgres->passwordFile() + "\" statementTimeout=\"5s\"/>";
        };
        // Every app twice: in worker processes (the default) and in the server (isolation="none").
        std::string contexts;
        for (const std::string& variant : {std::string(), std::string(kInProcess)}) {
            std::string isolation = variant.empty() ? "" : " isolation=\"none\"";
            for (const char* app : {"gb", "dbc", "fortunes"}) {
                std::string* database = std::string(app) == "fortunes" ? &fortunesDatabase[variant] : nullptr;
                contexts += "    <Context path=\"/" + std::string(app) + "-postgresql" + variant + "\"" +
                            isolation + ">" + bound(error, database) + "</Context>\n";
                if (!variant.empty())
                    contexts += "    <Context path=\"/" + std::string(app) + "-sqlite" + variant + "\"" +
                                isolation + "/>\n";
            }
            contexts +=
                "    <Context path=\"/small" + variant + "\"" + isolation +
                "><DataSource name=\"main\" maxConnections=\"1\" acquireTimeout=\"300ms\"/></Context>\n";
            for (bool pg : {false, true}) {
                std::string engine = std::string(pg ? "postgresql" : "sqlite") + variant;
                writeDataSourceApp(*base, "webapps/gb-" + engine, "guestbook",
                                   guestbookWebXml("guestbook-" + engine),
                                   {{"V1__create_tables.sql", createTables(pg)}});
                writeDataSourceApp(*base, "webapps/dbc-" + engine, "dbc", dbcWebXml(),
                                   {{"V1__create_tables.sql", createTables(pg)}});
                // The sdk/examples/fortunes sample as it was built (its own migration, both engines).
                std::filesystem::copy(std::string(SERVAL_BUILD_DIR) + "/bundles/fortunes",
                                      base->file("webapps/fortunes-" + engine),
                                      std::filesystem::copy_options::recursive);
            }
            writeDataSourceApp(*base, "webapps/small" + variant, "guestbook", guestbookWebXml("small"),
                               {{"V1__create_tables.sql", createTables(false)}});
        }
        if (!error.empty()) {
            setupError = error;
            return;
        }
        base->write("conf/server.xml",
                    "<Server logFile=\"logs/serval.log\" accessLog=\"\">\n"
                    "  <Connector address=\"127.0.0.1\" port=\"0\" ioThreads=\"1\" workerThreads=\"8\"/>\n"
                    "  <Engine defaultHost=\"localhost\"><Host name=\"localhost\" appBase=\"webapps\">\n" +
                        contexts + "  </Host></Engine>\n</Server>\n");
        server = std::make_unique<ServalProcess>(base->path());
        if (!server->start()) setupError = server->error() + "\n" + server->log();
    }

    static void TearDownTestSuite()
    {
        server.reset();
        base.reset();
    }

    void SetUp() override { ASSERT_EQ(setupError, ""); }

    /// "sqlite", "postgresql": the apps in worker processes (the default isolation); with
    /// "_inprocess": the same apps in the server (isolation="none").
    bool isPostgres() const { return GetParam().rfind("postgresql", 0) == 0; }
    bool inProcess() const { return GetParam().find("_inprocess") != std::string::npos; }
    /// What the apps of this parameter are named after: "sqlite", "postgresql-inprocess".
    std::string suffix() const
    {
        return std::string(isPostgres() ? "postgresql" : "sqlite") + (inProcess() ? kInProcess : "");
    }
    std::string mode() const { return inProcess() ? kInProcess : ""; }
    static HttpReply get(const std::string& target) { return httpRequest(server->port(), "GET", target); }
    static HttpReply post(const std::string& target, const std::string& body)
    {
        return httpRequest(server->port(), "POST", target,
                           {{"Content-Type", "application/x-www-form-urlencoded"}}, body);
    }

    static std::unique_ptr<TempDir> base;
    static std::unique_ptr<ServalProcess> server;
    static PostgresServer* postgres;
    static std::string setupError;
    static constexpr const char* kInProcess = "-inprocess";     ///< the apps with isolation="none"
    static std::map<std::string, std::string> fortunesDatabase; ///< by mode: /fortunes-postgresql's
};

std::unique_ptr<TempDir> DataSourceAbiTest::base;
std::unique_ptr<ServalProcess> DataSourceAbiTest::server;
PostgresServer* DataSourceAbiTest::postgres = nullptr;
std::string DataSourceAbiTest::setupError;
std::map<std::string, std::string> DataSourceAbiTest::fortunesDatabase;

INSTANTIATE_TEST_SUITE_P(Engines, DataSourceAbiTest,
                         ::testing::Values("sqlite", "postgresql", "sqlite_inprocess",
                                           "postgresql_inprocess"),
                         [](const auto& info) { return info.param; });

} // namespace

TEST_P(DataSourceAbiTest, CppLayerInsertsInATransactionAndQueriesRows)
{
    std::string app = "/gb-" + suffix();
    HttpReply first = post(app + "/entries", "name=ada&message=hello%20there");
    ASSERT_EQ(first.status, 200) << first.body << server->log();
    EXPECT_EQ(first.body, "added 1\n");
    EXPECT_EQ(post(app + "/entries", "name=bob").body, "added 2\n");
    // A transaction whose body throws is rolled back: the insert is gone, the request is a 500.
    EXPECT_EQ(post(app + "/entries", "name=carl&fail=1").status, 500);
    EXPECT_EQ(get(app + "/entries").body, "1|ada|hello there\n2|bob|(null)\n");
}

TEST_P(DataSourceAbiTest, CppLayerBindsAndReadsEveryType)
{
    HttpReply reply = get("/gb-" + suffix() + "/types");
    ASSERT_EQ(reply.status, 200) << reply.body << server->log();
    EXPECT_THAT(reply.body, HasSubstr("inserted=1\n"));
    EXPECT_THAT(reply.body, HasSubstr("columns=5\nname0=i\n"));
    EXPECT_THAT(reply.body, HasSubstr("i=-9007199254740993 type=" + std::to_string(SERVAL_DB_INT64) + "\n"));
    EXPECT_THAT(reply.body, HasSubstr("d=2.5 type=" + std::to_string(SERVAL_DB_DOUBLE) + "\n"));
    EXPECT_THAT(reply.body, HasSubstr("t=h\xC3\xA9llo type=" + std::to_string(SERVAL_DB_TEXT) + "\n"));
    EXPECT_THAT(reply.body, HasSubstr("b=0,1,fe,ff, type=" + std::to_string(SERVAL_DB_BLOB) + "\n"));
    EXPECT_THAT(reply.body, HasSubstr("n=null int=0\n"));
    EXPECT_THAT(reply.body, HasSubstr("row=-9007199254740993|h\xC3\xA9llo|null\n"));
    EXPECT_THAT(reply.body, HasSubstr("noRow=none\n"));
    EXPECT_THAT(reply.body, HasSubstr("afterRollback=1\n"));
}

TEST_P(DataSourceAbiTest, CApiReachesEveryCall)
{
    HttpReply reply = get("/dbc-" + suffix() + "/all");
    ASSERT_EQ(reply.status, 200) << reply.body << server->log();
    const std::string& b = reply.body;
    EXPECT_THAT(b, HasSubstr("undeclared=" + std::to_string(SERVAL_NOT_FOUND) + "\n"));
    for (const char* call : {"exec", "begin", "prepare", "bindInt64", "bindDouble", "bindText", "bindBlob",
                             "bindNull", "step", "commit", "begin2", "rollback", "reset"}) {
        EXPECT_THAT(b, HasSubstr(std::string(call) + "=0\n")) << b;
    }
    EXPECT_THAT(b, HasSubstr("bindOutOfRange=" + std::to_string(SERVAL_INVALID_ARGUMENT) + "\n"));
    EXPECT_THAT(b, HasSubstr("bindError=status " + std::to_string(SERVAL_INVALID_ARGUMENT)));
    EXPECT_THAT(b, HasSubstr("stepRow=0\nchanges=1\n"));
    EXPECT_THAT(b, HasSubstr("columns=5\nname2=t\n"));
    EXPECT_THAT(
        b, HasSubstr("i=42\niType=1\ndTimes10=5\ndType=2\nt=caf\xC3\xA9\ntType=3\nbLen=3\nbLast=2\nbType=4\n"
                     "nType=0\noutOfRangeType=0\n"));
    EXPECT_THAT(b, HasSubstr("badSql=" + std::to_string(SERVAL_DB_ERROR) + "\n"));
    EXPECT_THAT(b, HasSubstr("badSqlError=status " + std::to_string(SERVAL_DB_ERROR) + " sqlstate 42601"));
    EXPECT_THAT(b, HasSubstr("missingTable=" + std::to_string(SERVAL_DB_ERROR) + "\n"));
    EXPECT_THAT(b,
                HasSubstr("missingTableError=status " + std::to_string(SERVAL_DB_ERROR) + " sqlstate 42P01"));
    EXPECT_THAT(b, HasSubstr("dataDirectory=0\n"));
}

TEST_P(DataSourceAbiTest, DatabaseErrorsCarryPortableSqlStates)
{
    HttpReply reply = get("/gb-" + suffix() + "/fail");
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_THAT(reply.body, HasSubstr("status=" + std::to_string(SERVAL_DB_ERROR) +
                                      "\nsqlstate=42P01\n"
                                      "unavailable=no\nmessage="));
    EXPECT_THAT(reply.body, HasSubstr("nosuch"));
    EXPECT_THAT(reply.body,
                HasSubstr("undeclared=no data source \"undeclared\": declare it in WEB-INF/web.xml as "
                          "<resource-ref><res-ref-name>undeclared</res-ref-name></resource-ref>\n"));
}

TEST_P(DataSourceAbiTest, MigrationsRanBeforeTheAppServed)
{
    HttpReply reply = get("/gb-" + suffix() + "/info");
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_THAT(reply.body, HasSubstr("app=guestbook-" + suffix() + "\nschema=1\nhistory=1\ncolumns=3\n"));
    EXPECT_THAT(reply.body,
                HasSubstr("dataDirectory=" + base->path() + "/data/localhost/gb-" + suffix() + "\n"));
    // The app ran where its isolation says: a worker process opened its own pool, or the server.
    const std::string serverPid = "pid=" + std::to_string(server->pid()) + "\n";
    if (inProcess()) {
        EXPECT_THAT(reply.body, HasSubstr(serverPid));
    } else {
        EXPECT_THAT(reply.body, Not(HasSubstr(serverPid)));
        EXPECT_THAT(reply.body, HasSubstr("pid="));
    }
}

TEST_P(DataSourceAbiTest, UnboundDataSourceIsAnEmbeddedFileInTheDataDirectory)
{
    if (isPostgres()) GTEST_SKIP() << "bound in server.xml: nothing embedded";
    std::string app = "gb-" + suffix();
    EXPECT_TRUE(std::filesystem::exists(base->file("data/localhost/" + app + "/main.db")));
    EXPECT_EQ(get("/" + app + "/note?add=first").body, "first\n");
    EXPECT_EQ(get("/" + app + "/note?add=second").body, "first\nsecond\n");
    EXPECT_EQ(readFile(base->file("data/localhost/" + app + "/notes.txt")), "first\nsecond\n");
}

TEST_P(DataSourceAbiTest, ExhaustedPoolAnswers503WithRetryAfter)
{
    if (isPostgres()) GTEST_SKIP() << "the pool is the same code on both engines; /small is SQLite";
    // /small has one connection and waits 300 ms for it: while /hold keeps it for 3 s, the next
    // request times out in the pool, and the SDK turns that into 503 + Retry-After.
    std::string small = "/small" + mode();
    HttpReply held;
    std::thread holder([&] { held = get(small + "/hold?ms=3000"); });
    EXPECT_TRUE(eventually([&] { return get(small + "/entries").status == 503; }));
    HttpReply busy = get(small + "/entries");
    holder.join();
    EXPECT_EQ(held.status, 200);
    EXPECT_EQ(busy.status, 503) << busy.body;
    EXPECT_EQ(busy.header("Retry-After"), "1");
    EXPECT_TRUE(server->waitForLog("no connection became free within 300 ms"));
    EXPECT_EQ(get(small + "/entries").status, 200); // once it is back, the pool serves again
}

// The TechEmpower sample (sdk/examples/fortunes) answers every test as the rules ask, on both
// engines, from the same bundle: its migration filled World and Fortune before it served.
TEST_P(DataSourceAbiTest, FortunesSampleAnswersTheTechEmpowerTests)
{
    std::string app = "/fortunes-" + suffix();
    HttpReply db = get(app + "/db");
    ASSERT_EQ(db.status, 200) << db.body << server->log();
    EXPECT_EQ(db.header("Content-Type"), "application/json");
    EXPECT_THAT(db.body, ::testing::MatchesRegex("\\{\"id\":[0-9]+,\"randomNumber\":[0-9]+\\}"));

    auto rows = [](const std::string& body) {
        size_t n = 0;
        for (size_t at = body.find("\"id\":"); at != std::string::npos; at = body.find("\"id\":", at + 1))
            ++n;
        return n;
    };
    EXPECT_EQ(rows(get(app + "/queries?queries=20").body), 20u);
    EXPECT_EQ(rows(get(app + "/queries?queries=0").body), 1u);
    EXPECT_EQ(rows(get(app + "/queries?queries=foo").body), 1u);
    EXPECT_EQ(rows(get(app + "/queries?queries=501").body), 500u);
    EXPECT_EQ(get(app + "/queries").body.front(), '[');

    HttpReply fortunes = get(app + "/fortunes");
    ASSERT_EQ(fortunes.status, 200) << fortunes.body;
    EXPECT_EQ(fortunes.header("Content-Type"), "text/html; charset=utf-8");
    EXPECT_THAT(
        fortunes.body,
        HasSubstr("<tr><th>id</th><th>message</th></tr><tr><td>11</td><td>&lt;script&gt;alert(&quot;"
                  "This should not be displayed in a browser alert box.&quot;);&lt;/script&gt;</td></tr>"
                  "<tr><td>4</td>"));
    EXPECT_THAT(fortunes.body,
                HasSubstr("<tr><td>0</td><td>Additional fortune added at request time.</td></tr>"
                          "<tr><td>3</td>"));
    EXPECT_THAT(fortunes.body, HasSubstr("aren&#39;t broken"));
    EXPECT_THAT(fortunes.body, HasSubstr("<tr><td>12</td><td>\xE3\x83\x95\xE3\x83\xAC"));
    EXPECT_EQ(rows(fortunes.body), 0u);

    // Updates write what they answer: every id read back has the number the answer gave it.
    HttpReply updated = get(app + "/updates?queries=5");
    ASSERT_EQ(updated.status, 200) << updated.body << server->log();
    EXPECT_EQ(rows(updated.body), 5u);
    serval::datasource::DataSourceConfig config;
    if (isPostgres()) {
        config.type = serval::datasource::DataSourceType::Postgresql;
        config.url = postgres->url(fortunesDatabase[mode()]);
        config.passwordFile = postgres->passwordFile();
    } else {
        config.url = base->file("data/localhost/fortunes-" + suffix() + "/main.db");
    }
    serval::datasource::DataSource direct(config);
    serval::datasource::PooledConnection connection;
    serval::datasource::DbError error;
    ASSERT_EQ(direct.acquire(connection, error), serval::datasource::DbStatus::Ok) << error.message;
    std::map<std::string, std::string> last; // one id may be drawn twice: its last number is the one kept
    const std::string& body = updated.body;
    for (size_t at = body.find("\"id\":"); at != std::string::npos; at = body.find("\"id\":", at + 1)) {
        size_t comma = body.find(',', at);
        size_t number = body.find("\"randomNumber\":", comma) + 15;
        last[body.substr(at + 5, comma - at - 5)] = body.substr(number, body.find('}', number) - number);
    }
    for (const auto& [id, number] : last) {
        serval::datasource::Statement* read =
            connection->prepare("SELECT randomnumber FROM world WHERE id = " + id);
        ASSERT_NE(read, nullptr) << connection->lastError().message;
        ASSERT_EQ(read->step(), serval::datasource::StepResult::Row);
        EXPECT_EQ(std::to_string(read->columnInt64(0)), number) << "world " << id;
        connection->finish(read);
    }
}
