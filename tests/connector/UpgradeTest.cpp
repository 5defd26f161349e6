// Protocol switches over real sockets: a 101 with an UpgradeHandler attached hands the
// connection to it (here a trivial echo protocol) once the 101 is written.
#include "connector/TestServer.h"
#include "support/ServalProcess.h"

#include <atomic>
#include <gtest/gtest.h>
#include <memory>
#include <mutex>

namespace serval::test {
namespace {

using namespace std::chrono_literals;

/// What the echo handlers saw, shared with the test (they die with their connection).
struct EchoRecord
{
    std::atomic<int> opened{0};
    std::atomic<int> closed{0};
    std::atomic<int> writable{0};
    std::atomic<int> offLoop{0};
    std::atomic<uint64_t> bytes{0};
    std::mutex mutex;
    http::UpgradedConnection* connection = nullptr; ///< while open; loop thread only
};

/// Echoes every byte. "close" in the input: writes "bye" and closes; "flood" writes 8 MiB at
/// once (the queue's backpressure); "pause" stops reading.
class EchoHandler final : public http::UpgradeHandler
{
public:
    explicit EchoHandler(std::shared_ptr<EchoRecord> record) : _record(std::move(record)) {}
    void onOpen(http::UpgradedConnection& connection) noexcept override
    {
        if (!connection.loop().isLoopThread()) ++_record->offLoop;
        _connection = &connection;
        {
            std::lock_guard<std::mutex> lock(_record->mutex);
            _record->connection = &connection;
        }
        ++_record->opened;
    }
    void onData(std::string_view bytes) noexcept override
    {
        _record->bytes += bytes.size();
        if (bytes == "close") {
            _connection->write("bye");
            _connection->close();
            return;
        }
        if (bytes == "flood") {
            _connection->setLimits(http::OutputLimits{64 * 1024, 64 * 1024 * 1024});
            std::string block(1024 * 1024, 'f');
            http::WriteStatus last = http::WriteStatus::Ok;
            for (int i = 0; i < 8; ++i)
                last = _connection->write(block);
            EXPECT_EQ(last, http::WriteStatus::Backpressure);
            return;
        }
        if (bytes == "cap") {
            _connection->setLimits(http::OutputLimits{1024, 4096});
            EXPECT_EQ(_connection->write(std::string(8192, 'c')), http::WriteStatus::Dropped);
            return;
        }
        _connection->write(bytes);
    }
    void onWritable() noexcept override { ++_record->writable; }
    void onClose() noexcept override
    {
        {
            std::lock_guard<std::mutex> lock(_record->mutex);
            _record->connection = nullptr;
        }
        ++_record->closed;
    }

private:
    std::shared_ptr<EchoRecord> _record;
    http::UpgradedConnection* _connection = nullptr;
};

/// TestHandler plus /echo: 101 + EchoHandler when the request asks for "Upgrade: echo";
/// /echo-refused attaches one but answers 200.
class UpgradingHandler : public TestHandler
{
public:
    std::shared_ptr<EchoRecord> record = std::make_shared<EchoRecord>();
    std::atomic<int> lastStatus{0};

