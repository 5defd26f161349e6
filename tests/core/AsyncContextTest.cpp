// Async requests and Server-Sent Events through a real Engine and Connector: responses
// completed from other threads, timeouts, clients that leave, many parked requests holding no
// worker, and an event stream resumed with Last-Event-ID.
#include "core/AsyncContext.h"

#include "LiveEngine.h"
#include "core/EventStream.h"
#include "core/Request.h"
#include "core/Response.h"
#include "support/ServalProcess.h"

#include <gtest/gtest.h>
#include <thread>

using namespace serval;
using namespace std::chrono_literals;

namespace {

struct Counters : core::AsyncListener
{
    std::atomic<int> timeouts{0}, gone{0}, completes{0};
    void onTimeout(core::AsyncContext&) noexcept override { ++timeouts; }
    void onClientGone(core::AsyncContext&) noexcept override { ++gone; }
    void onComplete() noexcept override { ++completes; }
};

/// What the servlets share with the test.
struct Shared
{
    std::shared_ptr<Counters> counters = std::make_shared<Counters>();
    std::mutex mutex;
    std::vector<std::shared_ptr<core::AsyncContext>> parked;
    std::vector<std::thread> threads;
};

class AsyncServlet : public core::Servlet
{
public:
    explicit AsyncServlet(std::shared_ptr<Shared> shared) : _shared(std::move(shared)) {}
    core::ServiceStatus service(core::Request& request, core::Response& response) override
    {
        std::string path(request.http().path);
        response.setContentType("text/plain");
        if (path == "/app/sync") {
            response.write("sync");
            return {};
        }
        if (path == "/app/later") {
            auto async = core::AsyncContext::start(request, response, 5s, _shared->counters);
            std::lock_guard<std::mutex> lock(_shared->mutex);
            _shared->threads.emplace_back([async] {
                async->write("hello ");
                async->write("world");
                async->complete();
            });
            return {};
        }
        if (path == "/app/park") {
            auto async = core::AsyncContext::start(request, response, 0ms);
            std::lock_guard<std::mutex> lock(_shared->mutex);
            _shared->parked.push_back(async);
            return {};
        }
        if (path == "/app/timeout") {
            core::AsyncContext::start(request, response, 100ms, _shared->counters);
            return {};
        }
        if (path == "/app/gone") {
            auto async = core::AsyncContext::start(request, response, 0ms, _shared->counters);
            std::lock_guard<std::mutex> lock(_shared->mutex);
            _shared->parked.push_back(async);
            return {};
        }
        if (path == "/app/events") {
            int from = 1;
            if (auto last = core::EventStream::lastEventId(request)) from = std::stoi(*last) + 1;
            auto stream = core::EventStream::start(request, response, 0ms);
            stream->retry(1500ms);
            for (int id = from; id <= 3; ++id)
                stream->send("line one\nline two " + std::to_string(id), "tick", std::to_string(id));
            stream->complete();
            return {};
        }
        if (path == "/app/beat") {
            auto stream = core::EventStream::start(request, response, 20ms);
            std::lock_guard<std::mutex> lock(_shared->mutex);
            _shared->threads.emplace_back([stream] {
                test::eventually([&] { return stream->heartbeats() >= 2; }, 10s);
                stream->send("done");
                stream->complete();
            });
            return {};
        }
        response.sendError(404);
        return {};
    }

private:
    std::shared_ptr<Shared> _shared;
};

struct AsyncContextTest : ::testing::Test
{
    std::shared_ptr<Shared> shared = std::make_shared<Shared>();
    std::unique_ptr<test::LiveEngine> live;

