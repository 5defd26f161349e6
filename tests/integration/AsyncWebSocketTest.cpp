// Issue 15 against the real binary: async responses, Server-Sent Events and WebSocket endpoints
// of an app built with serval/websocket.hpp (the fixture tests/fixtures/apps/Async.cpp), in a
// worker process (isolation="process", the default) and in the server (isolation="none"): the
// same behaviour both ways, and a crashing worker that takes only its own connections down.
#include "connector/websocket/WebSocketClient.h"
#include "support/Fixtures.h"
#include "support/HttpClient.h"
#include "support/ServalProcess.h"
#include "support/TempDir.h"

#include <dirent.h>
#include <fstream>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>

using serval::test::eventually;
using serval::test::httpGet;
using serval::test::HttpReply;
using serval::test::RawConnection;
using serval::test::ServalProcess;
using serval::test::TempDir;
using serval::test::WebSocketClient;
using ::testing::HasSubstr;
using ::testing::StartsWith;

namespace {

/// The fixture's servlets are declared in code; web.xml only sets the WebSocket limits.
const char* kWebXml = "<web-app><servlet><servlet-name>echo</servlet-name>"
                      "<servlet-class>echo</servlet-class>"
                      "<init-param><param-name>websocket.highWater</param-name>"
                      "<param-value>131072</param-value></init-param>"
                      "<init-param><param-name>websocket.maxBackpressure</param-name>"
                      "<param-value>524288</param-value></init-param></servlet></web-app>";

class AsyncWebSocketTest : public ::testing::TestWithParam<std::string>
{
protected:
    void SetUp() override
    {
        rlimit noCore{0, 0}; // the crash test's worker leaves no core file
        ASSERT_EQ(::setrlimit(RLIMIT_CORE, &noCore), 0);
        base.write("conf/server.xml", "<Server accessLog=\"\">\n"
                                      "  <Connector address=\"127.0.0.1\" port=\"0\" ioThreads=\"2\"" +
                                          connectorAttributes() +
                                          "/>\n"
                                          "  <Engine defaultHost=\"localhost\">\n"
                                          "    <Host name=\"localhost\" appBase=\"webapps\">"
                                          "<Context path=\"/async\" isolation=\"" +
                                          GetParam() +
                                          "\" requestTimeout=\"2s\"/></Host>\n"
                                          "  </Engine>\n</Server>\n");
        for (const char* app : {"async", "other"}) {
            base.write(std::string("webapps/") + app + "/WEB-INF/web.xml", kWebXml);
            base.write(std::string("webapps/") + app + "/WEB-INF/lib/libasync.so",
                       serval::test::readFile(serval::test::fixtureLibrary("async")));
        }
        startServer();
    }
    virtual std::string connectorAttributes() const { return ""; }
    virtual void startServer()
    {
        server = std::make_unique<ServalProcess>(base.path());
        ASSERT_TRUE(server->start()) << server->error();
    }

    HttpReply get(const std::string& target, const std::map<std::string, std::string>& headers = {})
    {
        return httpGet(server->port(), target, headers);
    }
    std::string stats(const std::string& app = "async") { return get("/" + app + "/stats").body; }
    /// Opens `client` on `path` (unless already open), sends `text` and expects its echo.
    ::testing::AssertionResult echoes(WebSocketClient& client, const std::string& path,
                                      const std::string& text)
    {
        if (!client.reply && !client.open(server->port(), path))
            return ::testing::AssertionFailure() << "no upgrade on " << path << "\n" << server->log();
        if (!client.sendText(text)) return ::testing::AssertionFailure() << "cannot send";
        auto echo = client.read();
        if (!echo) return ::testing::AssertionFailure() << "no echo of " << text << "\n" << server->log();
        if (echo->payload != text) return ::testing::AssertionFailure() << "echoed " << echo->payload;
        return ::testing::AssertionSuccess();
    }
    /// A new web.xml (a context-param more): the app is redeployed as a new version.
    void redeploy()
    {
        base.write("webapps/async/WEB-INF/web.xml",
                   std::string(kWebXml).insert(std::string("<web-app>").size(),
                                               "<context-param><param-name>generation</param-name>"
                                               "<param-value>2</param-value></context-param>"));
        ASSERT_TRUE(server->waitForLog("redeployed /async", std::chrono::seconds(20))) << server->log();
    }
    bool isolated() const { return GetParam() == "process"; }