    http::HeadDecision onHead(http::HttpExchange& exchange) noexcept override
    {
        const std::string& path = exchange.request.path;
        if (path != "/echo" && path != "/echo-refused") return TestHandler::onHead(exchange);
        http::HeadDecision d;
        d.dispatch = exchange.request.header("X-Dispatch") == "worker" ? http::Dispatch::Worker
                                                                       : http::Dispatch::Inline;
        return d;
    }
    void service(http::HttpExchange& exchange) noexcept override
    {
        const std::string& path = exchange.request.path;
        if (path != "/echo" && path != "/echo-refused") return TestHandler::service(exchange);
        exchange.control->upgrade(std::make_unique<EchoHandler>(record));
        if (path == "/echo-refused") {
            exchange.response.write("no switch\n");
            return;
        }
        exchange.response.setStatus(101);
        exchange.response.setHeader("Upgrade", "echo");
    }
    void complete(http::HttpExchange& exchange, uint64_t bytes) noexcept override
    {
        lastStatus = exchange.response.status();
        TestHandler::complete(exchange, bytes);
    }
};

using UpgradeServer = ServerFor<UpgradingHandler>;

std::string upgradeRequest(const std::string& path, const std::string& extra = "")
{
    return "GET " + path + " HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: echo\r\n" + extra +
           "\r\n";
}

class UpgradeDispatchTest : public ::testing::TestWithParam<bool>
{
protected:
    std::string extra() const { return GetParam() ? "X-Dispatch: worker\r\n" : ""; }
};

TEST_P(UpgradeDispatchTest, AfterThe101TheConnectionEchoesRawBytes)
{
    UpgradeServer server;
    auto c = server.connect();
    // Bytes right behind the request belong to the new protocol.
    ASSERT_TRUE(c->send(upgradeRequest("/echo", extra()) + "early"));
    auto head = c->readResponse(true);
    ASSERT_TRUE(head);
    EXPECT_EQ(head->status, 101);
    EXPECT_EQ(head->header("Connection"), "Upgrade");
    EXPECT_EQ(head->header("Upgrade"), "echo");
    EXPECT_FALSE(head->hasHeader("Content-Length"));
    EXPECT_EQ(c->readBytes(5), "early");
    for (const char* message : {"hello", "GET / HTTP/1.1\r\n\r\n", "world"}) {
        ASSERT_TRUE(c->send(message));
        EXPECT_EQ(c->readBytes(std::string(message).size()), message);
    }
    EXPECT_EQ(server.handler.record->opened.load(), 1);
    EXPECT_EQ(server.handler.record->offLoop.load(), 0);
    // The HTTP exchange ended with the 101: complete() once, with that status.
    EXPECT_TRUE(eventually([&] { return server.handler.completed.load() == 1; }, 5s));
    EXPECT_EQ(server.handler.lastStatus.load(), 101);
    EXPECT_EQ(server.handler.canaries.load(), 0);
    c->close();
    EXPECT_TRUE(eventually([&] { return server.handler.record->closed.load() == 1; }, 5s));
    settleLoops(*server.connector);
    EXPECT_EQ(server.handler.record->closed.load(), 1);
    EXPECT_EQ(server.connector->stats().openConnections, 0u);
}

INSTANTIATE_TEST_SUITE_P(InlineAndWorker, UpgradeDispatchTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                             return info.param ? "Worker" : "Inline";
                         });

TEST(UpgradeTest, TheHandlerCanCloseAfterWriting)
{
    UpgradeServer server;
    auto c = server.connect();
    ASSERT_TRUE(c->send(upgradeRequest("/echo")));
    ASSERT_TRUE(c->readResponse(true));
    ASSERT_TRUE(c->send("close"));
    EXPECT_EQ(c->readUntilClose(), "bye");
    EXPECT_TRUE(eventually([&] { return server.handler.record->closed.load() == 1; }, 5s));
}

TEST(UpgradeTest, OtherThreadsWriteThroughTheLoop)
{
    UpgradeServer server;
    auto c = server.connect();
    ASSERT_TRUE(c->send(upgradeRequest("/echo")));
    ASSERT_TRUE(c->readResponse(true));
    ASSERT_TRUE(eventually([&] { return server.handler.record->opened.load() == 1; }, 5s));
    std::shared_ptr<EchoRecord> record = server.handler.record;
    http::Loop* loop = nullptr;
    {
        std::lock_guard<std::mutex> lock(record->mutex);
        ASSERT_NE(record->connection, nullptr);
        loop = &record->connection->loop(); // the Loop outlives the connection
    }
    std::thread pusher([loop, record] {
        ASSERT_TRUE(loop->post([record] {
            std::lock_guard<std::mutex> lock(record->mutex);
            if (record->connection != nullptr) record->connection->write("pushed");
        }));
    });
    pusher.join();
    EXPECT_EQ(c->readBytes(6), "pushed");
}

TEST(UpgradeTest, QueuedOutputAppliesBackpressureAndReportsWritable)
{
    UpgradeServer server;
    auto c = server.connect();
    ASSERT_TRUE(c->send(upgradeRequest("/echo")));
    ASSERT_TRUE(c->readResponse(true));
    ASSERT_TRUE(c->send("flood"));
    auto all = c->readBytes(8u << 20, 20s);
    ASSERT_TRUE(all);
    EXPECT_EQ(all->find_first_not_of('f'), std::string::npos);
    EXPECT_TRUE(eventually([&] { return server.handler.record->writable.load() == 1; }, 5s));
}

TEST(UpgradeTest, PassingTheHardCapCloses)
{
    UpgradeServer server;
    auto c = server.connect();
    ASSERT_TRUE(c->send(upgradeRequest("/echo")));
    ASSERT_TRUE(c->readResponse(true));
    ASSERT_TRUE(c->send("cap"));
    EXPECT_TRUE(c->waitClosed());
    EXPECT_TRUE(eventually([&] { return server.handler.record->closed.load() == 1; }, 5s));
}

TEST(UpgradeTest, WithoutA101TheHandlerIsDroppedAndHttpCarriesOn)
{
    UpgradeServer server;
    auto c = server.connect();
    ASSERT_TRUE(c->send(upgradeRequest("/echo-refused") + get("/canary")));
    auto reply = c->readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->body, "no switch\n");
    EXPECT_EQ(reply->header("Connection"), "close"); // an upgrade request is never followed by more HTTP
    EXPECT_TRUE(c->waitClosed());
    EXPECT_EQ(server.handler.record->opened.load(), 0);
    EXPECT_EQ(server.handler.canaries.load(), 0);
}

TEST(UpgradeTest, A101WithoutAnUpgradeRequestDoesNotSwitch)
{
    UpgradeServer server;
    auto c = server.connect();
    ASSERT_TRUE(c->send(get("/echo")));
    auto reply = c->readResponse(true);
    ASSERT_TRUE(reply);
    EXPECT_NE(reply->header("Connection"), "Upgrade");
    settleLoops(*server.connector);
    EXPECT_EQ(server.handler.record->opened.load(), 0);
}

TEST(UpgradeTest, TheDrainDeadlineClosesUpgradedConnections)
{
    UpgradeServer server;
    auto c = server.connect();
    ASSERT_TRUE(c->send(upgradeRequest("/echo")));
    ASSERT_TRUE(c->readResponse(true));
    ASSERT_TRUE(eventually([&] { return server.handler.record->opened.load() == 1; }, 5s));
    server.connector->stop(200ms);
    EXPECT_EQ(server.handler.record->closed.load(), 1);
    EXPECT_TRUE(c->waitClosed(2s));
}

} // namespace
} // namespace serval::test
