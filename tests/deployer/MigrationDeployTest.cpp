// Migrations inside the deploy's commit order, with the real `serval` on both engines: first
// deploy, upgrade, a failing migration that keeps the old version serving (and says where it
// failed, in the log and the registry row the admin page and servalctl show), an edited applied
// migration refused, and two nodes deploying the same version at once applying it once.
// The guestbook fixture (tests/fixtures/apps/Guestbook.cpp) reports what it sees at /info.
#include "registry/Registry.h"
#include "support/DataSourceApps.h"
#include "support/HttpClient.h"
#include "support/PostgresServer.h"
#include "support/ServalProcess.h"
#include "support/TempDir.h"

#include <cstdio>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <memory>
#include <thread>
#include <unistd.h>

using namespace serval::test;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

const char* kAddColumn = "ALTER TABLE entry ADD COLUMN added_at BIGINT;\n";
/// Fails on its third line; the first statement must be rolled back with it.
const char* kBroken = "CREATE TABLE half_done (x BIGINT);\n\nINSERT INTO nosuch VALUES (1);\n";

class MigrationDeployTest : public ::testing::TestWithParam<std::string>
{
protected:
    void SetUp() override
    {
        if (!isPostgres()) return;
        std::string error;
        _postgres = PostgresServer::shared(error);
        ASSERT_NE(_postgres, nullptr) << error;
        _database = _postgres->createDatabase(error);
        ASSERT_FALSE(_database.empty()) << error;
    }

    /// "sqlite", "postgresql": /shop in a worker process (the default isolation); with
    /// "_inprocess": in the server (isolation="none"). Migrations run in the server either way.
    bool isPostgres() const { return GetParam().rfind("postgresql", 0) == 0; }
    bool inProcess() const { return GetParam().find("_inprocess") != std::string::npos; }

    /// A node: its own base directory (webapps, work, data) and server.xml; every node binds
    /// /shop to the same database (PostgreSQL, or one SQLite file for the two-node case).
    struct Node
    {
        TempDir base;
        std::unique_ptr<ServalProcess> server;
    };
    std::unique_ptr<Node> makeNode(const std::string& sharedSqlite = "")
    {
        auto node = std::make_unique<Node>();
        std::string isolation = inProcess() ? " isolation=\"none\"" : "";
        std::string binding;
        if (isPostgres()) {
            binding = "<Context path=\"/shop\"" + isolation +
                      "><DataSource name=\"main\" type=\"postgresql\" url=\"" + _postgres->url(_database) +
                      "\" passwordFile=\"" + _postgres->passwordFile() + "\"/></Context>";
        } else if (!sharedSqlite.empty()) {
            binding = "<Context path=\"/shop\"" + isolation + "><DataSource name=\"main\" url=\"" +
                      sharedSqlite + "\"/></Context>";
        } else if (inProcess()) {
            binding = "<Context path=\"/shop\"" + isolation + "/>";
        }
        node->base.write(
            "conf/server.xml",
            "<Server logFile=\"logs/serval.log\" accessLog=\"\">\n"
            "  <Connector address=\"127.0.0.1\" port=\"0\" ioThreads=\"1\" workerThreads=\"4\"/>\n"
            "  <Engine defaultHost=\"localhost\"><Host name=\"localhost\" appBase=\"webapps\" "
            "deployStabilityDelay=\"0\">" +
                binding + "</Host></Engine>\n</Server>\n");
        makeDirs(node->base.file("webapps"));
        return node;
    }
    bool start(Node& node)
    {
        ::unlink(node.base.file("serval.stderr").c_str()); // a restart looks for its own "listening" line
        node.server = std::make_unique<ServalProcess>(node.base.path());
        return node.server->start();
    }