    TempDir base;
    std::unique_ptr<ServalProcess> server;
};

} // namespace

TEST_P(AsyncWebSocketTest, AnotherThreadWritesAndCompletes)
{
    for (const char* ms : {"0", "50"}) {
        SCOPED_TRACE(ms);
        HttpReply reply = get(std::string("/async/later?ms=") + ms);
        EXPECT_EQ(reply.status, 200) << server->log();
        EXPECT_EQ(reply.header("X-Async"), "thread");
        EXPECT_EQ(reply.body, "written from another thread\n");
    }
}

TEST_P(AsyncWebSocketTest, TheTimeoutAnswers503UnlessTheAppAnswers)
{
    HttpReply host = get("/async/timeout");
    EXPECT_EQ(host.status, 503) << server->log();
    HttpReply own = get("/async/timeout?own=1");
    EXPECT_EQ(own.status, 504);
    EXPECT_EQ(own.body, "gave up\n");
}

TEST_P(AsyncWebSocketTest, AClientThatLeavesReachesOnAsyncCloseAndAParkedPollIsWoken)
{
    RawConnection leaving, staying;
    ASSERT_TRUE(leaving.connect("127.0.0.1", server->port()));
    ASSERT_TRUE(staying.connect("127.0.0.1", server->port()));
    ASSERT_TRUE(leaving.send("GET /async/park HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    ASSERT_TRUE(eventually([&] { return stats() == "parked=1 closed=0 ws=0/0/0"; })) << stats();
    ASSERT_TRUE(staying.send("GET /async/park HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    ASSERT_TRUE(eventually([&] { return stats() == "parked=2 closed=0 ws=0/0/0"; })) << stats();
    // Past the requestTimeout (2 s) of isolated requests: a parked poll is not a hung one.
    leaving.close();
    ASSERT_TRUE(eventually([&] { return stats() == "parked=2 closed=1 ws=0/0/0"; })) << stats();
    EXPECT_EQ(get("/async/publish?msg=hello").body, "woke 1");
    std::optional<HttpReply> woken = staying.readResponse();
    ASSERT_TRUE(woken) << server->log();
    EXPECT_EQ(woken->status, 200);
    EXPECT_EQ(woken->body, "hello");
}

TEST_P(AsyncWebSocketTest, ServerSentEventsResumeAfterLastEventId)
{
    HttpReply reply = get("/async/events", {{"Last-Event-ID", "5"}});
    EXPECT_EQ(reply.status, 200) << server->log();
    EXPECT_THAT(reply.header("Content-Type"), StartsWith("text/event-stream"));
    EXPECT_EQ(reply.header("Cache-Control"), "no-cache");
    EXPECT_EQ(reply.body, "retry: 1000\n\n: heartbeat\n\n"
                          "id: 6\nevent: tick\ndata: tick 6\ndata: second line\n\n"
                          "id: 7\nevent: tick\ndata: tick 7\ndata: second line\n\n"
                          "id: 8\nevent: tick\ndata: tick 8\ndata: second line\n\n");
    EXPECT_THAT(get("/async/events").body, HasSubstr("id: 1\n"));
}

TEST_P(AsyncWebSocketTest, AWebSocketEchoesAndASlowReaderGetsBackpressureThenDropped)
{
    WebSocketClient client;
    ASSERT_TRUE(client.open(server->port(), "/async/ws"))
        << (client.reply ? client.reply->raw : "") << server->log();
    ASSERT_TRUE(client.sendText("hello"));
    auto echo = client.read();
    ASSERT_TRUE(echo) << server->log();
    EXPECT_EQ(echo->opcode, 1);
    EXPECT_EQ(echo->payload, "hello");
    // The app counts the send after websocket_send returned, which can be after the echo arrived.
    EXPECT_TRUE(eventually([&] { return stats() == "parked=0 closed=0 ws=1/0/0"; })) << stats();
    // "flood" sends 64 KiB messages in one hook, faster than any socket: Ok up to the
    // high-water mark (128 KiB), Backpressure up to maxBackpressure (512 KiB), then Dropped.
    ASSERT_TRUE(client.sendText("flood"));
    // The flood ends at its first Dropped: wait for that count itself (a Backpressure count of
    // 1x read mid-flood also holds "/1").
    int ok = 0, backpressure = 0, dropped = 0;
    std::string counts;
    ASSERT_TRUE(eventually([&] {
        counts = stats();
        return std::sscanf(counts.c_str(), "parked=0 closed=0 ws=%d/%d/%d", &ok, &backpressure, &dropped) ==
                   3 &&
               dropped > 0;
    })) << counts;
    EXPECT_GE(ok, 2);
    EXPECT_GE(backpressure, 1);
    EXPECT_EQ(dropped, 1);
    EXPECT_LT(ok + backpressure, 1000)
        << "bounded (maxBackpressure plus what the kernel took), never unbounded";
}

TEST_P(AsyncWebSocketTest, MessagesFarBeyondOneWindowAllEchoInOrder)
{
    // 96 messages of 16 KiB (1.5 MiB, six times a stream's window in a worker): the client's
    // bytes cross only as the worker grants them back, so a grant lost or held back stalls
    // this exchange; each echo must come back whole and in order.
    WebSocketClient client;
    ASSERT_TRUE(client.open(server->port(), "/async/ws")) << server->log();
    for (int i = 0; i < 96; ++i) {
        std::string message =
            std::to_string(i) + ":" + std::string(16 * 1024 - 8, static_cast<char>('a' + i % 26));
        ASSERT_TRUE(client.sendText(message));
        auto echo = client.read();
        ASSERT_TRUE(echo) << "message " << i << " was not echoed\n" << server->log();
        ASSERT_EQ(echo->payload, message) << "message " << i;
    }
}

namespace {

/// The client's answer to the server's close frame (RFC 6455 5.5.1): the same code back.
std::string closeReply(uint16_t code)
{
    std::string payload{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
    return serval::test::clientFrame(8, payload);
}

} // namespace

TEST_P(AsyncWebSocketTest, ARedeployClosesTheOldVersionsWebSocketsWith1001AndTheNewOneServes)
{
    // Tomcat's undeploy: 1001 to the old version's WebSockets. In-process, the old version's
    // library used to be unloaded under its open WebSocket: the next message crashed the
    // server. In a worker, the old worker's drain waited for the socket until it was killed.
    WebSocketClient old;
    ASSERT_TRUE(echoes(old, "/async/ws", "before"));
    redeploy();
    auto close = old.read(std::chrono::seconds(15));
    ASSERT_TRUE(close) << server->log();
    EXPECT_EQ(close->opcode, 8);
    EXPECT_EQ(close->closeCode(), 1001);
    EXPECT_THAT(close->payload, HasSubstr("the application is stopping"));
    ASSERT_TRUE(old.send(closeReply(1001)));
    EXPECT_TRUE(old.connection.waitClosed()) << server->log();

    WebSocketClient fresh;
    EXPECT_TRUE(echoes(fresh, "/async/ws", "after"));
    EXPECT_TRUE(server->running());
    EXPECT_THAT(server->log(), ::testing::Not(HasSubstr("crashed")));
}

TEST_P(AsyncWebSocketTest, StoppingTheServerClosesWebSocketsWith1001AndExitsCleanly)
{
    // A redeploy first: its worker is started from the deployer's thread, which ends before
    // the apps stop (a worker's PR_SET_PDEATHSIG follows the thread that spawned it).
    redeploy();
    WebSocketClient client;
    ASSERT_TRUE(echoes(client, "/async/ws", "hello"));

    int status = -2;
    std::thread stopping([&] { status = server->stop(); });
    auto close = client.read(std::chrono::seconds(15));
    bool answered = close && client.send(closeReply(1001));
    stopping.join();
    ASSERT_TRUE(close) << server->log();
    EXPECT_TRUE(answered);
    EXPECT_EQ(close->opcode, 8);
    EXPECT_EQ(close->closeCode(), 1001);
    EXPECT_THAT(close->payload, HasSubstr("the server is stopping"));
    EXPECT_EQ(status, 0) << server->log();
    EXPECT_THAT(server->log(), ::testing::Not(HasSubstr("shutdownTimeout")));
    EXPECT_THAT(server->log(), ::testing::Not(HasSubstr("crashed")));
}

TEST_P(AsyncWebSocketTest, ClientsThatResetRightAfterTheUpgradeNeverDeadlockTheApp)
{
    // The app greets each newcomer holding its room's lock and takes that lock in onClose. Each
    // client resets its connection as soon as the 101 arrives, while the app's onOpen works
    // under the lock. The greeting that then fails used to deliver onClose
    // inside the send, on the same thread: in a worker its loop thread deadlocked on the app's
    // lock, and every WebSocket and async request of the app hung from then on.
    for (int i = 0; i < 20; ++i) {
        RawConnection gone;
        ASSERT_TRUE(gone.connect("127.0.0.1", server->port()));
        ASSERT_TRUE(gone.send("GET /async/room HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Sec-WebSocket-Version: 13\r\n\r\n"));
        auto switched = gone.readResponse(true); // the 101: the app's onOpen is running now
        ASSERT_TRUE(switched) << server->log();
        ASSERT_EQ(switched->status, 101);
        linger reset{1, 0}; // close() sends RST
        ASSERT_EQ(::setsockopt(gone.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset), 0);
    }
    WebSocketClient room;
    ASSERT_TRUE(room.open(server->port(), "/async/room")) << server->log();
    auto welcome = room.read();
    ASSERT_TRUE(welcome) << "the app's room is stuck\n" << server->log();
    EXPECT_EQ(welcome->payload, "welcome");
    WebSocketClient echo;
    EXPECT_TRUE(echoes(echo, "/async/ws", "still moving"));
}

TEST_P(AsyncWebSocketTest, AWorkerCrashClosesItsWebSocketsWith1011AndFailsItsAsyncWith502)
{
    if (!isolated()) GTEST_SKIP() << "in-process apps share the server's fate";
    WebSocketClient client, other;
    ASSERT_TRUE(client.open(server->port(), "/async/ws")) << server->log();
    ASSERT_TRUE(other.open(server->port(), "/other/ws")) << server->log();
    RawConnection parked;
    ASSERT_TRUE(parked.connect("127.0.0.1", server->port()));
    ASSERT_TRUE(parked.send("GET /async/park HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    ASSERT_TRUE(eventually([&] { return stats() == "parked=1 closed=0 ws=0/0/0"; })) << stats();

    HttpReply crash = get("/async/crash");
    EXPECT_EQ(crash.status, 502) << server->log();
    auto close = client.read();
    ASSERT_TRUE(close) << server->log();
    EXPECT_EQ(close->opcode, 8);
    EXPECT_EQ(close->closeCode(), 1011);
    std::optional<HttpReply> failed = parked.readResponse();
    ASSERT_TRUE(failed) << server->log();
    EXPECT_EQ(failed->status, 502) << "an async request is never replayed";

    // The other app, and the restarted worker, go on.
    ASSERT_TRUE(other.sendText("still here"));
    auto echo = other.read();
    ASSERT_TRUE(echo);
    EXPECT_EQ(echo->payload, "still here");
    EXPECT_TRUE(eventually([&] { return get("/async/later").status == 200; }));
}

namespace {

/// Resident KiB of `pid` and of its children (the worker processes), from /proc.
long treeRssKib(int pid)
{
    auto rss = [](const std::string& id) {
        std::ifstream status("/proc/" + id + "/status");
        for (std::string line; std::getline(status, line);)
            if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
        return 0L;
    };
    long total = rss(std::to_string(pid));
    DIR* proc = ::opendir("/proc");
    while (dirent* entry = proc != nullptr ? ::readdir(proc) : nullptr) {
        std::ifstream stat(std::string("/proc/") + entry->d_name + "/stat");
        std::string text;
        if (entry->d_name[0] < '1' || entry->d_name[0] > '9' || !std::getline(stat, text)) continue;
        int ppid = 0; // the field after ") state "
        size_t end = text.rfind(')');
        if (end != std::string::npos && std::sscanf(text.c_str() + end + 1, " %*c %d", &ppid) == 1 &&
            ppid == pid)
            total += rss(entry->d_name);
    }
    if (proc != nullptr) ::closedir(proc);
    return total;
}

/// Issue 15 at a thousand connections: a burst of long polls and a crowd of idle WebSockets.
/// The server starts with a soft open-file limit of 512 (the hard one unchanged), below what a
/// thousand connections need: serval raises its own limit (startup::raiseOpenFileLimit), as
/// the JVM does for Tomcat. Two worker threads (a lane of one thread in-process), so today's
/// burst cannot hide behind a big pool.
class AsyncCrowdTest : public AsyncWebSocketTest
{
protected:
    static constexpr int kCount = 1000;

    std::string connectorAttributes() const override
    {
        return " workerThreads=\"2\" maxConnections=\"4000\"";
    }
    void startServer() override
    {
        rlimit limit{};
        ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
        if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < 2 * kCount + 256)
            GTEST_SKIP() << "the hard open file limit is below " << 2 * kCount + 256;
        rlimit low{512, limit.rlim_max};
        ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
        AsyncWebSocketTest::startServer();
        rlimit high{limit.rlim_max, limit.rlim_max}; // this process holds the client side
        ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &high), 0);
    }
};

} // namespace

TEST_P(AsyncCrowdTest, ABurstOfLongPollsAllParkAndAllGet200)
{
    std::vector<std::unique_ptr<RawConnection>> polls;
    for (int i = 0; i < kCount; ++i) {
        polls.push_back(std::make_unique<RawConnection>());
        ASSERT_TRUE(polls.back()->connect("127.0.0.1", server->port())) << i;
        ASSERT_TRUE(polls.back()->send("GET /async/park HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")) << i;
    }
    // A refused one (503 from the lane's queue) never parks: the count stays short.
    ASSERT_TRUE(
        eventually([&] { return stats() == "parked=1000 closed=0 ws=0/0/0"; }, std::chrono::seconds(60)))
        << stats() << server->log();
    EXPECT_EQ(get("/async/publish?msg=news").body, "woke 1000");
    int ok = 0;
    for (auto& poll : polls) {
        std::optional<HttpReply> reply = poll->readResponse();
        if (reply && reply->status == 200 && reply->body == "news") ++ok;
    }
    EXPECT_EQ(ok, kCount);
}

TEST_P(AsyncCrowdTest, AThousandIdleWebSocketsStayCheapAndAllStillEcho)
{
    long before = treeRssKib(server->pid());
    std::vector<std::unique_ptr<WebSocketClient>> clients;
    for (int i = 0; i < kCount; ++i) {
        clients.push_back(std::make_unique<WebSocketClient>());
        ASSERT_TRUE(clients.back()->open(server->port(), "/async/ws")) << i << server->log();
    }
    long added = treeRssKib(server->pid()) - before;
    // The goal is 40 MiB for 10,000 (4 KiB each; tests/perf `websocket` measures that
    // scale). 10 KiB each here leaves room for allocator noise at this scale and still fails a
    // buffer or a descriptor pair per connection (16 KiB and more each). AddressSanitizer's
    // redzones and quarantine roughly double every allocation (about 16 KiB each measured):
    // there the bound only catches the gross.
#if defined(__SANITIZE_ADDRESS__)
    constexpr long kKibEach = 40;
#else
    constexpr long kKibEach = 10;
#endif
    EXPECT_LT(added, kKibEach * kCount) << "KiB added by " << kCount << " idle WebSockets";
    RecordProperty("added_rss_kib", std::to_string(added));
    int echoed = 0;
    for (int i = 0; i < kCount; ++i) {
        std::string text = "still here " + std::to_string(i);
        if (!clients[static_cast<size_t>(i)]->sendText(text)) continue;
        std::optional<serval::test::ServerFrame> echo = clients[static_cast<size_t>(i)]->read();
        if (echo && echo->opcode == 1 && echo->payload == text) ++echoed;
    }
    EXPECT_EQ(echoed, kCount);
}

INSTANTIATE_TEST_SUITE_P(Isolation, AsyncCrowdTest, ::testing::Values("process", "none"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                             return info.param == "process" ? std::string("InAWorker")
                                                            : std::string("InProcess");
                         });

INSTANTIATE_TEST_SUITE_P(Isolation, AsyncWebSocketTest, ::testing::Values("process", "none"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                             return info.param == "process" ? std::string("InAWorker")
                                                            : std::string("InProcess");
                         });
