// Issue 15 against the real binary: async responses, Server-Sent Events and WebSocket endpoints
// of an app built with serval/websocket.hpp (the fixture tests/fixtures/apps/Async.cpp), in a
// worker process (isolation="process", the default) and in the server (isolation="none"): the
// same behaviour both ways, and a crashing worker that takes only its own connections down.
#include "connector/websocket/WebSocketClient.h"
#include "support/Fixtures.h"
#include "support/HttpClient.h"
#include "support/ServalProcess.h"
#include "support/TempDir.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

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
                                      "  <Connector address=\"127.0.0.1\" port=\"0\" ioThreads=\"2\"/>\n"
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
        server = std::make_unique<ServalProcess>(base.path());
        ASSERT_TRUE(server->start()) << server->error();
    }

    HttpReply get(const std::string& target, const std::map<std::string, std::string>& headers = {})
    {
        return httpGet(server->port(), target, headers);
    }
    std::string stats(const std::string& app = "async") { return get("/" + app + "/stats").body; }
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
    ASSERT_TRUE(eventually([&] { return stats().find("/1") != std::string::npos; })) << stats();
    std::string counts = stats();
    EXPECT_THAT(counts, HasSubstr("ws=")) << counts;
    int ok = 0, backpressure = 0, dropped = 0;
    ASSERT_EQ(std::sscanf(counts.c_str(), "parked=0 closed=0 ws=%d/%d/%d", &ok, &backpressure, &dropped), 3);
    EXPECT_GE(ok, 2);
    EXPECT_GE(backpressure, 1);
    EXPECT_EQ(dropped, 1);
    EXPECT_LT(ok + backpressure, 1000)
        << "bounded (maxBackpressure plus what the kernel took), never unbounded";
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

INSTANTIATE_TEST_SUITE_P(Isolation, AsyncWebSocketTest, ::testing::Values("process", "none"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                             return info.param == "process" ? std::string("InAWorker")
                                                            : std::string("InProcess");
                         });
