// HostDeployer against a fake ContextRunner (unit test: the real Host/Context pair is exercised
// by the scenario tests with a real serval process). Drives tick() directly with injected times.
#include "deployer/HostDeployer.h"

#include "deployer/Deployer.h"
#include "registry/Registry.h"
#include "support/ArchiveBuilder.h"
#include "support/Fixtures.h"
#include "support/ServalProcess.h"
#include "support/Servalctl.h"
#include "support/TempDir.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <map>
#include <set>
#include <sys/stat.h>
#include <utime.h>

using namespace std::chrono_literals;
using serval::bundle::ContextName;
using serval::deployer::ContextHandle;
using serval::deployer::ContextRunner;
using serval::deployer::HostDeployer;
using serval::deployer::HostDeployerSettings;
using serval::registry::DeploymentState;
using serval::registry::Registry;
using serval::test::ArchiveEntry;
using serval::test::TempDir;
using Clock = std::chrono::steady_clock;

namespace {

/// A Context that serves its docBase's version.txt.
class FakeContext : public ContextHandle
{
public:
    explicit FakeContext(std::string docBase) : docBase(std::move(docBase)) {}
    int64_t inFlight() const noexcept override { return requests; }
    void stop() noexcept override { started = false; }
    serval::util::Outcome start() noexcept override
    {
        started = true;
        return {};
    }
    bool isStarted() const noexcept override { return started; }
    bool libraryStayedMapped() const noexcept override { return false; }
    std::string docBase;
    bool started = true;
    int64_t requests = 0;
};

class FakeRunner : public ContextRunner
{
public:
    serval::util::Expected<std::shared_ptr<ContextHandle>>
    create(const ContextName&, const std::string& docBase,
           const std::optional<serval::config::WebAppConfig>& descriptor) override
    {
        if (!serval::test::readFile(docBase + "/FAIL_START").empty())
            return serval::util::failure("app \"shop\" failed to start: on purpose");
        ++created;
        descriptors.push_back(descriptor);
        return std::shared_ptr<ContextHandle>(std::make_shared<FakeContext>(docBase));
    }
    std::shared_ptr<ContextHandle> route(const std::string& path,
                                         std::shared_ptr<ContextHandle> context) override
    {
        auto old = routes[path];
        routes[path] = context;
        return old;
    }
    std::shared_ptr<ContextHandle> unroute(const std::string& path) override
    {
        auto old = routes[path];
        routes.erase(path);
        return old;
    }
    /// What a request to `path` would get: version.txt of the routed Context ("" if none or stopped).
    std::string served(const std::string& path)
    {
        auto it = routes.find(path);
        if (it == routes.end() || !it->second) return "";
        auto fake = std::static_pointer_cast<FakeContext>(it->second);
        if (!fake->started) return "503";
        return serval::test::readFile(fake->docBase + "/version.txt");
    }
    std::map<std::string, std::shared_ptr<ContextHandle>> routes;
    int created = 0;
    std::vector<std::optional<serval::config::WebAppConfig>> descriptors; ///< what each create() got
};

class HostDeployerTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        serval::test::makeDirs(tmp.file("webapps"));
        serval::test::makeDirs(tmp.file("work/localhost"));
        registry = std::make_unique<Registry>(tmp.file("serval.db"));
        settings.appBase = tmp.file("webapps");
        settings.workDir = tmp.file("work/localhost");
        settings.stableFor = 0ms;
        settings.preflightBinary = SERVAL_PREFLIGHT_DRIVER;
        settings.drainTimeout = 200ms;
    }
    HostDeployer& deployer()
    {
        if (!_deployer) _deployer = std::make_unique<HostDeployer>(settings, runner, *registry);
        return *_deployer;
    }
    void restart()
    {
        _deployer.reset();
        runner.routes.clear();
        deployer().startup();
    }
    /// A bundle answering `version` from version.txt, optionally with an app library.
    void bundle(const std::string& fileName, const std::string& version, const std::string& library = "",
                std::vector<ArchiveEntry> extra = {})
    {
        std::vector<ArchiveEntry> entries = {{"WEB-INF/web.xml", serval::test::minimalWebXml()},
                                             {"version.txt", version}};
        if (!library.empty()) {
            entries.push_back(
                {"WEB-INF/lib/libapp.so", serval::test::readFile(serval::test::fixtureLibrary(library))});
        }
        for (auto& e : extra)
            entries.push_back(e);
        // Write next to appBase, then rename in: the deployer never sees a half-written file.
        serval::test::writeArchive(tmp.file(".tmp.sar"), entries);
        ASSERT_EQ(::rename(tmp.file(".tmp.sar").c_str(), tmp.file("webapps/" + fileName).c_str()), 0);
    }
    std::vector<std::string> versionDirs(const std::string& name)
    {
        return serval::test::listDirectory(tmp.file("work/localhost/" + name));
    }
    std::vector<std::string> staging()
    {
        return serval::test::listDirectory(tmp.file("work/localhost/.staging"));
    }
    DeploymentState state(const std::string& path, const std::string& version = "")
    {
        auto row = registry->findDeployment("localhost", path, version);
        return row ? row->state : DeploymentState::Deploying;
    }
    void tick() { deployer().tick(Clock::now()); }

    TempDir tmp;
    FakeRunner runner;
    std::unique_ptr<Registry> registry;
    HostDeployerSettings settings;
    std::unique_ptr<HostDeployer> _deployer;
};

} // namespace

