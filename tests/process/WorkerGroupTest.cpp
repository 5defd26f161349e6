// Worker groups with real worker processes (the serval binary in worker mode) serving the
// faults fixture through lanes on test loops: replay after kill -9, poison requests, POSTs
// never replayed, quarantine, hangs, memory and request-count recycling, crash records.
#include "process/WorkerGroup.h"

#include "TestLoop.h"
#include "process/Supervisor.h"
#include "registry/Registry.h"
#include "support/Fixtures.h"
#include "support/ServalProcess.h"
#include "support/TempDir.h"

#include <csignal>
#include <filesystem>
#include <gtest/gtest.h>
#include <list>

using namespace serval;
using namespace serval::process;
using namespace serval::test;
using namespace std::chrono_literals;

namespace {

namespace fs = std::filesystem;

class WorkerGroupTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        base.write("app/WEB-INF/web.xml", "<web-app><servlet><servlet-name>f</servlet-name>"
                                          "<servlet-class>fixture.Faults</servlet-class></servlet>"
                                          "<servlet-mapping><servlet-name>f</servlet-name>"
                                          "<url-pattern>/*</url-pattern></servlet-mapping></web-app>");
        fs::create_directories(base.file("app/WEB-INF/lib"));
        fs::copy_file(fixtureLibrary("faults"), base.file("app/WEB-INF/lib/libfaults.so"));
        registry = std::make_unique<registry::Registry>(base.file("serval.db"));
        supervisor.start();
        settings.process.binary = ServalProcess::binary();
        settings.restart.initialBackoff = 1ms;
        settings.drainTimeout = 5s;
    }
    void TearDown() override
    {
        if (group) group->stop();
        supervisor.stop();
    }

    void start(uint32_t processes = 1)
    {
        WorkerSpec spec;
        spec.host = "localhost";
        spec.name = "faults";
        spec.path = "/faults";
        spec.docBase = fs::canonical(base.file("app")).string();
        spec.threads = 4;
        settings.processes = processes;
        group = std::make_shared<WorkerGroup>(spec, settings, supervisor, std::vector<LaneLoop*>{&loop},
                                              registry.get());
        util::Outcome started = group->start();
        ASSERT_TRUE(started) << started.error();
    }

    /// Starts one request on the loop; the owner says when it is done.
    RecordingOwner& send(const std::string& target, const std::string& method = "GET",
                         const std::string& body = "")
    {
        requests.emplace_back();
        http::HttpRequest& request = requests.back();
        request.method = method;
        request.target = target;
        request.path = target.substr(0, target.find('?'));
        request.query = target.find('?') == std::string::npos ? "" : target.substr(target.find('?') + 1);
        request.headers = {{"Host", "localhost"}};
        request.body = body;
        owners.emplace_back(&group->lane(0));
        RecordingOwner& owner = owners.back();
        loop.call([&] {
            owner.stream = group->lane(0).submit(owner, request);
            return 0;
        });
        return owner;
    }
    RecordingOwner& fetch(const std::string& target, const std::string& method = "GET",
                          const std::string& body = "")
    {
        RecordingOwner& owner = send(target, method, body);
        EXPECT_TRUE(owner.wait()) << target;
        return owner;
    }
    std::vector<int> pids() const
    {
        std::vector<int> out;
        for (const auto& p : group->view().processes)
            if (p.state == "running") out.push_back(p.pid);
        return out;
    }
    bool running(size_t count)
    {
        return eventually([&] { return pids().size() == count && group->state() == GroupState::Running; },
                          10s);
    }

    TempDir base;
    std::unique_ptr<registry::Registry> registry;
    Supervisor supervisor;
    TestLoop loop;
    GroupSettings settings;
    std::shared_ptr<WorkerGroup> group;
    std::list<http::HttpRequest> requests;
    std::list<RecordingOwner> owners;
};

} // namespace

TEST_F(WorkerGroupTest, ServesThroughItsWorkers)
{
    start(2);
    ASSERT_EQ(pids().size(), 2u);
    std::set<std::string> answered;
    for (int i = 0; i < 10; ++i) {
        RecordingOwner& reply = fetch("/faults/ok");
        EXPECT_EQ(reply.status, 200);
        answered.insert(reply.body);
    }
    EXPECT_EQ(answered.size(), 2u) << "both workers serve";
    RecordingOwner& echo = fetch("/faults/echo", "POST", std::string(600000, 'e'));
    EXPECT_EQ(echo.body.size(), 600000u);
    EXPECT_EQ(echo.header("X-Length"), "600000");
}

