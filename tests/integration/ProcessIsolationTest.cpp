// Issue 11 against the real binary: apps run in worker processes by default, so a segfault,
// abort() or exit() in one app's servlet costs that app one worker (restarted), never the
// server, another app or the manager; a crash loop ends in quarantine (503 + Retry-After).
#include "support/Fixtures.h"
#include "support/HttpClient.h"
#include "support/ServalProcess.h"
#include "support/TempDir.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <thread>

using serval::test::eventually;
using serval::test::httpGet;
using serval::test::HttpReply;
using serval::test::httpRequest;
using serval::test::ServalProcess;
using serval::test::TempDir;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

namespace {

const char* kFaultsWebXml = "<web-app><servlet><servlet-name>f</servlet-name>"
                            "<servlet-class>fixture.Faults</servlet-class></servlet>"
                            "<servlet-mapping><servlet-name>f</servlet-name>"
                            "<url-pattern>/*</url-pattern></servlet-mapping></web-app>";

class ProcessIsolationTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        // No core files from the deliberate crashes (the limit is inherited by the workers).
        rlimit noCore{0, 0};
        ASSERT_EQ(::setrlimit(RLIMIT_CORE, &noCore), 0);
    }

    /// `contexts`: <Context> elements for the Host. Deploys /faults and /other (the same
    /// fixture, so the other app is just as isolated) and a static-only /docs.
    void start(const std::string& contexts = "")
    {
        base.write("conf/server.xml", "<Server accessLog=\"\">\n"
                                      "  <Connector address=\"127.0.0.1\" port=\"0\" ioThreads=\"2\"/>\n"
                                      "  <Engine defaultHost=\"localhost\">\n"
                                      "    <Host name=\"localhost\" appBase=\"webapps\">" +
                                          contexts +
                                          "</Host>\n"
                                          "  </Engine>\n</Server>\n");
        for (const char* app : {"faults", "other"}) {
            base.write(std::string("webapps/") + app + "/WEB-INF/web.xml", kFaultsWebXml);
            base.write(std::string("webapps/") + app + "/WEB-INF/lib/libfaults.so",
                       serval::test::readFile(serval::test::fixtureLibrary("faults")));
        }
        base.write("webapps/docs/WEB-INF/web.xml", "<web-app/>");
        base.write("webapps/docs/index.html", "static docs");
        server = std::make_unique<ServalProcess>(base.path());
        ASSERT_TRUE(server->start()) << server->error();
        ASSERT_THAT(get("/faults/ok").body, StartsWith("ok ")) << server->log();
    }

    HttpReply get(const std::string& target) { return httpGet(server->port(), target); }
    /// The pid of the worker that answered /APP/ok ("ok <pid>"), 0 if it did not answer 200.
    int workerPid(const std::string& app)
    {
        HttpReply reply = get("/" + app + "/ok");
        if (reply.status != 200 || reply.body.rfind("ok ", 0) != 0) return 0;
        return std::atoi(reply.body.c_str() + 3);
    }

    TempDir base;
    std::unique_ptr<ServalProcess> server;
};

} // namespace

TEST_F(ProcessIsolationTest, AppCodeRunsOutsideTheServer)
{
    start();
    int worker = workerPid("faults");
    EXPECT_GT(worker, 0);
    EXPECT_NE(worker, server->pid()) << "isolation=\"process\" is the default";
    EXPECT_NE(workerPid("other"), worker) << "each app has its own worker";
    HttpReply docs = get("/docs/index.html");
    EXPECT_EQ(docs.status, 200);
    EXPECT_EQ(docs.body, "static docs");
    // A response the app flushes is streamed through the channel.
    HttpReply stream = get("/faults/stream?n=3&size=5");
    EXPECT_EQ(stream.status, 200);
    EXPECT_EQ(stream.header("Transfer-Encoding"), "chunked");
    EXPECT_EQ(stream.body.size(), 15u);
    // A whole response is buffered in the server, a larger one streams (the same bytes, and
    // the Content-Length either way).
    for (int kb : {3, 64, 65, 400}) {
        HttpReply big = get("/faults/big?kb=" + std::to_string(kb));
        EXPECT_EQ(big.status, 200) << kb;
        EXPECT_EQ(big.header("Content-Length"), std::to_string(kb * 1024)) << big.raw.substr(0, 300);
        EXPECT_EQ(big.body.size(), static_cast<size_t>(kb) * 1024u);
    }
    HttpReply head = httpRequest(server->port(), "HEAD", "/faults/big?kb=3");
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.header("Content-Length"), "3072") << head.raw;
    HttpReply echo = httpRequest(server->port(), "POST", "/faults/echo", {}, std::string(300000, 'p'));
    EXPECT_EQ(echo.status, 200);
    EXPECT_EQ(echo.body.size(), 300000u);
}

