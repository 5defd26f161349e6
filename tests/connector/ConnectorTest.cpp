// The real Connector in-process on 127.0.0.1:0, driven with raw bytes.
#include "connector/Connector.h"

#include "connector/MalformedRequests.h"
#include "connector/TestServer.h"
#include "support/HttpClient.h"
#include "support/ServalProcess.h"
#include "support/TempDir.h"

#include <atomic>
#include <gtest/gtest.h>
#include <memory>
#include <stdexcept>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace serval::test {
namespace {

using connector::Connector;
using connector::ConnectorConfig;
using namespace std::chrono_literals;

TEST(ConnectorTest, KeepAliveServesSeveralRequestsOnOneConnection)
{
    Server server;
    auto c = server.connect();
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(c->send(get("/echo?i=" + std::to_string(i))));
        auto reply = c->readResponse();
        ASSERT_TRUE(reply);
        EXPECT_EQ(reply->status, 200);
        EXPECT_EQ(reply->body.rfind("GET /echo?i=" + std::to_string(i) + "\n", 0), 0u) << reply->body;
        EXPECT_EQ(reply->header("Connection"), "keep-alive");
    }
    EXPECT_EQ(server.connector->stats().acceptedConnections, 1u);
    EXPECT_EQ(server.connector->stats().requests, 3u);
    EXPECT_TRUE(eventually([&] { return server.handler.completed.load() == 3; }, 2s));
}

TEST(ConnectorTest, MaxKeepAliveRequestsClosesTheConnection)
{
    ConnectorConfig config = testConfig();
    config.maxKeepAliveRequests = 2;
    Server server(config);
    auto c = server.connect();
    ASSERT_TRUE(c->send(get("/1") + get("/2") + get("/canary")));
    auto first = c->readResponse();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->header("Connection"), "keep-alive");
    auto second = c->readResponse();
    ASSERT_TRUE(second);
    EXPECT_EQ(second->header("Connection"), "close");
    EXPECT_TRUE(c->waitClosed());
    EXPECT_EQ(server.handler.canaries.load(), 0);
    auto stats = server.connector->stats();
    EXPECT_GT(stats.bytesIn, 0u);
    EXPECT_GT(stats.bytesOut, 0u);
}

TEST(ConnectorTest, PipelinedRequestsAreAnsweredInOrder)
{
    Server server;
    auto c = server.connect();
    ASSERT_TRUE(c->send(get("/one") + get("/two", "X-Dispatch: worker\r\n") + get("/three")));
    for (const char* target : {"/one", "/two", "/three"}) {
        auto reply = c->readResponse();
        ASSERT_TRUE(reply) << target;
        EXPECT_EQ(reply->body.rfind(std::string("GET ") + target + "\n", 0), 0u) << reply->body;
    }
}

TEST(ConnectorTest, Http10ClosesUnlessKeepAliveIsAsked)
{
    Server server;
    auto c = server.connect();
    ASSERT_TRUE(c->send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->header("Connection"), "keep-alive");
    ASSERT_TRUE(c->send("GET /b HTTP/1.0\r\n\r\n"));
    reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->header("Connection"), "close");
    EXPECT_TRUE(c->waitClosed());
}

TEST(ConnectorTest, ConnectionCloseClosesAfterTheResponse)
{
    Server server;
    auto c = server.connect();
    ASSERT_TRUE(c->send(get("/a", "Connection: close\r\n") + get("/canary")));
    auto reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->header("Connection"), "close");
    EXPECT_TRUE(c->waitClosed());
    EXPECT_EQ(server.handler.canaries, 0);
}

TEST(ConnectorTest, HeadCarriesContentLengthButNoBody)
{
    Server server;
    auto c = server.connect();
    ASSERT_TRUE(c->send("HEAD /large?n=5000 HTTP/1.1\r\nHost: t\r\n\r\n" + get("/after")));
    auto reply = c->readResponse(true);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->header("Content-Length"), "5000");
    // The next response follows directly: no body bytes in between.
    auto next = c->readResponse();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->body.rfind("GET /after\n", 0), 0u) << next->body;
}

