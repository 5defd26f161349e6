// Scenario tests with the real `serval` (in the spirit of Tomcat's
// TestHostConfigAutomaticDeployment*): add, modify and delete bundles and exploded directories
// at start-up and while running; each checks what is served, what is on disk and what the
// registry says. Plus redeploy under load and crash safety at named points of a deploy.
#include "deployer/ArchiveBuilder.h"
#include "deployer/Fixtures.h"
#include "registry/Registry.h"
#include "support/HttpClient.h"
#include "support/ServalProcess.h"
#include "support/TempDir.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <gtest/gtest.h>
#include <set>
#include <sys/stat.h>
#include <thread>

using namespace std::chrono_literals;
using serval::registry::DeploymentState;
using serval::registry::Registry;
using serval::test::ArchiveEntry;
using serval::test::eventually;
using serval::test::httpGet;
using serval::test::ServalProcess;
using serval::test::TempDir;

namespace {

std::vector<std::string> list(const std::string& dir)
{
    std::vector<std::string> out;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (dirent* e = ::readdir(d)) {
            std::string n = e->d_name;
            if (n != "." && n != "..") out.push_back(n);
        }
        ::closedir(d);
    }
    return out;
}

const char* kAppWebXml =
    "<?xml version=\"1.0\"?>\n<web-app>\n  <display-name>shop</display-name>\n"
    "  <servlet><servlet-name>ok</servlet-name><servlet-class>deployer.Ok</servlet-class>"
    "</servlet>\n  <servlet-mapping><servlet-name>ok</servlet-name><url-pattern>/ok</url-pattern>"
    "</servlet-mapping>\n</web-app>\n";

class DeploymentScenarioTest : public ::testing::Test
{
protected:
    void SetUp() override { serval::test::makeDirs(tmp.file("webapps")); }
    void TearDown() override { ::unsetenv("SERVAL_TEST_CRASH_AT"); }

    bool start()
    {
        ::unlink(tmp.file("serval.stderr").c_str()); // ServalProcess looks for the first "listening" line
        server = std::make_unique<ServalProcess>(tmp.path());
        return server->start();
    }
    /// Writes a bundle answering `version` at /version.txt (and "ok" at /ok with the app
    /// library) outside appBase, then renames it in, as a careful operator would.
    void drop(const std::string& fileName, const std::string& version,
              const std::string& library = "fixture_app", std::vector<ArchiveEntry> extra = {})
    {
        std::vector<ArchiveEntry> entries = {
            {"WEB-INF/web.xml", library.empty() ? serval::test::minimalWebXml() : kAppWebXml},
            {"version.txt", version}};
        if (!library.empty()) {
            entries.push_back(
                {"WEB-INF/lib/libapp.so", serval::test::readFile(serval::test::fixtureLibrary(library))});
        }
        for (auto& e : extra)
            entries.push_back(e);
        serval::test::writeArchive(tmp.file("bundle.tmp"), entries);
        ASSERT_EQ(::rename(tmp.file("bundle.tmp").c_str(), tmp.file("webapps/" + fileName).c_str()), 0);
        droppedAt = std::chrono::steady_clock::now();
    }
    std::string served(const std::string& target)
    {
        auto reply = httpGet(server->port(), target);
        return reply.status == 200 ? reply.body : std::to_string(reply.status);
    }
    bool eventuallyServed(const std::string& target, const std::string& expected,
                          std::chrono::milliseconds d = 10s)
    {
        return eventually([&] { return served(target) == expected; }, d);
    }
    std::optional<serval::registry::Deployment> row(const std::string& path, const std::string& version = "")
    {
        Registry registry(tmp.file("data/serval.db"));
        return registry.findDeployment("localhost", path, version);
    }
    std::vector<std::string> versionDirs(const std::string& name)
    {
        return list(tmp.file("work/localhost/" + name));
    }
    std::vector<std::string> staging() { return list(tmp.file("work/localhost/.staging")); }

    TempDir tmp;
    std::unique_ptr<ServalProcess> server;
    std::chrono::steady_clock::time_point droppedAt; ///< when the last drop() renamed its bundle in
};

} // namespace