TEST_F(WorkerGroupTest, KillNineOfAWorkerReplaysItsRequests)
{
    start(2);
    std::vector<int> before = pids();
    std::vector<RecordingOwner*> slow;
    for (int i = 0; i < 8; ++i)
        slow.push_back(&send("/faults/slow?ms=400"));
    ASSERT_TRUE(eventually([&] { return group->view().processes[0].requests >= 4; }));
    ::kill(before[0], SIGKILL);
    auto killed = std::chrono::steady_clock::now();
    ASSERT_TRUE(eventually([&] {
        std::vector<int> now = pids();
        return now.size() == 2 && std::find(now.begin(), now.end(), before[0]) == now.end();
    }));
    auto replaced = std::chrono::steady_clock::now() - killed;
    RecordProperty("replacedMs",
                   std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(replaced).count()));
    EXPECT_LT(replaced, 1000ms);
    for (RecordingOwner* owner : slow) {
        ASSERT_TRUE(owner->wait());
        EXPECT_EQ(owner->status, 200) << owner->failure.reason;
    }
    GroupView view = group->view();
    EXPECT_EQ(view.crashes, 1u);
    EXPECT_GE(view.replayed, 1u);
    EXPECT_EQ(view.failedByCrash, 0u);
    auto records = registry->crashes("localhost", "/faults");
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].signal, "SIGKILL");
}

TEST_F(WorkerGroupTest, APoisonGetIsReplayedOnceThenAnswered502WithTheCrash)
{
    start(1);
    RecordingOwner& reply = fetch("/faults/segv");
    EXPECT_EQ(reply.status, 502);
    EXPECT_FALSE(reply.failure.crashId.empty());
    ASSERT_TRUE(running(1)) << "restarted";
    EXPECT_EQ(fetch("/faults/ok").status, 200);
    GroupView view = group->view();
    EXPECT_EQ(view.crashes, 2u) << "the original and the replay";
    EXPECT_EQ(view.replayed, 1u);
    EXPECT_EQ(view.failedByCrash, 1u);
    auto record = registry->findCrash(reply.failure.crashId);
    ASSERT_TRUE(record);
    EXPECT_EQ(record->signal, "SIGSEGV");
    EXPECT_EQ(record->address, "0x0");
    EXPECT_EQ(record->request, "GET /faults/segv");
    EXPECT_NE(record->summary.find("serval_fixture_null_write"), std::string::npos) << record->summary;
    EXPECT_NE(record->summary.find("Faults.cpp:"), std::string::npos) << record->summary;
    EXPECT_EQ(record->function.rfind("serval_fixture_null_write", 0), 0u) << record->function;
    EXPECT_NE(record->backtrace.find("libfaults.so+0x"), std::string::npos) << record->backtrace;
}

TEST_F(WorkerGroupTest, APostIsNeverReplayed)
{
    start(1);
    RecordingOwner& reply = fetch("/faults/segv", "POST", "x=1");
    EXPECT_EQ(reply.status, 502);
    EXPECT_EQ(group->view().replayed, 0u);
    EXPECT_EQ(group->view().crashes, 1u);
}

TEST_F(WorkerGroupTest, AbortAndExitAreCrashesToo)
{
    start(1);
    RecordingOwner& aborted = fetch("/faults/abort", "POST");
    EXPECT_EQ(aborted.status, 502);
    ASSERT_TRUE(running(1));
    RecordingOwner& exited = fetch("/faults/exit", "POST");
    EXPECT_EQ(exited.status, 502);
    auto abortRecord = registry->findCrash(aborted.failure.crashId);
    auto exitRecord = registry->findCrash(exited.failure.crashId);
    ASSERT_TRUE(abortRecord && exitRecord);
    EXPECT_EQ(abortRecord->signal, "SIGABRT");
    EXPECT_NE(exitRecord->summary.find("exit() called by app code (exit status 3)"), std::string::npos)
        << exitRecord->summary;
    EXPECT_NE(exitRecord->summary.find("Faults"), std::string::npos) << exitRecord->summary;
}