TEST(ConnectorTest, ChunkedRequestBodyIsDechunked)
{
    Server server;
    auto c = server.connect();
    ASSERT_TRUE(c->send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer-Field: x\r\n\r\n"));
    auto reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
    EXPECT_NE(reply->body.find("\n\nhello world"), std::string::npos) << reply->body;
}

TEST(ConnectorTest, StreamedResponsesAreChunked)
{
    Server server;
    for (const char* path : {"/stream", "/inline-stream"}) {
        auto c = server.connect();
        ASSERT_TRUE(c->send(get(path) + get("/after")));
        auto reply = c->readResponse();
        ASSERT_TRUE(reply) << path;
        EXPECT_EQ(reply->header("Transfer-Encoding"), "chunked");
        EXPECT_FALSE(reply->hasHeader("Content-Length"));
        EXPECT_EQ(reply->body, "chunk1\nchunk2\nchunk3\nend\n");
        auto next = c->readResponse();
        ASSERT_TRUE(next);
        EXPECT_EQ(next->status, 200);
    }
    // HTTP/1.0 cannot chunk: the body runs until the connection closes.
    auto c = server.connect();
    ASSERT_TRUE(c->send("GET /stream HTTP/1.0\r\n\r\n"));
    std::string all = c->readUntilClose();
    EXPECT_NE(all.find("Connection: close"), std::string::npos);
    EXPECT_NE(all.find("\r\n\r\nchunk1\nchunk2\nchunk3\nend\n"), std::string::npos) << all;
}

TEST(ConnectorTest, ExpectContinueIsAnsweredOnlyWhenTheBodyIsAccepted)
{
    Server server;
    auto c = server.connect();
    ASSERT_TRUE(
        c->send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
    auto interim = c->readResponse();
    ASSERT_TRUE(interim);
    EXPECT_EQ(interim->status, 100);
    ASSERT_TRUE(c->send("hello"));
    auto reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
    EXPECT_NE(reply->body.find("\n\nhello"), std::string::npos);

    auto big = server.connect();
    ASSERT_TRUE(
        big->send("POST /small HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n"));
    reply = big->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 413); // straight away, no 100 before it
    EXPECT_EQ(reply->header("Connection"), "close");
    EXPECT_TRUE(big->waitClosed());
}

TEST(ConnectorTest, DateAndServerHeaders)
{
    Server server;
    auto reply = httpGet(server.port(), "/x");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.header("Server"), "Serval");
    EXPECT_EQ(reply.header("Date").size(), 29u) << reply.header("Date");
    EXPECT_NE(reply.header("Date").find(" GMT"), std::string::npos);

    ConnectorConfig config = testConfig();
    config.serverHeader = "";
    Server quiet(config);
    reply = httpGet(quiet.port(), "/x");
    EXPECT_EQ(reply.status, 200);
    EXPECT_FALSE(reply.hasHeader("Server"));
}

TEST(ConnectorTest, RejectionAtTheHeadKeepsTheConnectionWithoutBody)
{
    Server server;
    auto c = server.connect();
    ASSERT_TRUE(c->send(get("/reject") + get("/canary")));
    auto reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 404);
    EXPECT_EQ(reply->body, "no such thing\n");
    reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->body, "canary\n");
}

TEST(ConnectorTest, FileBodyIsSent)
{
    Server server;
    std::string content(300000, '\0');
    for (size_t i = 0; i < content.size(); ++i)
        content[i] = static_cast<char>(i * 7);
    server.dir.write("data.bin", content);
    auto c = server.connect();
    ASSERT_TRUE(c->send(get("/file") + get("/file")));
    for (int i = 0; i < 2; ++i) {
        auto reply = c->readResponse();
        ASSERT_TRUE(reply);
        EXPECT_EQ(reply->header("Content-Length"), std::to_string(content.size()));
        EXPECT_TRUE(reply->body == content);
    }
}