TEST_F(DeploymentScenarioTest, BundleAddedModifiedDeletedWhileRunning)
{
    ASSERT_TRUE(start()) << server->error();
    // A 1 MiB bundle (the drop-to-first-200 case): incompressible assets plus the app.
    std::string blob(1024 * 1024, '\0');
    uint32_t x = 2463534242u;
    for (char& c : blob) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        c = static_cast<char>(x);
    }
    drop("shop.sar", "one", "fixture_app", {{"assets/blob.bin", blob}});
    auto dropped = droppedAt;
    ASSERT_TRUE(eventuallyServed("/shop/version.txt", "one")) << server->log();
    auto firstOk = std::chrono::steady_clock::now();
    std::printf("[ perf ] drop-to-first-200 of a new bundle: %lld ms\n",
                (long long)std::chrono::duration_cast<std::chrono::milliseconds>(firstOk - dropped).count());
    EXPECT_EQ(served("/shop/ok"), "ok");
    // The registry row follows the routing swap (commit order), so it may lag the first 200.
    ASSERT_TRUE(eventually([&] { return row("/shop").has_value(); }));
    auto first = row("/shop");
    EXPECT_EQ(first->state, DeploymentState::Running);
    EXPECT_EQ(first->bundle, "shop.sar");
    EXPECT_EQ(versionDirs("shop"), std::vector<std::string>{first->versionId});
    EXPECT_TRUE(staging().empty());

    drop("shop.sar", "two");
    ASSERT_TRUE(eventuallyServed("/shop/version.txt", "two")) << server->log();
    EXPECT_EQ(served("/shop/ok"), "ok");
    ASSERT_TRUE(eventually(
        [&] { return versionDirs("shop").size() == 1 && row("/shop")->versionId != first->versionId; }));

    ::unlink(tmp.file("webapps/shop.sar").c_str());
    ASSERT_TRUE(eventuallyServed("/shop/version.txt", "404")) << server->log();
    EXPECT_TRUE(eventually([&] { return versionDirs("shop").empty() && !row("/shop"); }));
}

TEST_F(DeploymentScenarioTest, BundlesAndDirectoriesPresentAtStartup)
{
    drop("shop.sar", "one");
    drop("blog##3.sar", "blog3", "");
    tmp.write("webapps/docs/index.html", "docs");
    ASSERT_TRUE(start()) << server->error();
    EXPECT_EQ(served("/shop/version.txt"), "one");
    EXPECT_EQ(served("/blog/version.txt"), "blog3");
    EXPECT_EQ(served("/docs/"), "docs");
    EXPECT_EQ(row("/blog", "3")->state, DeploymentState::Running);

    // Restart: the same versions come back from work/ (no new unpack).
    auto before = row("/shop")->versionId;
    server->stop();
    ASSERT_TRUE(start()) << server->error();
    EXPECT_EQ(served("/shop/version.txt"), "one");
    EXPECT_EQ(row("/shop")->versionId, before);

    // Changed and removed while down.
    server->stop();
    drop("shop.sar", "two");
    ::unlink(tmp.file("webapps/blog##3.sar").c_str());
    ASSERT_TRUE(start()) << server->error();
    EXPECT_EQ(served("/shop/version.txt"), "two");
    EXPECT_EQ(served("/blog/version.txt"), "404");
    EXPECT_FALSE(row("/blog", "3"));
    EXPECT_TRUE(versionDirs("blog").empty());
}

TEST_F(DeploymentScenarioTest, ExplodedDirectoryAddedModifiedDeletedWhileRunning)
{
    ASSERT_TRUE(start()) << server->error();
    tmp.write("webapps/docs/index.html", "docs one");
    ASSERT_TRUE(eventuallyServed("/docs/", "docs one")) << server->log();
    tmp.write("webapps/docs/index.html", "docs two"); // static files are live
    ASSERT_TRUE(eventuallyServed("/docs/", "docs two"));

    tmp.write("webapps/app/WEB-INF/web.xml", kAppWebXml);
    tmp.write("webapps/app/version.txt", "app");
    serval::test::makeDirs(tmp.file("webapps/app/WEB-INF/lib"));
    serval::test::copyWithPatch(serval::test::fixtureLibrary("fixture_app"),
                                tmp.file("webapps/app/WEB-INF/lib/libapp.so"));
    ASSERT_TRUE(eventuallyServed("/app/ok", "ok")) << server->log();
    EXPECT_EQ(versionDirs("app").size(), 1u) << "an app with libraries runs from its own copy";

    std::string removed = tmp.file("webapps/docs");
    ASSERT_EQ(std::system(("rm -rf '" + removed + "'").c_str()), 0);
    ASSERT_TRUE(eventuallyServed("/docs/", "404"));
    EXPECT_TRUE(eventually([&] { return !row("/docs"); })) << "the row goes once the directory is gone";
}