TEST_F(ProcessIsolationTest, ManyResponsesLargerThanTheRingAtOnceNeverWaitForAMissedWakeUp)
{
    // More requests than the worker has threads, each answer 64 KiB: the 256 KiB ring fills,
    // every request thread stalls for space while the rest wait in the backlog. The reserve
    // used to only watch that backlog and let the stalled threads sit out their 200 ms
    // patience (a few dozen requests a second); now it reads for them.
    start();
    std::atomic<int> ok{0}, wrong{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < 48; ++c)
        clients.emplace_back([&] {
            for (int i = 0; i < 4; ++i) {
                HttpReply reply = get("/faults/big?kb=64");
                (reply.status == 200 && reply.body.size() == 64u * 1024u ? ok : wrong)++;
            }
        });
    for (std::thread& client : clients)
        client.join();
    EXPECT_EQ(ok.load(), 48 * 4);
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_THAT(server->log(), Not(HasSubstr("for space in the channel's ring")));
}

TEST_F(ProcessIsolationTest, RequestsTheMomentThePortOpensAreAnsweredOnEveryLoop)
{
    // The lanes of each I/O loop must be on that loop before it accepts: a request that came
    // first once reached a lane still run by the manager's thread, whose deferred publish was
    // lost, and waited for the requestTimeout (here 60 s, far beyond the client's 5 s).
    for (int round = 0; round < 6; ++round) {
        SCOPED_TRACE(round);
        TempDir dir;
        dir.write("conf/server.xml", "<Server accessLog=\"\">\n"
                                     "  <Connector address=\"127.0.0.1\" port=\"0\" ioThreads=\"2\"/>\n"
                                     "  <Engine defaultHost=\"localhost\">\n"
                                     "    <Host name=\"localhost\" appBase=\"webapps\">"
                                     "<Context path=\"/faults\" requestTimeout=\"60s\"/></Host>\n"
                                     "  </Engine>\n</Server>\n");
        dir.write("webapps/faults/WEB-INF/web.xml", kFaultsWebXml);
        dir.write("webapps/faults/WEB-INF/lib/libfaults.so",
                  serval::test::readFile(serval::test::fixtureLibrary("faults")));
        ServalProcess process(dir.path());
        ASSERT_TRUE(process.start()) << process.error();
        // Several connections at once: the kernel spreads them over both loops' listeners.
        std::vector<std::thread> clients;
        std::atomic<int> answered{0};
        for (int i = 0; i < 8; ++i)
            clients.emplace_back([&] {
                if (httpGet(process.port(), "/faults/ok").status == 200) ++answered;
            });
        for (std::thread& client : clients)
            client.join();
        EXPECT_EQ(answered.load(), 8) << process.log();
    }
}

TEST_F(ProcessIsolationTest, SegfaultAbortAndExitCostOnlyTheirWorker)
{
    start("<Context path=\"/faults\" maxCrashes=\"20\"/>"); // six crashes: no quarantine here
    int other = workerPid("other");
    for (const char* failure : {"segv", "abort", "exit"}) {
        SCOPED_TRACE(failure);
        int before = workerPid("faults");
        ASSERT_GT(before, 0) << server->log();
        // A GET is replayed once on a fresh worker; it crashes that one too: a poison request.
        HttpReply reply = get(std::string("/faults/") + failure);
        EXPECT_EQ(reply.status, 502) << server->log();
        std::string crashId = reply.header("X-Serval-Crash-Id");
        EXPECT_THAT(crashId, Not(IsEmpty()));
        EXPECT_THAT(reply.body, HasSubstr(crashId));
        EXPECT_TRUE(server->running()) << "the server survives its app's " << failure;
        EXPECT_TRUE(server->waitForLog("crashed: ")) << server->log();
        EXPECT_TRUE(server->waitForLog("[" + crashId + "]")) << server->log();
        // The other app's worker and the manager never noticed; this app gets a new worker.
        EXPECT_EQ(workerPid("other"), other);
        EXPECT_EQ(get("/metrics").status, 200);
        int after = 0;
        EXPECT_TRUE(eventually([&] { return (after = workerPid("faults")) > 0; })) << server->log();
        EXPECT_NE(after, before);
    }
    // /metrics counts them by cause, and the requests the crashes cost.
    std::string metrics = get("/metrics").body;
    EXPECT_THAT(metrics, HasSubstr("serval_app_processes{host=\"localhost\",context=\"/faults\"} 1"));
    EXPECT_THAT(
        metrics,
        HasSubstr("serval_app_restarts_total{host=\"localhost\",context=\"/faults\",cause=\"crash\"} 6"))
        << metrics;
    EXPECT_THAT(metrics,
                HasSubstr("serval_app_replayed_requests_total{host=\"localhost\",context=\"/faults\"} 3"));
    EXPECT_THAT(metrics, HasSubstr("serval_app_quarantined{host=\"localhost\",context=\"/other\"} 0"));
    // The crash record names the function that faulted (the fixture is built with -g).
    EXPECT_TRUE(server->waitForLog("serval_fixture_null_write")) << server->log();
    EXPECT_TRUE(server->waitForLog("exit() called by app code")) << server->log();
}