    /// Writes version `version` of /shop outside appBase, with `migrations`, then renames it in.
    void drop(Node& node, int version, const std::map<std::string, std::string>& migrations)
    {
        std::string name = "shop##" + std::to_string(version);
        writeDataSourceApp(node.base, name, "guestbook", guestbookWebXml("v" + std::to_string(version)),
                           migrations);
        ASSERT_EQ(std::rename(node.base.file(name).c_str(), node.base.file("webapps/" + name).c_str()), 0);
    }
    std::map<std::string, std::string> v1() const
    {
        return {{"V1__create_tables.sql", createTables(isPostgres())}};
    }
    std::map<std::string, std::string> v2() const
    {
        auto m = v1();
        m["V2__add_column.sql"] = kAddColumn;
        return m;
    }

    static std::string info(Node& node) { return httpGet(node.server->port(), "/shop/info").body; }
    static bool serves(Node& node, const std::string& needle)
    {
        return eventually([&] { return info(node).find(needle) != std::string::npos; },
                          std::chrono::seconds(20));
    }
    static std::optional<serval::registry::Deployment> row(Node& node, const std::string& version)
    {
        serval::registry::Registry registry(node.base.file("data/serval.db"));
        return registry.findDeployment("localhost", "/shop", version);
    }

    PostgresServer* _postgres = nullptr;
    std::string _database;
};

INSTANTIATE_TEST_SUITE_P(Engines, MigrationDeployTest,
                         ::testing::Values("sqlite", "postgresql", "sqlite_inprocess",
                                           "postgresql_inprocess"),
                         [](const auto& info) { return info.param; });

} // namespace

TEST_P(MigrationDeployTest, FirstDeployThenUpgradeApplyEachMigrationOnce)
{
    auto node = makeNode();
    drop(*node, 1, v1());
    ASSERT_TRUE(start(*node)) << node->server->error();
    ASSERT_TRUE(serves(*node, "app=v1\nschema=1\nhistory=1\ncolumns=3\n"))
        << info(*node) << node->server->log();
    ASSERT_EQ(httpRequest(node->server->port(), "POST", "/shop/entries",
                          {{"Content-Type", "application/x-www-form-urlencoded"}}, "name=kept")
                  .status,
              200);

    drop(*node, 2, v2());
    ASSERT_TRUE(serves(*node, "app=v2\nschema=2\nhistory=2\ncolumns=4\n"))
        << info(*node) << node->server->log();
    EXPECT_EQ(httpGet(node->server->port(), "/shop/entries").body, "1|kept|(null)\n"); // the data stayed
    EXPECT_TRUE(
        node->server->waitForLog("data source \"main\" now at version 2 (applied V2__add_column.sql)"))
        << node->server->log();

    // A restart validates the history again and applies nothing.
    node->server.reset();
    ASSERT_TRUE(start(*node)) << node->server->error();
    EXPECT_TRUE(serves(*node, "app=v2\nschema=2\nhistory=2\n")) << info(*node);
}

TEST_P(MigrationDeployTest, FailingMigrationKeepsTheOldVersionServing)
{
    auto node = makeNode();
    drop(*node, 1, v1());
    ASSERT_TRUE(start(*node)) << node->server->error();
    ASSERT_TRUE(serves(*node, "app=v1\nschema=1\n")) << node->server->log();

    auto broken = v1();
    broken["V2__broken.sql"] = kBroken;
    drop(*node, 2, broken);
    const std::string reason = "shop##2: migration WEB-INF/migrations/V2__broken.sql:3 failed: ";
    ASSERT_TRUE(node->server->waitForLog(reason, std::chrono::seconds(20))) << node->server->log();
    std::string log = node->server->log();
    std::string line = log.substr(log.find(reason));
    line = line.substr(0, line.find('\n'));
    EXPECT_THAT(line, HasSubstr("nosuch"));
    EXPECT_THAT(line, HasSubstr("(SQLSTATE 42P01); rolled back, data source \"main\" stays at version 1"));

    // v1 still serves, against a schema the failed step did not touch.
    EXPECT_THAT(info(*node), HasSubstr("app=v1\nschema=1\nhistory=1\ncolumns=3\n"));
    // The same line is on the row the admin page and servalctl show (the serving version's).
    EXPECT_TRUE(eventually([&] {
        auto current = row(*node, "1"); // written right after the log line
        return current && current->failureReason.find("V2__broken.sql:3 failed") != std::string::npos;
    }));

    // The fixed bundle deploys; the half-done table of the failed attempt was never committed.
    auto fixed = v1();
    fixed["V2__broken.sql"] = "CREATE TABLE half_done (x BIGINT);\n";
    drop(*node, 3, fixed);
    EXPECT_TRUE(serves(*node, "app=v3\nschema=2\nhistory=2\n")) << info(*node) << node->server->log();
}