TEST(ConnectorTest, LargeBodiesBothWays)
{
    Server server;
    const size_t size = 1024 * 1024;
    auto c = server.connect();
    ASSERT_TRUE(c->send(get("/large?n=" + std::to_string(size))));
    auto reply = c->readResponse();
    ASSERT_TRUE(reply);
    ASSERT_EQ(reply->body.size(), size);
    EXPECT_EQ(reply->body[size - 1], static_cast<char>('a' + (size - 1) % 26));

    std::string upload(size, 'z');
    ASSERT_TRUE(c->send("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(size) +
                        "\r\n\r\n" + upload));
    reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->body, std::to_string(size) + " " + std::to_string(size * 'z'));
}

// ---------------------------------------------------------------------------------------------

void expectRejected(Server& server, const Malformed& m, bool bytewise)
{
    const std::string canary = "GET /canary HTTP/1.1\r\nHost: t\r\n\r\n";
    const int before = server.handler.canaries.load();
    auto c = server.connect();
    const std::string bytes = m.request + canary;
    if (bytewise)
        c->sendBytewise(bytes); // may fail once the server has answered and shut down: fine
    else
        c->send(bytes);
    auto reply = c->readResponse();
    ASSERT_TRUE(reply) << m.name;
    EXPECT_EQ(reply->status, m.status) << m.name;
    EXPECT_EQ(reply->header("Connection"), "close") << m.name;
    EXPECT_TRUE(c->waitClosed()) << m.name;
    EXPECT_EQ(server.handler.canaries.load(), before) << m.name << ": the canary behind it ran";
}

TEST(ConnectorTest, ValidRequestsSentOneByteAtATimeAreParsed)
{
    Server server;
    auto c = server.connect();
    ASSERT_TRUE(c->sendBytewise("\r\nPOST /echo?q=1 HTTP/1.1\r\nHost: t:80\r\nX-Empty:\r\nX-Tab: a\tb \r\n"
                                "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"));
    auto reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
    EXPECT_NE(reply->body.find("POST /echo?q=1\nHost: t:80\nX-Empty: \nX-Tab: a\tb\n"), std::string::npos)
        << reply->body;
    EXPECT_NE(reply->body.find("\n\nabc"), std::string::npos);
    ASSERT_TRUE(c->sendBytewise("OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n"));
    reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
    ASSERT_TRUE(c->sendBytewise("GET /ten HTTP/1.0\r\n\r\n")); // 1.0 needs no Host
    reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
}

TEST(ConnectorTest, CanaryBehindAValidRequestRuns)
{
    Server server; // proves the malformed table below can fail
    auto c = server.connect();
    ASSERT_TRUE(c->send(get("/ok") + get("/canary")));
    ASSERT_TRUE(c->readResponse());
    ASSERT_TRUE(c->readResponse());
    EXPECT_EQ(server.handler.canaries.load(), 1);
}

TEST(ConnectorTest, MalformedRequestsAreRejectedAndNothingBehindThemRuns)
{
    Server server;
    for (const Malformed& m : malformedRequests())
        expectRejected(server, m, false);
}

TEST(ConnectorTest, MalformedRequestsSentOneByteAtATimeAreRejected)
{
    Server server;
    for (const Malformed& m : malformedRequests())
        expectRejected(server, m, true);
}

TEST(ConnectorTest, LimitsAreExact)
{
    Server server;
    // A request line of exactly maxRequestLineSize bytes is fine.
    std::string line = "GET /" + std::string(1024 - 14, 'a') + " HTTP/1.1";
    ASSERT_EQ(line.size(), 1024u);
    auto c = server.connect();
    ASSERT_TRUE(c->send(line + "\r\nHost: t\r\n\r\n"));
    auto reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
    // 20 fields is the limit, not beyond it.
    std::string r = "GET / HTTP/1.1\r\nHost: t\r\n";
    for (int i = 0; i < 19; ++i)
        r += "X-" + std::to_string(i) + ": v\r\n";
    ASSERT_TRUE(c->send(r + "\r\n"));
    reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
}

