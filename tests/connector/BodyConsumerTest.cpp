// Streamed request bodies: a HeadDecision with a BodyConsumer gets the body on the loop thread
// as it arrives, under the same limits as a buffered one, over real sockets.
#include "connector/TestServer.h"
#include "support/ServalProcess.h"

#include <atomic>
#include <gtest/gtest.h>
#include <mutex>

namespace serval::test {
namespace {

using namespace std::chrono_literals;

/// One consumer for the whole test (requests run one at a time here).
///   /consume        streams the body; service() answers "<bytes> <pieces> <request.body size>"
///   /consume-small  the same with maxBodySize 10
///   /deny           aborts with 403 (its own page) once 5 bytes have arrived
///   /deny-at-end    accepts every byte, aborts with 422 in onEnd()
class ConsumingHandler : public TestHandler, public http::BodyConsumer
{
public:
    std::atomic<uint64_t> bytes{0};
    std::atomic<int> pieces{0};
    std::atomic<int> ends{0};
    std::atomic<int> services{0};
    std::atomic<int> offLoop{0};

    http::HeadDecision onHead(http::HttpExchange& exchange) noexcept override
    {
        const std::string& path = exchange.request.path;
        if (path != "/consume" && path != "/consume-small" && path != "/deny" && path != "/deny-at-end")
            return TestHandler::onHead(exchange);
        bytes = 0;
        pieces = 0;
        http::HeadDecision d;
        d.dispatch = exchange.request.header("X-Dispatch") == "worker" ? http::Dispatch::Worker
                                                                       : http::Dispatch::Inline;
        d.bodyConsumer = this;
        if (path == "/consume-small") d.maxBodySize = 10;
        return d;
    }

    http::BodyVerdict onData(http::HttpExchange& exchange, std::string_view data) noexcept override
    {
        if (!exchange.loop->isLoopThread()) ++offLoop;
        bytes += data.size();
        ++pieces;
        if (exchange.request.path == "/deny" && bytes >= 5) {
            exchange.response.setContentType("text/plain");
            exchange.response.write("denied\n");
            return http::BodyVerdict::abort(403);
        }
        return http::BodyVerdict::proceed();
    }

    http::BodyVerdict onEnd(http::HttpExchange& exchange) noexcept override
    {
        if (!exchange.loop->isLoopThread()) ++offLoop;
        ++ends;
        if (exchange.request.path == "/deny-at-end") return http::BodyVerdict::abort(422);
        return http::BodyVerdict::proceed();
    }

    void service(http::HttpExchange& exchange) noexcept override
    {
        const std::string& path = exchange.request.path;
        if (path != "/consume" && path != "/consume-small") return TestHandler::service(exchange);
        ++services;
        exchange.response.write(std::to_string(bytes.load()) + " " + std::to_string(pieces.load()) + " " +
                                std::to_string(exchange.request.body.size()));
    }
};

using ConsumingServer = ServerFor<ConsumingHandler>;

std::string post(const std::string& target, const std::string& extra)
{
    return "POST " + target + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n";
}

TEST(BodyConsumerTest, TheBodyArrivesPieceByPieceOnTheLoopAndIsNotBuffered)
{
    for (const char* dispatch : {"", "X-Dispatch: worker\r\n"}) {
        ConsumingServer server;
        auto c = server.connect();
        ASSERT_TRUE(c->send(post("/consume", std::string(dispatch) + "Content-Length: 10\r\n") + "abc"));
        // The first bytes reach the consumer before the client has sent the rest.
        ASSERT_TRUE(eventually([&] { return server.handler.bytes.load() == 3; }, 5s));
        ASSERT_TRUE(c->send("defghij"));
        auto reply = c->readResponse();
        ASSERT_TRUE(reply);
        EXPECT_EQ(reply->status, 200);
        EXPECT_EQ(reply->body, "10 2 0") << dispatch;
        EXPECT_EQ(server.handler.ends.load(), 1);
        EXPECT_EQ(server.handler.offLoop.load(), 0);
        EXPECT_EQ(reply->header("Connection"), "keep-alive");
    }
}

TEST(BodyConsumerTest, ChunkedBodiesAreDechunkedForTheConsumer)
{
    ConsumingServer server;
    auto c = server.connect();
    ASSERT_TRUE(c->send(post("/consume", "Transfer-Encoding: chunked\r\n") +
                        "4\r\nwiki\r\n5\r\npedia\r\n0\r\n\r\n" + get("/canary")));
    auto reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->body.substr(0, 2), "9 ");
    EXPECT_EQ(c->readResponse()->body, "canary\n");
}

TEST(BodyConsumerTest, MaxBodySizeStillApplies)
{
    ConsumingServer server;
    auto declared = server.connect();
    ASSERT_TRUE(declared->send(post("/consume-small", "Content-Length: 11\r\n")));
    auto reply = declared->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 413);
    EXPECT_EQ(server.handler.bytes.load(), 0u);

