// The ABI 1.1 data source calls end to end: the real `serval` binary serving the C++ guestbook
// (serval/db.hpp) and the pure C fixture (serval/abi.h) on both engines at once: an embedded
// SQLite database the app declared and nobody bound (data/localhost/<app>/main.db), and a
// private PostgreSQL server bound in server.xml. One server and one PostgreSQL for the whole
// binary (CTest runs it as one group).
#include "support/DataSourceApps.h"
#include "support/HttpClient.h"
#include "support/PostgresServer.h"
#include "support/ServalProcess.h"
#include "support/TempDir.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <memory>
#include <serval/abi.h>
#include <thread>

using namespace serval::test;
using ::testing::HasSubstr;

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
        auto bound = [&](std::string& failure) {
            std::string database = postgres->createDatabase(failure);
            return "<DataSource name=\"main\" type=\"postgresql\" url=\"" + postgres->url(database) +
                   "\" passwordFile=\"" + postgres->passwordFile() + "\" statementTimeout=\"5s\"/>";
        };
        std::string guestbook = bound(error);
        std::string dbc = bound(error);
        if (!error.empty()) {
            setupError = error;
            return;
        }
        base->write("conf/server.xml",
                    "<Server logFile=\"logs/serval.log\" accessLog=\"\">\n"
                    "  <Connector address=\"127.0.0.1\" port=\"0\" ioThreads=\"1\" workerThreads=\"8\"/>\n"
                    "  <Engine defaultHost=\"localhost\"><Host name=\"localhost\" appBase=\"webapps\">\n"
                    "    <Context path=\"/gb-postgresql\">" +
                        guestbook +
                        "</Context>\n"
                        "    <Context path=\"/dbc-postgresql\">" +
                        dbc +
                        "</Context>\n"
                        "    <Context path=\"/small\"><DataSource name=\"main\" maxConnections=\"1\" "
                        "acquireTimeout=\"300ms\"/></Context>\n"
                        "  </Host></Engine>\n</Server>\n");
        for (bool pg : {false, true}) {
            std::string engine = pg ? "postgresql" : "sqlite";
            writeDataSourceApp(*base, "webapps/gb-" + engine, "guestbook",
                               guestbookWebXml("guestbook-" + engine),
                               {{"V1__create_tables.sql", createTables(pg)}});
            writeDataSourceApp(*base, "webapps/dbc-" + engine, "dbc", dbcWebXml(),
                               {{"V1__create_tables.sql", createTables(pg)}});
        }
        writeDataSourceApp(*base, "webapps/small", "guestbook", guestbookWebXml("small"),
                           {{"V1__create_tables.sql", createTables(false)}});
        server = std::make_unique<ServalProcess>(base->path());
        if (!server->start()) setupError = server->error() + "\n" + server->log();
    }

    static void TearDownTestSuite()
    {
        server.reset();
        base.reset();
    }

    void SetUp() override { ASSERT_EQ(setupError, ""); }

    bool isPostgres() const { return GetParam() == "postgresql"; }
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
};

std::unique_ptr<TempDir> DataSourceAbiTest::base;
std::unique_ptr<ServalProcess> DataSourceAbiTest::server;
PostgresServer* DataSourceAbiTest::postgres = nullptr;
std::string DataSourceAbiTest::setupError;

INSTANTIATE_TEST_SUITE_P(Engines, DataSourceAbiTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

} // namespace

TEST_P(DataSourceAbiTest, CppLayerInsertsInATransactionAndQueriesRows)
{
    std::string app = "/gb-" + GetParam();
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
    HttpReply reply = get("/gb-" + GetParam() + "/types");
    ASSERT_EQ(reply.status, 200) << reply.body << server->log();
    EXPECT_THAT(reply.body, HasSubstr("inserted=1\n"));
    EXPECT_THAT(reply.body, HasSubstr("columns=5\nname0=i\n"));
    EXPECT_THAT(reply.body, HasSubstr("i=-9007199254740993 type=" + std::to_string(SERVAL_DB_INT64) + "\n"));
    EXPECT_THAT(reply.body, HasSubstr("d=2.5 type=" + std::to_string(SERVAL_DB_DOUBLE) + "\n"));
    EXPECT_THAT(reply.body, HasSubstr("t=h\xC3\xA9llo type=" + std::to_string(SERVAL_DB_TEXT) + "\n"));
    EXPECT_THAT(reply.body, HasSubstr("b=0,1,fe,ff, type=" + std::to_string(SERVAL_DB_BLOB) + "\n"));
    EXPECT_THAT(reply.body, HasSubstr("n=null int=0\n"));
    EXPECT_THAT(reply.body, HasSubstr("afterRollback=1\n"));
}

TEST_P(DataSourceAbiTest, CApiReachesEveryCall)
{
    HttpReply reply = get("/dbc-" + GetParam() + "/all");
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
    HttpReply reply = get("/gb-" + GetParam() + "/fail");
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
    HttpReply reply = get("/gb-" + GetParam() + "/info");
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_THAT(reply.body, HasSubstr("app=guestbook-" + GetParam() + "\nschema=1\nhistory=1\ncolumns=3\n"));
    EXPECT_THAT(reply.body,
                HasSubstr("dataDirectory=" + base->path() + "/data/localhost/gb-" + GetParam() + "\n"));
}

TEST_P(DataSourceAbiTest, UnboundDataSourceIsAnEmbeddedFileInTheDataDirectory)
{
    if (isPostgres()) GTEST_SKIP() << "bound in server.xml: nothing embedded";
    EXPECT_TRUE(std::filesystem::exists(base->file("data/localhost/gb-sqlite/main.db")));
    EXPECT_EQ(get("/gb-sqlite/note?add=first").body, "first\n");
    EXPECT_EQ(get("/gb-sqlite/note?add=second").body, "first\nsecond\n");
    EXPECT_EQ(readFile(base->file("data/localhost/gb-sqlite/notes.txt")), "first\nsecond\n");
}

TEST_P(DataSourceAbiTest, ExhaustedPoolAnswers503WithRetryAfter)
{
    if (isPostgres()) GTEST_SKIP() << "the pool is the same code on both engines; /small is SQLite";
    // /small has one connection and waits 300 ms for it: while /hold keeps it for 3 s, the next
    // request times out in the pool, and the SDK turns that into 503 + Retry-After.
    HttpReply held;
    std::thread holder([&] { held = get("/small/hold?ms=3000"); });
    EXPECT_TRUE(eventually([&] { return get("/small/entries").status == 503; }));
    HttpReply busy = get("/small/entries");
    holder.join();
    EXPECT_EQ(held.status, 200);
    EXPECT_EQ(busy.status, 503) << busy.body;
    EXPECT_EQ(busy.header("Retry-After"), "1");
    EXPECT_TRUE(server->waitForLog("no connection became free within 300 ms"));
    EXPECT_EQ(get("/small/entries").status, 200); // once it is back, the pool serves again
}
