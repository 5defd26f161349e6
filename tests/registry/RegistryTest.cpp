#include "registry/Registry.h"

#include "support/SqliteQuery.h"
#include "support/TempDir.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

using serval::registry::AuditEntry;
using serval::registry::DatabaseError;
using serval::registry::Deployment;
using serval::registry::DeploymentState;
using serval::registry::Registry;
using serval::test::sqliteQuery;
using serval::test::TempDir;

namespace {

Deployment shop(const std::string& version = "")
{
    Deployment d;
    d.host = "localhost";
    d.path = "/shop";
    d.version = version;
    d.versionId = "v1-abc";
    d.bundle = version.empty() ? "shop.sar" : "shop##" + version + ".sar";
    d.checksum = std::string(64, 'a');
    d.state = DeploymentState::Running;
    d.deployedAt = 1000;
    return d;
}

} // namespace

TEST(RegistryTest, CreatesSchemaWithWalAndUserVersion)
{
    TempDir tmp;
    {
        Registry registry(tmp.file("serval.db"));
        EXPECT_EQ(registry.schemaVersion(), Registry::kSchemaVersion);
        std::string detail;
        EXPECT_TRUE(registry.integrityCheck(detail)) << detail;
    }
    EXPECT_EQ(sqliteQuery(tmp.file("serval.db"), "PRAGMA journal_mode"), "wal");
    EXPECT_EQ(sqliteQuery(tmp.file("serval.db"), "PRAGMA user_version"),
              std::to_string(Registry::kSchemaVersion));
    // Reopening does not migrate twice.
    Registry again(tmp.file("serval.db"));
    EXPECT_EQ(again.schemaVersion(), Registry::kSchemaVersion);
}

TEST(RegistryTest, ItsFilesAreReadableByTheServersUserOnly)
{
    // Session ids, token hashes and crash records: no other local user may read them, whatever
    // the umask, and a file an older version left 0644 is tightened (its -wal and -shm too).
    TempDir tmp;
    auto mode = [](const std::string& file) {
        struct stat st
        {
        };
        return ::stat(file.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
    };
    mode_t old = ::umask(022);
    {
        Registry registry(tmp.file("new.db"));
        registry.putDeployment(shop());
    }
    EXPECT_EQ(mode(tmp.file("new.db")), 0600);
    {
        Registry registry(tmp.file("new.db"));
        registry.putDeployment(shop("2"));
        EXPECT_EQ(mode(tmp.file("new.db-wal")), 0600);
        EXPECT_EQ(mode(tmp.file("new.db-shm")), 0600);
    }

    tmp.write("loose.db", "");
    ASSERT_EQ(::chmod(tmp.file("loose.db").c_str(), 0644), 0);
    {
        Registry registry(tmp.file("loose.db"));
        registry.putDeployment(shop("3"));
        EXPECT_EQ(mode(tmp.file("loose.db-wal")), 0600);
    }
    EXPECT_EQ(mode(tmp.file("loose.db")), 0600);
    ::umask(old);
}

TEST(RegistryTest, RefusesANewerSchema)
{
    TempDir tmp;
    {
        Registry registry(tmp.file("serval.db"));
    }
    sqliteQuery(tmp.file("serval.db"), "PRAGMA user_version = 99");
    try {
        Registry registry(tmp.file("serval.db"));
        FAIL() << "opened a schema from the future";
    } catch (const DatabaseError& e) {
        EXPECT_NE(std::string(e.what()).find("schema version 99, newer than this serval knows"),
                  std::string::npos)
            << e.what();
    }
}

TEST(RegistryTest, ReportsAnUnwritableLocation)
{
    EXPECT_THROW(Registry("/nonexistent-dir/serval.db"), DatabaseError);
}

TEST(RegistryTest, PutFindUpdateRemoveDeployments)
{
    TempDir tmp;
    Registry registry(tmp.file("serval.db"));
    registry.putDeployment(shop());
    registry.putDeployment(shop("2"));
    auto found = registry.findDeployment("localhost", "/shop", "");
    ASSERT_TRUE(found);
    EXPECT_EQ(found->bundle, "shop.sar");
    EXPECT_EQ(found->state, DeploymentState::Running);
    EXPECT_EQ(found->desiredState, DeploymentState::Running);
    EXPECT_GT(found->updatedAt, 0);
    EXPECT_EQ(registry.deployments().size(), 2u);
    EXPECT_EQ(registry.deployments("other").size(), 0u);

    Deployment next = shop();
    next.versionId = "v2-def";
    registry.putDeployment(next); // same key: replaces
    EXPECT_EQ(registry.deployments().size(), 2u);
    EXPECT_EQ(registry.findDeployment("localhost", "/shop", "")->versionId, "v2-def");

    EXPECT_TRUE(registry.recordFailure("localhost", "/shop", "", "shop.sar: WEB-INF/web.xml is missing"));
    found = registry.findDeployment("localhost", "/shop", "");
    EXPECT_EQ(found->state, DeploymentState::Running) << "a failed redeploy keeps the old version running";
    EXPECT_EQ(found->failureReason, "shop.sar: WEB-INF/web.xml is missing");
    EXPECT_GT(found->failedAt, 0);
    EXPECT_FALSE(registry.recordFailure("localhost", "/nothing", "", "x"));

    registry.setState("localhost", "/shop", "2", DeploymentState::Failed, "init failed");
    EXPECT_EQ(registry.findDeployment("localhost", "/shop", "2")->state, DeploymentState::Failed);
    registry.setDesiredState("localhost", "/shop", "", DeploymentState::Stopped);
    EXPECT_EQ(registry.findDeployment("localhost", "/shop", "")->desiredState, DeploymentState::Stopped);

    registry.removeDeployment("localhost", "/shop", "2");
    EXPECT_FALSE(registry.findDeployment("localhost", "/shop", "2"));
}

TEST(RegistryTest, RowsSurviveReopen)
{
    TempDir tmp;
    {
        Registry(tmp.file("serval.db")).putDeployment(shop());
    }
    Registry registry(tmp.file("serval.db"));
    ASSERT_TRUE(registry.findDeployment("localhost", "/shop", ""));
}

TEST(RegistryTest, HistoryIsNewestFirstAndFiltered)
{
    TempDir tmp;
    Registry registry(tmp.file("serval.db"));
    registry.addEvent("localhost", "/shop", "", "deployed", "shop.sar (sha256 aaa)");
    registry.addEvent("localhost", "/docs", "", "deployed", "docs");
    registry.addEvent("localhost", "/shop", "", "failed", "shop.sar: bad");
    auto all = registry.history();
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0].event, "failed");
    auto shopOnly = registry.history("localhost", "/shop");
    ASSERT_EQ(shopOnly.size(), 2u);
    EXPECT_EQ(shopOnly[1].event, "deployed");
    EXPECT_EQ(registry.history("", "", 1).size(), 1u);
}