TEST_F(HostDeployerTest, AddModifyDeleteBundleWhileRunning)
{
    deployer().startup();
    bundle("shop.sar", "one", "good");
    tick();
    EXPECT_EQ(runner.served("/shop"), "one");
    EXPECT_EQ(state("/shop"), DeploymentState::Running);
    EXPECT_EQ(versionDirs("shop").size(), 1u);
    EXPECT_TRUE(staging().empty());
    auto first = registry->findDeployment("localhost", "/shop", "");
    ASSERT_TRUE(first);
    EXPECT_EQ(first->checksum.size(), 64u);

    bundle("shop.sar", "two", "good");
    tick();
    EXPECT_EQ(runner.served("/shop"), "two");
    auto second = registry->findDeployment("localhost", "/shop", "");
    EXPECT_NE(second->versionId, first->versionId);
    EXPECT_NE(second->checksum, first->checksum);
    EXPECT_EQ(versionDirs("shop"), std::vector<std::string>{second->versionId})
        << "old version directory removed";

    ::unlink(tmp.file("webapps/shop.sar").c_str());
    tick();
    EXPECT_EQ(runner.served("/shop"), "");
    EXPECT_FALSE(registry->findDeployment("localhost", "/shop", ""));
    EXPECT_TRUE(versionDirs("shop").empty());
    auto events = registry->history("localhost", "/shop");
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0].event, "undeployed");
    EXPECT_EQ(events[1].event, "redeployed");
    EXPECT_EQ(events[2].event, "deployed");
}

TEST_F(HostDeployerTest, FailedRedeployKeepsTheOldVersionAndFixingItDeploys)
{
    deployer().startup();
    bundle("shop.sar", "good", "good");
    tick();
    ASSERT_EQ(runner.served("/shop"), "good");

    struct Broken
    {
        std::string library;
        std::vector<ArchiveEntry> extra;
        std::string reason;
    } cases[] = {
        {"no_entry", {}, "shop.sar: app \"shop\": libapp.so does not export serval_app_init_v1"},
        {"crash_ctor", {}, "crashed the preflight process with SIGILL"},
        {"init_fails", {}, "the database is not configured"},
        {"", {{"../evil", "x"}}, "shop.sar: entry \"../evil\" leaves the bundle"},
        {"", {{"FAIL_START", "1"}}, "shop.sar: app \"shop\" failed to start: on purpose"},
    };
    for (const Broken& c : cases) {
        SCOPED_TRACE(c.reason);
        bundle("shop.sar", "broken", c.library, c.extra);
        tick();
        EXPECT_EQ(runner.served("/shop"), "good");
        auto row = registry->findDeployment("localhost", "/shop", "");
        ASSERT_TRUE(row);
        EXPECT_EQ(row->state, DeploymentState::Running);
        EXPECT_NE(row->failureReason.find(c.reason), std::string::npos) << row->failureReason;
        EXPECT_GT(row->failedAt, 0);
        EXPECT_EQ(registry->history("localhost", "/shop", 1)[0].event, "failed");
        EXPECT_TRUE(staging().empty());
        EXPECT_EQ(versionDirs("shop").size(), 1u);
        int created = runner.created;
        tick(); // the same broken file is not retried
        EXPECT_EQ(runner.created, created);
    }
    bundle("shop.sar", "fixed", "good");
    tick();
    EXPECT_EQ(runner.served("/shop"), "fixed");
}