TEST_P(MigrationDeployTest, EditedAppliedMigrationIsRefused)
{
    auto node = makeNode();
    drop(*node, 1, v1());
    ASSERT_TRUE(start(*node)) << node->server->error();
    ASSERT_TRUE(serves(*node, "app=v1\n")) << node->server->log();

    auto edited = v2();
    edited["V1__create_tables.sql"] += "-- an innocent comment\n";
    drop(*node, 2, edited);
    ASSERT_TRUE(node->server->waitForLog(
        "migration WEB-INF/migrations/V1__create_tables.sql was changed after it was applied to data source "
        "\"main\"",
        std::chrono::seconds(20)))
        << node->server->log();
    EXPECT_THAT(info(*node), HasSubstr("app=v1\nschema=1\nhistory=1\ncolumns=3\n")); // nothing applied
}

TEST_P(MigrationDeployTest, TwoNodesDeployingAtOnceApplyEachMigrationOnce)
{
    TempDir shared; // SQLite: both nodes bind /shop to one file, as PostgreSQL binds one database
    auto a = makeNode(shared.file("main.db"));
    auto b = makeNode(shared.file("main.db"));
    ASSERT_TRUE(start(*a)) << a->server->error();
    ASSERT_TRUE(start(*b)) << b->server->error();
    auto slow = v2();
    if (isPostgres()) slow["V2__add_column.sql"] = std::string("SELECT pg_sleep(0.5);\n") + kAddColumn;
    // Unpacked beside each appBase first, so the two renames land as close together as they can.
    writeDataSourceApp(a->base, "shop##2", "guestbook", guestbookWebXml("v2"), slow);
    writeDataSourceApp(b->base, "shop##2", "guestbook", guestbookWebXml("v2"), slow);
    std::thread ta(
        [&] { std::rename(a->base.file("shop##2").c_str(), a->base.file("webapps/shop##2").c_str()); });
    std::thread tb(
        [&] { std::rename(b->base.file("shop##2").c_str(), b->base.file("webapps/shop##2").c_str()); });
    ta.join();
    tb.join();
    EXPECT_TRUE(serves(*a, "app=v2\nschema=2\nhistory=2\ncolumns=4\n")) << info(*a) << a->server->log();
    EXPECT_TRUE(serves(*b, "app=v2\nschema=2\nhistory=2\ncolumns=4\n")) << info(*b) << b->server->log();
    // Each migration was applied by exactly one node (the lock is taken per migration, so the
    // two may share the work); neither deploy failed.
    std::string applied;
    for (Node* node : {a.get(), b.get()}) {
        std::string log = node->server->log();
        for (size_t at = log.find("now at version"); at != std::string::npos;
             at = log.find("now at version", at + 1))
            applied += log.substr(at, log.find('\n', at) - at) + "\n";
    }
    auto count = [&](const std::string& script) {
        size_t n = 0;
        for (size_t at = applied.find(script); at != std::string::npos; at = applied.find(script, at + 1))
            ++n;
        return n;
    };
    EXPECT_EQ(count("V1__create_tables.sql"), 1u) << applied;
    EXPECT_EQ(count("V2__add_column.sql"), 1u) << applied;
    EXPECT_THAT(a->server->log() + b->server->log(), Not(HasSubstr("ERROR")));
}