// ---------------------------------------------------------------------------------------------

TEST(ConnectorTest, TricklingClientsDoNotHoldUpOthers)
{
    Server server;
    std::vector<std::unique_ptr<RawConnection>> slow;
    const std::string head = "GET /slow HTTP/1.1\r\nHost: t\r\nX-Padding: ";
    for (int i = 0; i < 200; ++i) {
        slow.push_back(server.connect());
        ASSERT_TRUE(slow.back()->send("G"));
    }
    for (size_t byte = 1; byte < 12; ++byte) {
        for (auto& s : slow)
            ASSERT_TRUE(s->send(head.substr(byte, 1)));
        auto start = std::chrono::steady_clock::now();
        auto reply = httpGet(server.port(), "/fast");
        EXPECT_EQ(reply.status, 200);
        EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    }
    EXPECT_GE(server.connector->stats().openConnections, 200u);
}

TEST(ConnectorTest, HeaderTimeoutClosesATrickler)
{
    ConnectorConfig config = testConfig();
    config.headerTimeoutMs = 300;
    Server server(config);
    auto c = server.connect();
    auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHo"));
    auto reply = c->readResponse(false, 3s);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 408);
    EXPECT_TRUE(c->waitClosed(3s));
    auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_GE(elapsed, 250ms);
    EXPECT_LT(elapsed, 2s);
}

TEST(ConnectorTest, StalledBodyIsTimedOut)
{
    ConnectorConfig config = testConfig();
    config.bodyTimeoutMs = 300;
    Server server(config);
    auto c = server.connect();
    auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(c->send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc"));
    auto reply = c->readResponse(false, 3s);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 408);
    EXPECT_TRUE(c->waitClosed(3s));
    auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_GE(elapsed, 250ms);
    EXPECT_LT(elapsed, 2s);
    // The handler saw the head, so it hears that the exchange ended.
    EXPECT_TRUE(eventually([&] { return server.handler.completed.load() == 1; }, 2s));
}

TEST(ConnectorTest, UpgradeRequestIsAnsweredAndTheConnectionClosed)
{
    Server server; // no protocol switch: answer as HTTP/1.1, never parse what follows
    auto c = server.connect();
    ASSERT_TRUE(c->send(get("/x", "Connection: Upgrade\r\nUpgrade: h2c\r\n") + get("/canary")));
    auto reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->header("Connection"), "close");
    EXPECT_TRUE(c->waitClosed());
    EXPECT_EQ(server.handler.canaries.load(), 0);
}

TEST(ConnectorTest, IdleKeepAliveConnectionIsClosedAfterTimeout)
{
    ConnectorConfig config = testConfig();
    config.keepAliveTimeoutMs = 300;
    Server server(config);
    auto c = server.connect();
    ASSERT_TRUE(c->send(get("/x")));
    ASSERT_TRUE(c->readResponse());
    auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(c->waitClosed(3s));
    auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_GE(elapsed, 250ms);
    EXPECT_LT(elapsed, 2s);
}

