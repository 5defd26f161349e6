// Suspended exchanges over real sockets: ExchangeControl::suspend/resume and the any-thread
// AsyncResponse (queued output, backpressure, the hard cap, a client that leaves, drain).
#include "connector/TestServer.h"
#include "support/ServalProcess.h"

#include <atomic>
#include <deque>
#include <gtest/gtest.h>
#include <mutex>
#include <thread>

namespace serval::test {
namespace {

using namespace std::chrono_literals;
using http::WriteStatus;

/// TestHandler plus:
///   /async         service() calls startAsync() and returns; the test writes and completes
///   /async-early   the same after writing "early;" into the response and setting X-Early
///   /async-write   the same after writing "in-service;" through the handle during service()
///   /suspend       service() calls suspend() and returns; the test resumes on the loop
/// Each of these runs on a worker with "X-Dispatch: worker", else inline.
class AsyncHandler : public TestHandler
{
public:
    struct Parked
    {
        std::shared_ptr<http::AsyncResponse> async;
        http::HttpExchange* exchange;
    };

    http::HeadDecision onHead(http::HttpExchange& exchange) noexcept override
    {
        if (!isAsync(exchange.request.path)) return TestHandler::onHead(exchange);
        http::HeadDecision d;
        d.dispatch = exchange.request.header("X-Dispatch") == "worker" ? http::Dispatch::Worker
                                                                       : http::Dispatch::Inline;
        return d;
    }

    void service(http::HttpExchange& exchange) noexcept override
    {
        const std::string& path = exchange.request.path;
        if (!isAsync(path)) return TestHandler::service(exchange);
        std::shared_ptr<http::AsyncResponse> async;
        if (path == "/suspend") {
            exchange.control->suspend();
        } else {
            if (path == "/async-early") {
                exchange.response.write("early;");
                exchange.response.setHeader("X-Early", "yes");
            }
            async = exchange.control->startAsync();
            if (path == "/async-write") async->write("in-service;");
        }
        std::lock_guard<std::mutex> lock(_mutex);
        _parked.push_back(Parked{async, &exchange});
    }

    /// The next parked exchange, waiting for it.
    Parked next()
    {
        Parked parked{};
        EXPECT_TRUE(eventually(
            [&] {
                std::lock_guard<std::mutex> lock(_mutex);
                if (_parked.empty()) return false;
                parked = _parked.front();
                _parked.pop_front();
                return true;
            },
            5s));
        return parked;
    }

private:
    static bool isAsync(const std::string& path)
    {
        return path == "/async" || path == "/async-early" || path == "/async-write" || path == "/suspend";
    }

    std::mutex _mutex;
    std::deque<Parked> _parked;
};

using AsyncServer = ServerFor<AsyncHandler>;

/// Runs `f` on the exchange's loop thread and waits for it.
template <typename F> void onLoopOf(http::HttpExchange& exchange, F f)
{
    std::promise<void> done;
    ASSERT_TRUE(exchange.loop->post([&] {
        f();
        done.set_value();
    }));
    ASSERT_EQ(done.get_future().wait_for(5s), std::future_status::ready);
}

class AsyncDispatchTest : public ::testing::TestWithParam<bool>
{
protected:
    std::string extra() const { return GetParam() ? "X-Dispatch: worker\r\n" : ""; }
};

TEST_P(AsyncDispatchTest, AnotherThreadWritesAndCompletesAndThePipelinedRequestWaitsItsTurn)
{
    AsyncServer server;
    auto c = server.connect();
    ASSERT_TRUE(c->send(get("/async", extra()) + get("/canary")));
    AsyncHandler::Parked parked = server.handler.next();
    ASSERT_TRUE(parked.async);
    settleLoops(*server.connector);
    EXPECT_EQ(server.handler.canaries.load(), 0); // parsed only after the suspended response
    EXPECT_EQ(server.handler.completed.load(), 0);
    std::thread writer([async = parked.async] {
        EXPECT_TRUE(async->setStatus(201));
        EXPECT_TRUE(async->setHeader("Content-Type", "text/plain"));
        EXPECT_EQ(async->write("one,"), WriteStatus::Ok);
        EXPECT_FALSE(async->setStatus(500)); // the head is on its way
        EXPECT_EQ(async->write("two,"), WriteStatus::Ok);
        EXPECT_EQ(async->write("three"), WriteStatus::Ok);
        EXPECT_TRUE(async->complete());
        EXPECT_FALSE(async->complete());
        EXPECT_EQ(async->write("late"), WriteStatus::Dropped);
    });
    writer.join();
    auto reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 201);
    // Chunked, unless the loop took the writes only once complete() was queued too: then the
    // whole response goes out at once with a Content-Length.
    EXPECT_TRUE(reply->header("Transfer-Encoding") == "chunked" || reply->header("Content-Length") == "13");
    EXPECT_EQ(reply->header("Content-Type"), "text/plain");
    EXPECT_EQ(reply->body, "one,two,three");
    auto next = c->readResponse();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->body, "canary\n");
    EXPECT_TRUE(eventually([&] { return server.handler.completed.load() == 2; }, 5s));
    EXPECT_FALSE(parked.async->clientGone());
}