TEST_F(ProcessIsolationTest, APostIsNeverReplayed)
{
    start();
    HttpReply reply = httpRequest(server->port(), "POST", "/faults/segv", {}, "data");
    EXPECT_EQ(reply.status, 502);
    EXPECT_THAT(reply.header("X-Serval-Crash-Id"), Not(IsEmpty()));
    EXPECT_TRUE(eventually([&] { return workerPid("faults") > 0; }));
    // One crash record: the POST went to one worker only.
    std::string log = server->log();
    size_t crashes = 0;
    for (size_t at = log.find("crashed: "); at != std::string::npos; at = log.find("crashed: ", at + 1))
        ++crashes;
    EXPECT_EQ(crashes, 1u) << log;
}

TEST_F(ProcessIsolationTest, ACrashLoopIsQuarantinedWithRetryAfter)
{
    start("<Context path=\"/faults\" maxCrashes=\"3\" crashWindow=\"60s\"/>");
    int other = workerPid("other");
    // Two crashes per GET (the replay crashes too): the second request passes the budget.
    for (int i = 0; i < 2; ++i)
        get("/faults/segv");
    HttpReply refused;
    EXPECT_TRUE(eventually([&] {
        refused = get("/faults/ok");
        return refused.status == 503;
    })) << server->log();
    EXPECT_FALSE(refused.header("Retry-After").empty());
    EXPECT_TRUE(server->waitForLog("quarantine")) << server->log();
    EXPECT_THAT(get("/metrics").body,
                HasSubstr("serval_app_quarantined{host=\"localhost\",context=\"/faults\"} 1"));
    EXPECT_TRUE(server->running());
    EXPECT_EQ(workerPid("other"), other) << "a quarantine is one app's";
    EXPECT_EQ(get("/docs/index.html").status, 200);
}

TEST_F(ProcessIsolationTest, IsolationNoneKeepsTheAppInTheServer)
{
    start("<Context path=\"/other\" isolation=\"none\"/>");
    EXPECT_EQ(workerPid("other"), server->pid());
    EXPECT_NE(workerPid("faults"), server->pid());
}

TEST_F(ProcessIsolationTest, KillingTheServerLeavesNoWorker)
{
    start();
    int worker = workerPid("faults");
    ASSERT_GT(worker, 0);
    server->kill();
    // PR_SET_PDEATHSIG: the kernel ends the workers with their parent.
    EXPECT_TRUE(eventually([&] { return ::kill(worker, 0) != 0; }))
        << "worker " << worker << " outlived the server";
}

TEST_F(ProcessIsolationTest, AHangGets504WithinRequestTimeoutAndItsStackIsRecorded)
{
    start("<Context path=\"/faults\" requestTimeout=\"1s\"/>");
    auto begin = std::chrono::steady_clock::now();
    HttpReply reply = get("/faults/hang");
    auto took = std::chrono::steady_clock::now() - begin;
    EXPECT_EQ(reply.status, 504) << server->log();
    EXPECT_LT(took, std::chrono::seconds(2)) << "requestTimeout + 1 s";
    // The stuck thread's own backtrace names the servlet; the worker is recycled, not crashed.
    EXPECT_TRUE(server->waitForLog("Faults")) << server->log();
    EXPECT_TRUE(eventually([&] { return workerPid("faults") > 0; })) << server->log();
    EXPECT_TRUE(eventually([&] {
        return get("/metrics")
                   .body.find("serval_app_restarts_total{host=\"localhost\",context=\"/"
                              "faults\",cause=\"timeout\"} 1") != std::string::npos;
    })) << get("/metrics").body;
}

TEST_F(ProcessIsolationTest, AWorkerOverItsMemoryLimitIsRecycledWithoutAFailedRequest)
{
    // Far above an idle worker (2-4 MiB in Release, about 125 MiB under ASan, whose every fresh
    // worker a 64 MiB limit recycled in turn), far below the leak.
    start("<Context path=\"/faults\" memoryLimit=\"256MiB\"/>");
    int before = workerPid("faults");
    HttpReply leak = get("/faults/leak?mb=384");
    EXPECT_EQ(leak.status, 200);
    EXPECT_EQ(leak.body, "leaked 384");
    // Checked at least once a second: a replacement first, then the old one drains.
    int failed = 0;
    EXPECT_TRUE(eventually([&] {
        int pid = workerPid("faults");
        if (pid == 0) ++failed;
        return pid != 0 && pid != before;
    })) << server->log();
    EXPECT_EQ(failed, 0) << "a recycle never fails a request";
    EXPECT_THAT(
        get("/metrics").body,
        HasSubstr("serval_app_restarts_total{host=\"localhost\",context=\"/faults\",cause=\"memory\"} 1"));
    EXPECT_THAT(
        get("/metrics").body,
        HasSubstr("serval_app_restarts_total{host=\"localhost\",context=\"/faults\",cause=\"crash\"} 0"));
}
