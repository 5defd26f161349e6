// Dispatch lanes and the hard drain deadline over real sockets: HeadDecision::lane picks where
// service() runs; stop() returns by its deadline and names what did not finish.
#include "connector/TestServer.h"
#include "connector/WorkerPool.h"
#include "core/ContextLane.h"
#include "support/ServalProcess.h"

#include <atomic>
#include <gtest/gtest.h>
#include <thread>

namespace serval::test {
namespace {

using namespace std::chrono_literals;

/// A lane that refuses everything.
class FullLane final : public http::DispatchLane
{
public:
    bool submit(http::DispatchTask&) noexcept override { return false; }
    bool cancel(http::DispatchTask&) noexcept override { return false; }
    uint32_t threads() const noexcept override { return 1; }
};

/// TestHandler plus: "X-Lane: admin" runs on `admin`, "X-Lane: full" on a lane that is full,
/// "X-Lane: app" on an application's share of the shared pool (one thread, one waiting).
class LaneHandler : public TestHandler
{
public:
    connector::WorkerPool admin{1, 8, "test-admin"};
    FullLane full;
    core::ContextLane app{1, 1};

    http::HeadDecision onHead(http::HttpExchange& exchange) noexcept override
    {
        http::HeadDecision d = TestHandler::onHead(exchange);
        std::string_view lane = exchange.request.header("X-Lane");
        if (lane == "admin") {
            d.dispatch = http::Dispatch::Worker;
            d.lane = &admin;
        } else if (lane == "app") {
            d.dispatch = http::Dispatch::Worker;
            d.lane = &app;
        } else if (lane == "full") {
            d.dispatch = http::Dispatch::Worker;
            d.lane = &full;
        }
        return d;
    }
};

struct LaneServer
{
    explicit LaneServer(connector::ConnectorConfig config = testConfig())
    {
        handler.admin.start();
        connector = std::make_unique<connector::Connector>(config, handler);
        connector->start();
    }
    ~LaneServer()
    {
        connector->stop();
        handler.admin.stop();
    }
    std::unique_ptr<RawConnection> connect() const
    {
        auto c = std::make_unique<RawConnection>();
        EXPECT_TRUE(c->connect("127.0.0.1", connector->boundPort()));
        return c;
    }
    LaneHandler handler;
    std::unique_ptr<connector::Connector> connector;
};

connector::ConnectorConfig smallPool()
{
    connector::ConnectorConfig config = testConfig();
    config.workerThreads = 2;
    config.workerQueue = 2;
    return config;
}

TEST(DispatchLaneTest, ALaneOfItsOwnServesWhileTheSharedPoolIsFull)
{
    LaneServer server(smallPool());
    std::vector<std::unique_ptr<RawConnection>> sleepers;
    // 2 running, then 2 queued (in two steps: a queue of 2 refuses while the workers have not
    // taken the first two yet): the shared pool takes nothing more.
    for (uint32_t wave = 1; wave <= 2; ++wave) {
        for (int i = 0; i < 2; ++i) {
            sleepers.push_back(server.connect());
            ASSERT_TRUE(sleepers.back()->send(get("/sleep")));
        }
        ASSERT_TRUE(eventually(
            [&] {
                auto s = server.connector->stats();
                return s.workersBusy == 2 && s.workersQueued == (wave == 1 ? 0u : 2u);
            },
            5s));
    }
    auto refused = server.connect();
    ASSERT_TRUE(refused->send(get("/x", "X-Dispatch: worker\r\n")));
    auto reply = refused->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 503);
    EXPECT_EQ(reply->header("Retry-After"), "1");

    auto admin = server.connect();
    ASSERT_TRUE(admin->send(get("/x", "X-Lane: admin\r\n")));
    reply = admin->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->body.rfind("GET /x\n", 0), 0u);

    server.handler.release();
    for (auto& s : sleepers) {
        auto r = s->readResponse();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->body, "slept\n");
    }
}

TEST(DispatchLaneTest, AFullLaneIsAnswered503WithRetryAfterAndKeepsTheConnection)
{
    LaneServer server;
    auto c = server.connect();
    ASSERT_TRUE(c->send(get("/x", "X-Lane: full\r\n") + get("/canary")));
    auto reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 503);
    EXPECT_EQ(reply->header("Retry-After"), "1");
    EXPECT_EQ(c->readResponse()->body, "canary\n");
    EXPECT_TRUE(eventually([&] { return server.handler.completed.load() == 2; }, 5s));
}