TEST_P(AsyncDispatchTest, CompletingWithoutWritesSendsTheBufferedResponseWithContentLength)
{
    AsyncServer server;
    auto c = server.connect();
    ASSERT_TRUE(c->send(get("/async-early", extra())));
    AsyncHandler::Parked parked = server.handler.next();
    EXPECT_TRUE(parked.async->setStatus(202));
    EXPECT_TRUE(parked.async->addHeader("X-Late", "1"));
    EXPECT_TRUE(parked.async->complete());
    auto reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 202);
    EXPECT_EQ(reply->header("Content-Length"), "6");
    EXPECT_EQ(reply->header("X-Early"), "yes");
    EXPECT_EQ(reply->header("X-Late"), "1");
    EXPECT_EQ(reply->body, "early;");
    EXPECT_EQ(reply->header("Connection"), "keep-alive");
}

TEST_P(AsyncDispatchTest, BytesWrittenDuringServiceGoOutOnceParked)
{
    AsyncServer server;
    auto c = server.connect();
    ASSERT_TRUE(c->send(get("/async-write", extra())));
    AsyncHandler::Parked parked = server.handler.next();
    EXPECT_EQ(parked.async->write("later"), WriteStatus::Ok);
    EXPECT_TRUE(parked.async->complete());
    auto reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->body, "in-service;later");
}

TEST_P(AsyncDispatchTest, ResumeOnTheLoopFinishesTheResponseAsServiceWould)
{
    AsyncServer server;
    auto c = server.connect();
    ASSERT_TRUE(c->send(get("/suspend", extra()) + get("/canary")));
    AsyncHandler::Parked parked = server.handler.next();
    settleLoops(*server.connector);
    EXPECT_EQ(server.handler.canaries.load(), 0);
    onLoopOf(*parked.exchange, [&] {
        parked.exchange->response.setStatus(200);
        parked.exchange->response.write("resumed\n");
        parked.exchange->control->resume();
    });
    auto reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->body, "resumed\n");
    EXPECT_EQ(reply->header("Content-Length"), "8");
    auto next = c->readResponse();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->body, "canary\n");
    EXPECT_TRUE(eventually([&] { return server.handler.completed.load() == 2; }, 5s));
}

TEST_P(AsyncDispatchTest, AClientThatLeavesIsReportedOnceAndCompleteFollows)
{
    AsyncServer server;
    auto c = server.connect();
    ASSERT_TRUE(c->send(get("/async", extra())));
    AsyncHandler::Parked parked = server.handler.next();
    std::atomic<int> gone{0};
    std::atomic<bool> goneOnLoop{false};
    http::Loop* loop = parked.exchange->loop;
    parked.async->onClientGone([&] {
        goneOnLoop = loop->isLoopThread();
        ++gone;
    });
    EXPECT_EQ(parked.async->write("partial"), WriteStatus::Ok);
    c->close();
    ASSERT_TRUE(eventually([&] { return gone.load() == 1; }, 5s));
    EXPECT_TRUE(goneOnLoop.load());
    EXPECT_TRUE(eventually([&] { return server.handler.completed.load() == 1; }, 5s));
    EXPECT_TRUE(parked.async->clientGone());
    EXPECT_EQ(parked.async->write("more"), WriteStatus::Dropped);
    EXPECT_FALSE(parked.async->complete());
    // Registered after the fact: still called, once, on the loop.
    std::atomic<int> late{0};
    parked.async->onClientGone([&] { ++late; });
    EXPECT_TRUE(eventually([&] { return late.load() == 1; }, 5s));
    settleLoops(*server.connector);
    EXPECT_EQ(gone.load(), 1);
    EXPECT_EQ(server.handler.completed.load(), 1);
    EXPECT_EQ(server.connector->stats().openConnections, 0u);
}

INSTANTIATE_TEST_SUITE_P(InlineAndWorker, AsyncDispatchTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                             return info.param ? "Worker" : "Inline";
                         });

/// Writes 16 KiB blocks until `until` is returned (or 64 MiB went in); returns the bytes queued.
size_t writeUntil(http::AsyncResponse& async, WriteStatus until)
{
    const std::string block(16 * 1024, 'x');
    size_t queued = 0;
    while (queued < (64u << 20)) {
        WriteStatus status = async.write(block);
        if (status != WriteStatus::Dropped) queued += block.size();
        if (status == until) break;
    }
    return queued;
}

/// Writes until the socket is full: the loop has written what the kernel takes and more than
/// the high-water mark is still buffered. Returns the bytes queued.
size_t fillUntilBlocked(AsyncServer& server, http::AsyncResponse& async, size_t highWater)
{
    size_t queued = 0;
    for (int round = 0; round < 1000; ++round) {
        queued += writeUntil(async, WriteStatus::Backpressure);
        settleLoops(*server.connector);
        if (async.bufferedAmount() > highWater) break;
    }
    return queued;
}