TEST_F(HostDeployerTest, FirstDeployThatFailsIsRecordedAsFailed)
{
    deployer().startup();
    serval::test::writeArchive(tmp.file("webapps/shop.sar"), {{"index.html", "no descriptor"}});
    tick();
    EXPECT_EQ(runner.served("/shop"), "");
    auto row = registry->findDeployment("localhost", "/shop", "");
    ASSERT_TRUE(row);
    EXPECT_EQ(row->state, DeploymentState::Failed);
    EXPECT_EQ(row->failureReason,
              "shop.sar: WEB-INF/web.xml is missing; add a deployment descriptor (see sdk/examples/hello)");
    ::unlink(tmp.file("webapps/shop.sar").c_str());
    tick();
    EXPECT_FALSE(registry->findDeployment("localhost", "/shop", "")) << "the failed row goes with its file";
}

TEST_F(HostDeployerTest, WaitsUntilSizeAndMtimeAreStable)
{
    settings.stableFor = 100ms;
    deployer().startup();
    auto t0 = Clock::now();
    bundle("shop.sar", "one");
    EXPECT_TRUE(deployer().tick(t0)) << "first sighting: wait";
    EXPECT_EQ(runner.served("/shop"), "");
    EXPECT_TRUE(deployer().tick(t0 + 50ms));
    // Still being written: the fingerprint changes, the clock starts again.
    bundle("shop.sar", "two");
    EXPECT_TRUE(deployer().tick(t0 + 120ms));
    EXPECT_EQ(runner.served("/shop"), "");
    EXPECT_FALSE(deployer().tick(t0 + 230ms));
    EXPECT_EQ(runner.served("/shop"), "two");
}

TEST_F(HostDeployerTest, NewestVersionWinsAndOlderIsUndeployed)
{
    deployer().startup();
    bundle("shop##2.sar", "v2");
    tick();
    EXPECT_EQ(runner.served("/shop"), "v2");
    bundle("shop##10.sar", "v10");
    tick();
    EXPECT_EQ(runner.served("/shop"), "v10");
    EXPECT_FALSE(registry->findDeployment("localhost", "/shop", "2"));
    EXPECT_EQ(state("/shop", "10"), DeploymentState::Running);
    EXPECT_EQ(versionDirs("shop").size(), 1u);
    ::unlink(tmp.file("webapps/shop##10.sar").c_str());
    tick();
    EXPECT_EQ(runner.served("/shop"), "v2") << "the remaining version takes over";
    EXPECT_EQ(state("/shop", "2"), DeploymentState::Running);
}