TEST_F(WorkerGroupTest, RepeatedCrashesQuarantineUntilLifted)
{
    settings.restart.crashBudget = 3;
    start(1);
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(eventually([&] { return !pids().empty() || group->state() == GroupState::Quarantined; }));
        EXPECT_EQ(fetch("/faults/segv", "POST").status, 502);
    }
    ASSERT_TRUE(eventually([&] { return group->state() == GroupState::Quarantined; }));
    RecordingOwner& refused = fetch("/faults/ok");
    EXPECT_EQ(refused.status, 503);
    EXPECT_EQ(refused.failure.retryAfter, 60u);
    EXPECT_NE(group->view().reason.find("3 crashes within 60 s"), std::string::npos) << group->view().reason;
    group->liftQuarantine();
    ASSERT_TRUE(running(1));
    EXPECT_EQ(fetch("/faults/ok").status, 200);
}

TEST_F(WorkerGroupTest, AHangGets504AndItsStackIsRecorded)
{
    settings.requestTimeout = 300ms;
    start(1);
    int hung = pids().at(0);
    auto sent = std::chrono::steady_clock::now();
    RecordingOwner& reply = fetch("/faults/hang");
    auto took = std::chrono::steady_clock::now() - sent;
    EXPECT_EQ(reply.status, 504);
    EXPECT_LT(took, 1300ms) << "within requestTimeout + 1 s";
    ASSERT_TRUE(eventually([&] { return !registry->crashes("localhost", "/faults").empty(); }, 3s));
    auto record = registry->crashes("localhost", "/faults").front();
    EXPECT_EQ(record.cause, "timeout");
    EXPECT_EQ(record.request, "GET /faults/hang");
    EXPECT_NE(record.summary.find("Faults"), std::string::npos) << record.summary;
    ASSERT_TRUE(eventually([&] {
        std::vector<int> now = pids();
        return now.size() == 1 && now[0] != hung;
    })) << "recycled";
    EXPECT_EQ(fetch("/faults/ok").status, 200);
    GroupView view = group->view();
    EXPECT_EQ(view.restarts[size_t(RestartCause::Timeout)], 1u);
    EXPECT_EQ(view.crashes, 0u) << "a recycle is not a crash";
}

TEST_F(WorkerGroupTest, AWorkerOverItsMemoryLimitIsRecycledWithoutFailures)
{
    settings.memoryLimit = 96ull * 1024 * 1024;
    start(1);
    int leaky = pids().at(0);
    EXPECT_EQ(fetch("/faults/leak?mb=128").status, 200);
    std::vector<RecordingOwner*> during;
    auto end = std::chrono::steady_clock::now() + 10s;
    while (true) {
        during.push_back(&send("/faults/ok"));
        std::vector<int> now = pids();
        if (group->view().restarts[size_t(RestartCause::Memory)] == 1 && now.size() == 1 && now[0] != leaky)
            break;
        ASSERT_LT(std::chrono::steady_clock::now(), end) << "not recycled (checked once a second)";
        during.back()->wait();
    }
    for (RecordingOwner* owner : during) {
        ASSERT_TRUE(owner->wait());
        EXPECT_EQ(owner->status, 200);
    }
    EXPECT_EQ(group->view().crashes, 0u);
}

TEST_F(WorkerGroupTest, MaxRequestsPerProcessRecyclesWithJitter)
{
    settings.maxRequestsPerProcess = 10;
    start(1);
    std::set<std::string> answered;
    uint64_t sent = 0;
    auto end = std::chrono::steady_clock::now() + 10s;
    while (answered.size() < 2 && std::chrono::steady_clock::now() < end) {
        RecordingOwner& reply = fetch("/faults/ok");
        ASSERT_EQ(reply.status, 200);
        answered.insert(reply.body);
        ++sent;
    }
    EXPECT_GE(answered.size(), 2u);
    EXPECT_GE(sent, 10u) << "not before maxRequestsPerProcess";
    EXPECT_GE(group->view().restarts[size_t(RestartCause::Recycle)], 1u);
    EXPECT_EQ(group->view().crashes, 0u);
}

TEST_F(WorkerGroupTest, StopDrainsAndEndsEveryWorker)
{
    start(2);
    std::vector<int> before = pids();
    RecordingOwner& slow = send("/faults/slow?ms=300");
    ASSERT_TRUE(eventually(
        [&] { return group->view().processes[0].requests + group->view().processes[1].requests == 1; }));
    group->stop();
    ASSERT_TRUE(slow.wait());
    EXPECT_EQ(slow.status, 200) << "in-flight requests finish before the workers go";
    for (int pid : before)
        EXPECT_NE(::kill(pid, 0), 0) << "pid " << pid << " is gone";
    EXPECT_EQ(group->state(), GroupState::Stopped);
}