TEST(AsyncTest, ASlowReaderGetsBackpressureThenWritableOnceItReads)
{
    AsyncServer server;
    auto c = server.connect();
    // The client's receive buffer stays large: a tiny window would drain the server's
    // multi-megabyte send buffer at a few KiB per second.
    ASSERT_TRUE(c->send(get("/async")));
    AsyncHandler::Parked parked = server.handler.next();
    parked.async->setLimits(http::OutputLimits{64 * 1024, 256 * 1024 * 1024});
    std::atomic<int> writable{0};
    parked.async->onWritable([&] { ++writable; });
    size_t queued = fillUntilBlocked(server, *parked.async, 64 * 1024);
    ASSERT_GT(parked.async->bufferedAmount(), 64u * 1024);
    writable = 0; // the kernel may have taken the first rounds
    settleLoops(*server.connector);
    EXPECT_EQ(writable.load(), 0); // nobody reads
    std::optional<HttpReply> reply;
    std::thread reader([&] { reply = c->readResponse(false, 20s); });
    EXPECT_TRUE(eventually([&] { return writable.load() == 1; }, 10s));
    EXPECT_LE(parked.async->bufferedAmount(), 32u * 1024);
    EXPECT_TRUE(parked.async->complete());
    reader.join();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->body.size(), queued);
    EXPECT_EQ(writable.load(), 1);
}

TEST(AsyncTest, PassingTheHardCapDropsAndClosesTheConnection)
{
    AsyncServer server;
    auto c = server.connect();
    int small = 4096;
    ::setsockopt(c->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    ASSERT_TRUE(c->send(get("/async")));
    AsyncHandler::Parked parked = server.handler.next();
    parked.async->setLimits(http::OutputLimits{64 * 1024, 512 * 1024});
    std::atomic<int> gone{0};
    parked.async->onClientGone([&] { ++gone; });
    writeUntil(*parked.async, WriteStatus::Dropped);
    EXPECT_LE(parked.async->bufferedAmount(), 512u * 1024);
    EXPECT_TRUE(eventually([&] { return gone.load() == 1; }, 5s));
    EXPECT_TRUE(c->waitClosed(5s));
    EXPECT_TRUE(eventually([&] { return server.handler.completed.load() == 1; }, 5s));
    EXPECT_EQ(parked.async->write("x"), WriteStatus::Dropped);
}

TEST(AsyncTest, DrainWaitsForASuspendedExchangeThatCompletes)
{
    AsyncServer server;
    auto c = server.connect();
    ASSERT_TRUE(c->send(get("/async")));
    AsyncHandler::Parked parked = server.handler.next();
    std::thread stopper([&] { server.connector->stop(10s); });
    EXPECT_TRUE(
        eventually([&] { return !RawConnection().connect("127.0.0.1", server.connector->boundPort()); }, 5s));
    EXPECT_EQ(parked.async->write("bye"), WriteStatus::Ok);
    EXPECT_TRUE(parked.async->complete());
    auto start = std::chrono::steady_clock::now();
    stopper.join();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    auto reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->body, "bye");
    EXPECT_EQ(reply->header("Connection"), "close");
}

TEST(AsyncTest, DrainDeadlineClosesASuspendedExchange)
{
    AsyncServer server;
    auto c = server.connect();
    ASSERT_TRUE(c->send(get("/async")));
    AsyncHandler::Parked parked = server.handler.next();
    std::atomic<int> gone{0};
    parked.async->onClientGone([&] { ++gone; });
    auto start = std::chrono::steady_clock::now();
    server.connector->stop(300ms);
    auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_GE(elapsed, 250ms);
    EXPECT_LT(elapsed, 3s);
    EXPECT_EQ(gone.load(), 1);
    EXPECT_EQ(server.handler.completed.load(), 1);
    EXPECT_TRUE(c->waitClosed(2s));
    EXPECT_EQ(parked.async->write("x"), WriteStatus::Dropped);
}

TEST(AsyncTest, ASuspendedExchangeWhoseClientDoesNotReadIsDroppedBySendTimeout)
{
    connector::ConnectorConfig config = testConfig();
    config.sendTimeoutMs = 300;
    AsyncServer server(config);
    auto c = server.connect();
    int small = 4096;
    ::setsockopt(c->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    ASSERT_TRUE(c->send(get("/async")));
    AsyncHandler::Parked parked = server.handler.next();
    parked.async->setLimits(http::OutputLimits{64 * 1024, 256 * 1024 * 1024});
    std::atomic<int> gone{0};
    parked.async->onClientGone([&] { ++gone; });
    fillUntilBlocked(server, *parked.async, 64 * 1024);
    EXPECT_TRUE(eventually([&] { return gone.load() == 1; }, 5s));
    EXPECT_TRUE(eventually([&] { return server.handler.completed.load() == 1; }, 5s));
}

} // namespace
} // namespace serval::test