TEST(DispatchLaneTest, AnAppThatHangsHoldsOnlyItsShareAndItsQueueKeepsOrder)
{
    LaneServer server(smallPool());
    auto hung = server.connect();
    ASSERT_TRUE(hung->send(get("/sleep?n=1", "X-Lane: app\r\n")));
    ASSERT_TRUE(eventually([&] { return server.handler.app.running() == 1; }, 5s));
    auto waiting = server.connect(); // the app's one thread is taken: this waits in its queue
    ASSERT_TRUE(waiting->send(get("/sleep?n=2", "X-Lane: app\r\n")));
    ASSERT_TRUE(eventually([&] { return server.handler.app.queued() == 1; }, 5s));
    auto refused = server.connect(); // and its queue is full
    ASSERT_TRUE(refused->send(get("/x", "X-Lane: app\r\n")));
    auto reply = refused->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 503);
    EXPECT_EQ(reply->header("Retry-After"), "1");

    // Another app (here: the shared pool without a lane) still gets the pool's other thread.
    auto other = server.connect();
    ASSERT_TRUE(other->send(get("/other", "X-Dispatch: worker\r\n")));
    reply = other->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
    EXPECT_TRUE(eventually([&] { return server.connector->stats().workersBusy == 1; }, 5s));

    server.handler.release(); // the hung request returns; its worker runs the waiting one
    for (auto* c : {hung.get(), waiting.get()}) {
        auto r = c->readResponse();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->body, "slept\n");
    }
    EXPECT_TRUE(eventually([&] { return server.handler.app.running() == 0; }, 5s));
    EXPECT_EQ(server.handler.app.queued(), 0u);
    EXPECT_EQ(server.handler.app.rejected(), 1u);
}

TEST(DispatchLaneTest, TheDrainDeadlineIsHardAndNamesWhatStillRuns)
{
    LaneServer server(smallPool());
    auto running = server.connect();
    ASSERT_TRUE(running->send(get("/sleep?who=first")));
    auto second = server.connect();
    ASSERT_TRUE(second->send(get("/sleep?who=second")));
    ASSERT_TRUE(eventually([&] { return server.connector->stats().workersBusy == 2; }, 5s));
    auto queued = server.connect(); // waits in the pool: withdrawn at the deadline
    ASSERT_TRUE(queued->send(get("/sleep?who=queued")));
    ASSERT_TRUE(eventually([&] { return server.connector->stats().workersQueued == 1; }, 5s));

    auto start = std::chrono::steady_clock::now();
    connector::DrainReport report = server.connector->stop(300ms);
    auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_GE(elapsed, 250ms);
    EXPECT_LT(elapsed, 2s); // the deadline plus at most a tick, not the 20 s the handlers would take
    ASSERT_EQ(report.unfinished.size(), 2u);
    std::vector<std::string> targets;
    for (const auto& u : report.unfinished) {
        targets.push_back(u.target);
        EXPECT_EQ(u.method, "GET");
        EXPECT_EQ(u.host, "test");
        EXPECT_EQ(u.remoteAddress, "127.0.0.1");
        EXPECT_GE(u.runningMs, 250u);
        EXPECT_FALSE(u.onLoopThread);
        EXPECT_NE(u.describe().find("GET /sleep?who="), std::string::npos) << u.describe();
    }
    std::sort(targets.begin(), targets.end());
    EXPECT_EQ(targets, (std::vector<std::string>{"/sleep?who=first", "/sleep?who=second"}));
    EXPECT_EQ(server.connector->lastDrainReport().unfinished.size(), 2u);
    // Every client sees its connection end; the withdrawn one never ran but completed.
    EXPECT_TRUE(running->waitClosed(2s));
    EXPECT_TRUE(queued->waitClosed(2s));
    EXPECT_EQ(server.handler.completed.load(), 1);

    // The abandoned handlers may still return: they find their loop gone and change nothing.
    server.handler.release();
    EXPECT_TRUE(eventually([&] { return server.handler.completed.load() == 3; }, 5s));
}

TEST(DispatchLaneTest, AStopWithNothingLeftReportsClean)
{
    LaneServer server;
    EXPECT_EQ(httpGet(server.connector->boundPort(), "/x").status, 200);
    EXPECT_TRUE(server.connector->stop(1s).clean());
}

} // namespace
} // namespace serval::test