TEST_F(DeploymentScenarioTest, FailedDeployKeepsTheOldVersionServing)
{
    drop("shop.sar", "good");
    ASSERT_TRUE(start()) << server->error();
    ASSERT_EQ(served("/shop/version.txt"), "good");

    struct Case
    {
        std::string library;
        std::vector<ArchiveEntry> extra;
        std::string reason;
    } cases[] = {
        {"fixture_app",
         {{"../../escape.txt", "x"}},
         "shop.sar: entry \"../../escape.txt\" leaves the bundle"},
        {"fixture_crash_ctor", {}, "crashed the preflight process with SIGILL"},
        {"fixture_exit_ctor", {}, "ended the preflight process with exit status 3"},
        {"fixture_noentry", {}, "does not export serval_app_init_v1"},
        {"fixture_init_fails", {}, "the database is not configured"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.reason);
        drop("shop.sar", "bad", c.library, c.extra);
        ASSERT_TRUE(eventually([&] {
            auto r = row("/shop");
            return r && r->failureReason.find(c.reason) != std::string::npos;
        })) << server->log();
        EXPECT_EQ(served("/shop/version.txt"), "good");
        EXPECT_EQ(row("/shop")->state, DeploymentState::Running);
        EXPECT_TRUE(server->waitForLog(c.reason));
        EXPECT_TRUE(staging().empty());
        struct stat st;
        EXPECT_NE(::stat(tmp.file("escape.txt").c_str(), &st), 0) << "nothing written outside staging";
    }
    ::rename(tmp.file("webapps/shop.sar").c_str(), tmp.file("shop.bad").c_str());
    serval::test::writeArchive(tmp.file("bundle.tmp"), {{"this is", "not a bundle"}});
    std::ofstream(tmp.file("webapps/junk.sar")) << "not an archive at all";
    ASSERT_TRUE(eventually([&] {
        auto r = row("/junk");
        return r && r->state == DeploymentState::Failed;
    }));
    EXPECT_NE(row("/junk")->failureReason.find("junk.sar: not a zip or tar archive"), std::string::npos);
    EXPECT_EQ(served("/shop/version.txt"), "404") << "shop.sar was removed";
    drop("shop.sar", "fixed");
    EXPECT_TRUE(eventuallyServed("/shop/version.txt", "fixed"));
}

TEST_F(DeploymentScenarioTest, RedeployUnderLoadFailsNoRequest)
{
    drop("shop.sar", "0");
    ASSERT_TRUE(start()) << server->error();
    ASSERT_EQ(served("/shop/version.txt"), "0");
    std::atomic<bool> done{false};
    std::atomic<int> requests{0}, failures{0};
    std::string firstFailure;
    std::set<std::string> seen;
    std::thread client([&] {
        while (!done) {
            auto reply = httpGet(server->port(), "/shop/version.txt");
            ++requests;
            bool whole = reply.status == 200 && !reply.body.empty() &&
                         reply.body.find_first_not_of("0123456789") == std::string::npos;
            if (!whole) {
                if (failures++ == 0) firstFailure = std::to_string(reply.status) + " " + reply.body;
            } else {
                seen.insert(reply.body);
            }
        }
    });
    for (int v = 1; v <= 20; ++v) {
        drop("shop.sar", std::to_string(v));
        ASSERT_TRUE(eventuallyServed("/shop/version.txt", std::to_string(v))) << server->log();
    }
    done = true;
    client.join();
    EXPECT_EQ(failures.load(), 0) << firstFailure;
    EXPECT_GT(requests.load(), 20);
    std::printf("[ perf ] %d requests during 20 redeploys, %zu versions seen, %d failed\n", requests.load(),
                seen.size(), failures.load());
    // The libraries of old versions are unmapped, so the maps do not grow with each redeploy.
    std::string maps = serval::test::readFile("/proc/" + std::to_string(server->pid()) + "/maps");
    size_t mapped = 0;
    for (size_t at = maps.find("libapp.so"); at != std::string::npos; at = maps.find("libapp.so", at + 1))
        ++mapped;
    EXPECT_LE(mapped, 2 * 6u) << "at most the current and one draining version mapped";
    EXPECT_TRUE(eventually([&] { return versionDirs("shop").size() == 1; }));
}