    auto chunked = server.connect();
    ASSERT_TRUE(chunked->send(post("/consume-small", "Transfer-Encoding: chunked\r\n") +
                              "6\r\nabcdef\r\n6\r\nghijkl\r\n"));
    reply = chunked->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 413);
    EXPECT_EQ(reply->header("Connection"), "close");
    EXPECT_TRUE(chunked->waitClosed());
    EXPECT_EQ(server.handler.bytes.load(), 6u);
    EXPECT_EQ(server.handler.ends.load(), 0);
    EXPECT_EQ(server.handler.services.load(), 0);
    EXPECT_TRUE(eventually([&] { return server.handler.completed.load() == 2; }, 5s));
}

TEST(BodyConsumerTest, AnAbortIsAnsweredWithTheConsumersResponseAndTheConnectionCloses)
{
    ConsumingServer server;
    auto c = server.connect();
    ASSERT_TRUE(c->send(post("/deny", "Content-Length: 1000\r\n") + std::string(5, 'x')));
    auto reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 403);
    EXPECT_EQ(reply->body, "denied\n");
    EXPECT_EQ(reply->header("Connection"), "close");
    c->send(std::string(500, 'y') + get("/canary")); // unread: drained, never parsed
    EXPECT_TRUE(c->waitClosed());
    EXPECT_EQ(server.handler.canaries.load(), 0);
    EXPECT_EQ(server.handler.ends.load(), 0);
    EXPECT_TRUE(eventually([&] { return server.handler.completed.load() == 1; }, 5s));
}

TEST(BodyConsumerTest, AnAbortAtTheEndKeepsTheConnection)
{
    ConsumingServer server;
    auto c = server.connect();
    ASSERT_TRUE(c->send(post("/deny-at-end", "Content-Length: 3\r\n") + "abc" + get("/canary")));
    auto reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 422);
    EXPECT_EQ(reply->header("Connection"), "keep-alive");
    EXPECT_EQ(c->readResponse()->body, "canary\n");
    EXPECT_EQ(server.handler.services.load(), 0);
}

TEST(BodyConsumerTest, ExpectContinueComesBeforeTheStreamedBody)
{
    ConsumingServer server;
    auto c = server.connect();
    ASSERT_TRUE(c->send(post("/consume", "Expect: 100-continue\r\nContent-Length: 4\r\n")));
    auto interim = c->readResponse();
    ASSERT_TRUE(interim);
    EXPECT_EQ(interim->status, 100);
    ASSERT_TRUE(c->send("abcd"));
    auto reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->body.substr(0, 2), "4 ");
}

TEST(BodyConsumerTest, AStalledStreamedBodyIsTimedOut)
{
    connector::ConnectorConfig config = testConfig();
    config.bodyTimeoutMs = 300;
    ConsumingServer server(config);
    auto c = server.connect();
    ASSERT_TRUE(c->send(post("/consume", "Content-Length: 10\r\n") + "abc"));
    auto reply = c->readResponse(false, 3s);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 408);
    EXPECT_EQ(server.handler.ends.load(), 0);
    EXPECT_TRUE(eventually([&] { return server.handler.completed.load() == 1; }, 5s));
}

} // namespace
} // namespace serval::test