TEST(RegistryTest, AuditTrail)
{
    TempDir tmp;
    Registry registry(tmp.file("serval.db"));
    registry.addAudit({0, "admin", "127.0.0.1", "undeploy", "localhost /shop", "ok"});
    registry.addAudit({0, "admin", "127.0.0.1", "deploy", "localhost /docs", "refused"});
    auto entries = registry.audit();
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].action, "deploy");
    EXPECT_EQ(entries[1].user, "admin");
    EXPECT_GT(entries[1].time, 0);
}

TEST(RegistryTest, IntegrityCheckFindsCorruption)
{
    TempDir tmp;
    {
        Registry registry(tmp.file("serval.db"));
        for (int i = 0; i < 200; ++i)
            registry.addEvent("h", "/p" + std::to_string(i), "", "deployed", std::string(200, 'x'));
        sqliteQuery(tmp.file("serval.db"), "PRAGMA wal_checkpoint(TRUNCATE)");
    }
    // Overwrite every page after the first (the header stays valid) with garbage.
    std::string bytes = serval::test::readFile(tmp.file("serval.db"));
    ASSERT_GT(bytes.size(), 8192u);
    FILE* f = std::fopen(tmp.file("serval.db").c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    std::fseek(f, 4096 + 64, SEEK_SET);
    std::string junk(bytes.size() - 4096 - 64, '\xee');
    std::fwrite(junk.data(), 1, junk.size(), f);
    std::fclose(f);
    std::string detail;
    bool ok = true;
    try {
        Registry registry(tmp.file("serval.db"));
        ok = registry.integrityCheck(detail);
    } catch (const DatabaseError& e) {
        ok = false;
        detail = e.what();
    }
    EXPECT_FALSE(ok);
    EXPECT_FALSE(detail.empty());
}

TEST(RegistryTest, CrashRecordsNewestFirstAndTrimmed)
{
    TempDir tmp;
    Registry registry(tmp.file("serval.db"));
    using serval::registry::CrashRecord;
    for (int i = 0; i < Registry::kCrashesKept + 5; ++i) {
        CrashRecord c;
        c.crashId = "c-" + std::to_string(i);
        c.time = 1000 + i;
        c.host = "localhost";
        c.path = i == 1 ? "/docs" : "/shop";
        c.cause = "crash";
        c.signal = "SIGSEGV";
        c.summary = "SIGSEGV in f()";
        c.backtrace = "#0 f\n#1 g";
        c.function = "f()";
        registry.addCrash(c);
    }
    auto shop = registry.crashes("localhost", "/shop", 1000);
    EXPECT_EQ(shop.size(), size_t(Registry::kCrashesKept)) << "the oldest of /shop's go";
    ASSERT_FALSE(shop.empty());
    EXPECT_EQ(shop.front().crashId, "c-" + std::to_string(Registry::kCrashesKept + 4));
    EXPECT_EQ(shop.front().backtrace, "#0 f\n#1 g");
    EXPECT_EQ(shop.front().function, "f()");
    EXPECT_EQ(registry.crashes("", "", 3).size(), 3u);
    auto found = registry.findCrash("c-1");
    ASSERT_TRUE(found);
    EXPECT_EQ(found->path, "/docs");
    EXPECT_FALSE(registry.findCrash("c-nope"));
}