TEST_F(HostDeployerTest, ExplodedDirectories)
{
    deployer().startup();
    // Static only: served where it is (live edits), no copy.
    TempDir& t = tmp;
    t.write("webapps/docs/version.txt", "docs1");
    tick();
    EXPECT_EQ(runner.served("/docs"), "docs1");
    EXPECT_TRUE(versionDirs("docs").empty());
    t.write("webapps/docs/version.txt", "docs2");
    tick();
    EXPECT_EQ(runner.served("/docs"), "docs2");

    // With a library: copied, so each version loads from its own path; redeployed when the
    // descriptor or a library changes.
    t.write("webapps/app/WEB-INF/web.xml", serval::test::minimalWebXml());
    t.write("webapps/app/version.txt", "app1");
    serval::test::makeDirs(t.file("webapps/app/WEB-INF/lib"));
    serval::test::copyWithPatch(serval::test::fixtureLibrary("good"),
                                t.file("webapps/app/WEB-INF/lib/liba.so"));
    tick();
    EXPECT_EQ(runner.served("/app"), "app1");
    EXPECT_EQ(versionDirs("app").size(), 1u);
    int created = runner.created;
    t.write("webapps/app/version.txt", "app2"); // a static change alone does not redeploy
    tick();
    EXPECT_EQ(runner.created, created);
    struct timespec times[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
    t.write("webapps/app/WEB-INF/web.xml", serval::test::minimalWebXml("changed"));
    (void)times;
    tick();
    EXPECT_EQ(runner.served("/app"), "app2");

    serval::bundle::removeTree(t.file("webapps/app"));
    tick();
    EXPECT_EQ(runner.served("/app"), "");
    EXPECT_TRUE(versionDirs("app").empty());
}

TEST_F(HostDeployerTest, StartupReconciliation)
{
    deployer().startup();
    bundle("shop.sar", "one", "good");
    bundle("blog.sar", "blog");
    tick();
    auto row = registry->findDeployment("localhost", "/shop", "");
    ASSERT_TRUE(row);
    deployer().stop("/blog");

    // Leftovers of an interrupted deploy: staging content, a version directory without a row.
    tmp.write("work/localhost/.staging/shop-v123/index.html", "half");
    tmp.write("work/localhost/shop/v999-orphan/version.txt", "orphan");
    int created = runner.created;
    restart();
    EXPECT_TRUE(staging().empty());
    EXPECT_EQ(versionDirs("shop"), std::vector<std::string>{row->versionId});
    EXPECT_EQ(runner.served("/shop"), "one");
    EXPECT_EQ(registry->findDeployment("localhost", "/shop", "")->versionId, row->versionId)
        << "restored from its directory, not unpacked again";
    EXPECT_EQ(runner.created, created + 1);
    EXPECT_EQ(runner.served("/blog"), "") << "stopped apps stay stopped";
    EXPECT_EQ(state("/blog"), DeploymentState::Stopped);

    // Changed while the server was down: deployed anew.
    bundle("shop.sar", "two", "good");
    restart();
    EXPECT_EQ(runner.served("/shop"), "two");
    EXPECT_EQ(versionDirs("shop").size(), 1u);

    // Removed while down: gone from the registry and work/.
    ::unlink(tmp.file("webapps/shop.sar").c_str());
    restart();
    EXPECT_FALSE(registry->findDeployment("localhost", "/shop", ""));
    EXPECT_TRUE(versionDirs("shop").empty());
}

TEST_F(HostDeployerTest, AdminActions)
{
    deployer().startup();
    serval::test::writeArchive(tmp.file("upload.sar"), {{"WEB-INF/web.xml", serval::test::minimalWebXml()},
                                                        {"version.txt", "uploaded"}});
    auto outcome = deployer().deployFile(tmp.file("upload.sar"), "shop.sar", false);
    ASSERT_TRUE(outcome.ok) << outcome.message;
    EXPECT_EQ(runner.served("/shop"), "uploaded");
    EXPECT_EQ(serval::test::readFile(tmp.file("webapps/shop.sar")),
              serval::test::readFile(tmp.file("upload.sar")));

    outcome = deployer().deployFile(tmp.file("upload.sar"), "shop.sar", false);
    EXPECT_FALSE(outcome.ok);
    EXPECT_EQ(outcome.message,
              "/shop is already deployed (from shop.sar); deploy with update=true to replace it");

    std::string bytes = serval::test::readFile(tmp.file("upload.sar"));
    outcome = deployer().deployBytes("shop.sar", bytes, true);
    EXPECT_TRUE(outcome.ok) << outcome.message;

    EXPECT_TRUE(deployer().stop("/shop").ok);
    EXPECT_EQ(runner.served("/shop"), "503");
    EXPECT_EQ(registry->findDeployment("localhost", "/shop", "")->desiredState, DeploymentState::Stopped);
    tick();
    EXPECT_EQ(runner.served("/shop"), "503") << "the watcher does not restart a stopped app";
    EXPECT_TRUE(deployer().start("/shop").ok);
    EXPECT_EQ(runner.served("/shop"), "uploaded");
    EXPECT_EQ(state("/shop"), DeploymentState::Running);

    auto before = registry->findDeployment("localhost", "/shop", "")->versionId;
    EXPECT_TRUE(deployer().reload("/shop").ok);
    EXPECT_NE(registry->findDeployment("localhost", "/shop", "")->versionId, before);

    EXPECT_TRUE(deployer().undeploy("/shop").ok);
    EXPECT_EQ(runner.served("/shop"), "");
    EXPECT_TRUE(serval::test::listDirectory(tmp.file("webapps")).empty())
        << "the bundle is deleted from appBase";
    tick();
    EXPECT_EQ(runner.served("/shop"), "");
    EXPECT_EQ(deployer().undeploy("/shop").problem, serval::deployer::DeployOutcome::Problem::NotFound);

    outcome = deployer().deployBytes("../evil.sar", bytes, false);
    EXPECT_FALSE(outcome.ok);
    EXPECT_EQ(outcome.problem, serval::deployer::DeployOutcome::Problem::BadRequest);
    serval::test::writeArchive(tmp.file("bad.sar"), {{"index.html", "no descriptor"}});
    outcome = deployer().deployFile(tmp.file("bad.sar"), "", false);
    EXPECT_EQ(outcome.problem, serval::deployer::DeployOutcome::Problem::Refused);
    EXPECT_EQ(outcome.message,
              "bad.sar: WEB-INF/web.xml is missing; add a deployment descriptor (see sdk/examples/hello)");
}

TEST_F(HostDeployerTest, DrainsTheOldVersionBeforeStoppingIt)
{
    deployer().startup();
    bundle("shop.sar", "one");
    tick();
    auto old = std::static_pointer_cast<FakeContext>(runner.routes["/shop"]);
    old->requests = 1; // a request still in flight: the old version is stopped only after the drain timeout
    bundle("shop.sar", "two");
    auto start = Clock::now();
    tick();
    EXPECT_GE(Clock::now() - start, settings.drainTimeout);
    EXPECT_FALSE(old->started);
    EXPECT_EQ(runner.served("/shop"), "two");
}

TEST_F(HostDeployerTest, WatcherPicksUpADroppedBundleWithinASecond)
{
    settings.stableFor = 50ms;
    serval::deployer::Deployer watcher(*registry);
    watcher.addHost(settings, runner);
    watcher.startup();
    watcher.startWatching();
    auto dropped = Clock::now();
    bundle("shop.sar", "watched");
    // The deployer runs on the watcher thread; poll through the registry (thread-safe).
    EXPECT_TRUE(serval::test::eventually([&] { return state("/shop") == DeploymentState::Running; }, 3s));
    EXPECT_LT(Clock::now() - dropped, 1s);
    auto outcome = watcher.undeploy("localhost", "/shop");
    EXPECT_TRUE(outcome.ok) << outcome.message;
    EXPECT_FALSE(watcher.undeploy("nohost", "/shop").ok);
    watcher.stopWatching();
    EXPECT_EQ(watcher.history("localhost", "/shop").front().event, "undeployed");
}

TEST_F(HostDeployerTest, AnUnchangedExplodedAppIsRestoredAtStartupNotCopiedAgain)
{
    deployer().startup();
    tmp.write("webapps/app/WEB-INF/web.xml", serval::test::minimalWebXml());
    tmp.write("webapps/app/version.txt", "one");
    serval::test::makeDirs(tmp.file("webapps/app/WEB-INF/lib"));
    serval::test::copyWithPatch(serval::test::fixtureLibrary("good"),
                                tmp.file("webapps/app/WEB-INF/lib/liba.so"));
    tick();
    auto row = registry->findDeployment("localhost", "/app", "");
    ASSERT_TRUE(row);
    EXPECT_EQ(row->checksum.size(), 64u) << "an exploded app's copy has a checksum of its tree";

    restart();
    EXPECT_EQ(runner.served("/app"), "one");
    EXPECT_EQ(registry->findDeployment("localhost", "/app", "")->versionId, row->versionId)
        << "restored from its copy: no copy, preflight or syncfs at start-up";
    EXPECT_EQ(versionDirs("app"), std::vector<std::string>{row->versionId});

    // Any change while the server was down, a static file too, deploys a fresh copy.
    tmp.write("webapps/app/version.txt", "two");
    restart();
    EXPECT_EQ(runner.served("/app"), "two");
    EXPECT_NE(registry->findDeployment("localhost", "/app", "")->versionId, row->versionId);
    EXPECT_EQ(versionDirs("app").size(), 1u);
}

TEST_F(HostDeployerTest, AnAdminDeployThatFailsLeavesNothingInAppBase)
{
    deployer().startup();
    bundle("shop.sar", "one");
    tick();
    std::string before = serval::test::readFile(tmp.file("webapps/shop.sar"));

    // Refused: not an archive, larger than the cap, a FIFO. The running version keeps its bundle.
    tmp.write("broken.sar", "not an archive");
    EXPECT_FALSE(deployer().deployFile(tmp.file("broken.sar"), "shop.sar", true).ok);
    EXPECT_FALSE(deployer().deployFile(tmp.file("broken.sar"), "new.sar", false).ok);
    auto tooLarge =
        deployer().deployFrom(serval::util::FileDescriptor(::open(tmp.file("broken.sar").c_str(), O_RDONLY)),
                              "broken.sar", "big.sar", false, 4);
    EXPECT_EQ(tooLarge.problem, serval::deployer::DeployOutcome::Problem::TooLarge);
    ASSERT_EQ(::mkfifo(tmp.file("fifo.sar").c_str(), 0644), 0);
    auto fifo = deployer().deployFile(tmp.file("fifo.sar"), "", false);
    EXPECT_EQ(fifo.problem, serval::deployer::DeployOutcome::Problem::BadRequest) << fifo.message;
    EXPECT_EQ(serval::test::listDirectory(tmp.file("webapps")), std::vector<std::string>{"shop.sar"});
    EXPECT_EQ(serval::test::readFile(tmp.file("webapps/shop.sar")), before);
    EXPECT_EQ(runner.served("/shop"), "one");
    tick();
    EXPECT_EQ(runner.served("/shop"), "one");

    // A directory is copied by the bundle rules and moves into appBase once it serves.
    tmp.write("src/docs/WEB-INF/web.xml", serval::test::minimalWebXml());
    tmp.write("src/docs/version.txt", "docs");
    auto docs = deployer().deployFile(tmp.file("src/docs"), "", false);
    ASSERT_TRUE(docs.ok) << docs.message;
    EXPECT_EQ(runner.served("/docs"), "docs");
    EXPECT_EQ(serval::test::readFile(tmp.file("webapps/docs/version.txt")), "docs");
    int created = runner.created;
    tick();
    EXPECT_EQ(runner.created, created) << "the watcher finds it unchanged";
    tmp.write("src/docs/version.txt", "docs two");
    ASSERT_TRUE(deployer().deployFile(tmp.file("src/docs"), "", true).ok);
    EXPECT_EQ(runner.served("/docs"), "docs two");
    auto names = serval::test::listDirectory(tmp.file("webapps"));
    EXPECT_EQ(std::set<std::string>(names.begin(), names.end()), (std::set<std::string>{"docs", "shop.sar"}));
}

TEST_F(HostDeployerTest, ReservedPathsAndEverythingBelowThemAreNeverDeployed)
{
    settings.reservedPaths = {"/manager", "/metrics"};
    deployer().startup();
    bundle("manager#x.sar", "below the manager");
    tmp.write("webapps/metrics#y/index.html", "below metrics");
    bundle("managerx.sar", "beside the manager");
    tick();
    EXPECT_EQ(runner.served("/manager/x"), "");
    EXPECT_EQ(runner.routes.count("/metrics/y"), 0u);
    EXPECT_EQ(runner.served("/managerx"), "beside the manager");
    auto row = registry->findDeployment("localhost", "/manager/x", "");
    ASSERT_TRUE(row);
    EXPECT_EQ(row->state, DeploymentState::Failed);
    EXPECT_NE(row->failureReason.find("/manager/x is reserved"), std::string::npos) << row->failureReason;

    serval::test::writeArchive(tmp.file("upload.sar"), {{"WEB-INF/web.xml", serval::test::minimalWebXml()}});
    auto upload = deployer().deployFile(tmp.file("upload.sar"), "manager.sar", false);
    EXPECT_EQ(upload.problem, serval::deployer::DeployOutcome::Problem::Reserved);
    EXPECT_FALSE(serval::test::readFile(tmp.file("webapps/manager.sar")).size());
}