    void SetUp() override
    {
        connector::ConnectorConfig config = test::testConfig();
        config.workerThreads = 4;
        live = std::make_unique<test::LiveEngine>(
            [this](core::Context& context) {
                context.addServlet("async", std::make_unique<AsyncServlet>(shared), {"/*"});
            },
            config);
    }
    void TearDown() override
    {
        live->stop();
        std::lock_guard<std::mutex> lock(shared->mutex);
        for (auto& t : shared->threads)
            t.join();
    }
    std::unique_ptr<test::RawConnection> request(const std::string& path, const std::string& extra = "")
    {
        auto c = std::make_unique<test::RawConnection>();
        EXPECT_TRUE(c->connect("127.0.0.1", live->port()));
        EXPECT_TRUE(c->send("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n" + extra + "\r\n"));
        return c;
    }
    size_t parkedCount()
    {
        std::lock_guard<std::mutex> lock(shared->mutex);
        return shared->parked.size();
    }
};

TEST_F(AsyncContextTest, AnotherThreadWritesAndCompletes)
{
    auto c = request("/app/later");
    auto reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->body, "hello world");
    EXPECT_TRUE(test::eventually([&] { return shared->counters->completes.load() == 1; }, 5s));
    // The connection goes on with the next request.
    ASSERT_TRUE(c->send("GET /app/sync HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->body, "sync");
}

TEST_F(AsyncContextTest, ATimeoutCallsTheListenerAndAnswersTheTimeoutStatus)
{
    auto c = request("/app/timeout");
    auto reply = c->readResponse(false, 10s);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 503);
    EXPECT_EQ(shared->counters->timeouts.load(), 1);
}

TEST_F(AsyncContextTest, AClientThatLeavesIsReported)
{
    auto c = request("/app/gone");
    ASSERT_TRUE(test::eventually([&] { return parkedCount() == 1; }, 5s));
    c->close();
    EXPECT_TRUE(test::eventually([&] { return shared->counters->gone.load() == 1; }, 5s));
    std::shared_ptr<core::AsyncContext> async;
    {
        std::lock_guard<std::mutex> lock(shared->mutex);
        async = shared->parked[0];
    }
    EXPECT_TRUE(async->clientGone());
    EXPECT_EQ(async->write("nobody"), http::WriteStatus::Dropped);
}

TEST_F(AsyncContextTest, ManyParkedRequestsHoldNoWorker)
{
    // 200 parked requests on 4 workers; a plain request still gets through at once.
    std::vector<std::unique_ptr<test::RawConnection>> clients;
    for (int i = 0; i < 200; ++i)
        clients.push_back(request("/app/park"));
    ASSERT_TRUE(test::eventually([&] { return parkedCount() == 200; }, 20s));
    auto sync = request("/app/sync");
    auto reply = sync->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->body, "sync");
    std::thread completer([&] {
        std::lock_guard<std::mutex> lock(shared->mutex);
        for (size_t i = 0; i < shared->parked.size(); ++i) {
            shared->parked[i]->write("done " + std::to_string(i));
            shared->parked[i]->complete();
        }
    });
    completer.join();
    int ok = 0;
    for (auto& c : clients) {
        auto r = c->readResponse();
        if (r && r->status == 200 && r->body.rfind("done ", 0) == 0) ++ok;
    }
    EXPECT_EQ(ok, 200);
}

TEST_F(AsyncContextTest, AnEventStreamResumesAfterLastEventId)
{
    auto c = request("/app/events");
    auto reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->header("Content-Type"), "text/event-stream; charset=utf-8");
    EXPECT_EQ(reply->header("Cache-Control"), "no-cache");
    EXPECT_EQ(reply->body.substr(0, 13), "retry: 1500\n\n");
    EXPECT_NE(reply->body.find("id: 1\nevent: tick\ndata: line one\ndata: line two 1\n\n"),
              std::string::npos);
    EXPECT_NE(reply->body.find("id: 3\n"), std::string::npos);

    auto resumed = request("/app/events", "Last-Event-ID: 2\r\n");
    reply = resumed->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->body.find("id: 1\n"), std::string::npos);
    EXPECT_EQ(reply->body.find("id: 2\n"), std::string::npos);
    EXPECT_NE(reply->body.find("id: 3\n"), std::string::npos);
}

TEST_F(AsyncContextTest, AnIdleEventStreamSendsHeartbeats)
{
    auto c = request("/app/beat");
    auto reply = c->readResponse(false, 15s);
    ASSERT_TRUE(reply);
    EXPECT_NE(reply->body.find(": heartbeat\n\n"), std::string::npos);
    EXPECT_NE(reply->body.find("data: done\n\n"), std::string::npos);
}

TEST(EventStreamTest, FormatSplitsLinesAndRefusesNewlinesInIds)
{
    EXPECT_EQ(core::EventStream::format("a\r\nb\rc\nd", "", ""), "data: a\ndata: b\ndata: c\ndata: d\n\n");
    EXPECT_EQ(core::EventStream::format("", "", "7"), "id: 7\ndata: \n\n");
}

} // namespace