TEST(ConnectorTest, ClientThatNeverReadsIsDroppedWithoutStallingOthers)
{
    ConnectorConfig config = testConfig();
    config.sendTimeoutMs = 2000;
    config.ioThreads = 1; // the stuck client shares the loop with the others
    Server server(config);
    // 64 MiB, sparse: far more than the socket buffers hold.
    {
        int fd = ::open(server.handler.filePath.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::ftruncate(fd, 64 << 20), 0);
        ::close(fd);
    }
    auto stuck = server.connect();
    int small = 4096;
    ::setsockopt(stuck->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    const auto stuckSince = std::chrono::steady_clock::now();
    ASSERT_TRUE(stuck->send(get("/file")));
    for (int i = 0; i < 5; ++i) {
        auto start = std::chrono::steady_clock::now();
        auto reply = httpGet(server.port(), "/x");
        EXPECT_EQ(reply.status, 200);
        EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    }
    EXPECT_TRUE(eventually([&] { return server.connector->stats().openConnections == 0; }, 6s));
    EXPECT_GE(std::chrono::steady_clock::now() - stuckSince, 1500ms); // dropped by the send timeout
}

TEST(ConnectorTest, MaxConnectionsIsEnforced)
{
    ConnectorConfig config = testConfig();
    config.maxConnections = 5;
    Server server(config);
    std::vector<std::unique_ptr<RawConnection>> open;
    for (int i = 0; i < 5; ++i) {
        open.push_back(server.connect());
        ASSERT_TRUE(open.back()->send(get("/x")));
        ASSERT_TRUE(open.back()->readResponse());
    }
    auto extra = server.connect();
    EXPECT_TRUE(extra->waitClosed(2s));
    EXPECT_GE(server.connector->stats().refusedConnections, 1u);
    open.pop_back();
    EXPECT_TRUE(eventually([&] { return server.connector->stats().openConnections == 4; }, 2s));
    EXPECT_EQ(httpGet(server.port(), "/x").status, 200);
}

TEST(ConnectorTest, FullWorkerQueueAnswers503)
{
    ConnectorConfig config = testConfig();
    config.workerThreads = 1;
    config.workerQueue = 1;
    Server server(config);
    auto a = server.connect();
    ASSERT_TRUE(a->send(get("/sleep")));
    ASSERT_TRUE(eventually([&] { return server.connector->stats().workersBusy == 1; }, 2s));
    auto b = server.connect();
    ASSERT_TRUE(b->send(get("/sleep")));
    ASSERT_TRUE(eventually([&] { return server.connector->stats().workersQueued == 1; }, 2s));
    auto c = server.connect();
    ASSERT_TRUE(c->send(get("/sleep")));
    auto refused = c->readResponse();
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 503);
    server.handler.release();
    auto ra = a->readResponse();
    auto rb = b->readResponse();
    ASSERT_TRUE(ra);
    ASSERT_TRUE(rb);
    EXPECT_EQ(ra->body, "slept\n");
    EXPECT_EQ(rb->body, "slept\n");
    EXPECT_EQ(server.connector->stats().workerRejected, 1u);
}

TEST(ConnectorTest, GracefulStopFinishesRequestsInFlight)
{
    Server server;
    auto idle = server.connect();
    ASSERT_TRUE(idle->send(get("/x")));
    ASSERT_TRUE(idle->readResponse());
    auto busy = server.connect();
    ASSERT_TRUE(busy->send(get("/sleep")));
    ASSERT_TRUE(eventually([&] { return server.connector->stats().workersBusy == 1; }, 2s));
    auto start = std::chrono::steady_clock::now();
    std::atomic<bool> stopped{false};
    std::thread stopper([&] {
        server.connector->stop(std::chrono::seconds(5));
        stopped = true;
    });
    // The listener goes first; stop() then waits for the request in flight.
    EXPECT_TRUE(eventually([&] { return !RawConnection().connect("127.0.0.1", server.port()); }, 2s));
    EXPECT_FALSE(stopped);
    server.handler.release();
    stopper.join();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
    auto reply = busy->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->body, "slept\n");
    EXPECT_EQ(reply->header("Connection"), "close");
    EXPECT_TRUE(busy->waitClosed(1s));
    EXPECT_TRUE(idle->waitClosed(1s));
    RawConnection after;
    EXPECT_FALSE(after.connect("127.0.0.1", server.port()));
}

TEST(ConnectorTest, PortInUseIsReportedInOneLine)
{
    Server server;
    ConnectorConfig config = testConfig();
    config.port = server.port();
    TestHandler handler;
    Connector second(config, handler);
    try {
        second.start();
        FAIL() << "second connector started on a used port";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()),
                  "cannot listen on 127.0.0.1:" + std::to_string(server.port()) +
                      ": Address already in use; set port= on <Connector> or stop the other process");
    }
}

} // namespace
} // namespace serval::test