TEST_F(DeploymentScenarioTest, LibraryThatStaysMappedIsReported)
{
    drop("shop.sar", "one", "fixture_nodelete");
    ASSERT_TRUE(start()) << server->error();
    ASSERT_EQ(served("/shop/ok"), "ok");
    EXPECT_FALSE(row("/shop")->libraryStayedMapped);
    drop("shop.sar", "two", "fixture_nodelete");
    ASSERT_TRUE(eventuallyServed("/shop/version.txt", "two")) << server->log();
    EXPECT_TRUE(eventually([&] { return row("/shop")->libraryStayedMapped; })) << server->log();
    EXPECT_TRUE(server->waitForLog("the library of the old version of /shop stayed mapped after unload"));

    drop("shop.sar", "three", "fixture_app"); // a well-behaved library is unmapped: no report
    ASSERT_TRUE(eventuallyServed("/shop/version.txt", "three"));
    ASSERT_TRUE(eventually([&] { return versionDirs("shop").size() == 1; }));
}

TEST_F(DeploymentScenarioTest, CrashAtEachPointLeavesOldOrNewVersionWhole)
{
    for (const char* point : {"staged", "renamed", "started", "routed", "registered", "drained"}) {
        SCOPED_TRACE(point);
        drop("shop.sar", "old");
        ASSERT_TRUE(start()) << server->error();
        ASSERT_TRUE(eventuallyServed("/shop/version.txt", "old"));
        server->stop();

        ::setenv("SERVAL_TEST_CRASH_AT", point, 1);
        ASSERT_TRUE(start()) << server->error();
        drop("shop.sar", "new");
        ASSERT_TRUE(eventually([&] { return !server->running(); })) << "did not reach " << point;
        ::unsetenv("SERVAL_TEST_CRASH_AT");

        ASSERT_TRUE(start()) << server->error();
        std::string first = served("/shop/version.txt");
        EXPECT_TRUE(first == "old" || first == "new") << first;
        EXPECT_EQ(served("/shop/ok"), "ok");
        EXPECT_TRUE(eventuallyServed("/shop/version.txt", "new"));
        EXPECT_TRUE(staging().empty());
        EXPECT_TRUE(eventually([&] { return versionDirs("shop").size() == 1; }));
        std::string detail;
        EXPECT_TRUE(Registry(tmp.file("data/serval.db")).integrityCheck(detail)) << detail;
        server->stop();
    }
}

TEST_F(DeploymentScenarioTest, KillNineAtRandomMomentsOfRedeploys)
{
    // 50 runs: replace the bundle, kill -9 the server at a random moment of the redeploy, restart:
    // what is served is wholly the previous or the new version, staging is empty, the registry
    // is intact, and the new version ends up serving.
    std::srand(12345);
    drop("shop.sar", "0");
    ASSERT_TRUE(start()) << server->error();
    for (int run = 1; run <= 50; ++run) {
        SCOPED_TRACE(run);
        drop("shop.sar", std::to_string(run));
        // A random moment: this pause picks when to kill, it does not wait for anything.
        std::this_thread::sleep_for(std::chrono::microseconds(std::rand() % 80000));
        server->kill();
        ASSERT_TRUE(start()) << server->error();
        std::string first = served("/shop/version.txt");
        EXPECT_TRUE(first == std::to_string(run - 1) || first == std::to_string(run)) << first;
        EXPECT_TRUE(staging().empty() || eventually([&] { return staging().empty(); }));
        std::string detail;
        EXPECT_TRUE(Registry(tmp.file("data/serval.db")).integrityCheck(detail)) << detail;
        ASSERT_TRUE(eventuallyServed("/shop/version.txt", std::to_string(run))) << server->log();
        EXPECT_EQ(served("/shop/ok"), "ok");
    }
    EXPECT_TRUE(eventually([&] { return versionDirs("shop").size() == 1; }));
}
