// The HTTP/2 session glue without sockets (issue 16): an nghttp2 client session talks to an
// Http2Session through a fake UpgradedConnection and a fake Loop driven by the test; the
// handler sees the same onHead/service/complete sequence as over HTTP/1.1.
#include "connector/http2/Http2Session.h"

#include "connector/http2/GlitchBudget.h"
#include "support/FakeLoop.h"

#include <cstring>
#include <deque>
#include <gtest/gtest.h>
#include <map>
#include <nghttp2/nghttp2.h>
#include <string>

namespace {

using namespace serval;

using test::FakeLoop;

class FakeConnection final : public http::UpgradedConnection
{
public:
    explicit FakeConnection(FakeLoop& loop) : _loop(loop) {}
    http::Loop& loop() noexcept override { return _loop; }
    http::WriteStatus write(std::string_view bytes) noexcept override
    {
        out.append(bytes);
        return http::WriteStatus::Ok;
    }
    size_t bufferedAmount() const noexcept override { return 0; }
    void setLimits(http::OutputLimits) noexcept override {}
    void setReading(bool) noexcept override {}
    void close() noexcept override { closed = true; }
    void abort() noexcept override { closed = true; }
    std::string out;
    bool closed = false;

private:
    FakeLoop& _loop;
};

/// Answers "hi <path> <body>"; Worker dispatch for paths under /worker (the lane runs the task
/// at once, on the test thread).
class Handler final : public http::HttpHandler, public http::DispatchLane
{
public:
    http::HeadDecision onHead(http::HttpExchange& exchange) noexcept override
    {
        ++heads;
        http::HeadDecision decision;
        decision.maxBodySize = 16;
        decision.dispatch =
            exchange.request.path.rfind("/worker", 0) == 0 ? http::Dispatch::Worker : http::Dispatch::Inline;
        return decision;
    }
    void service(http::HttpExchange& exchange) noexcept override
    {
        exchange.response.setContentType("text/plain");
        exchange.response.setHeader("Connection", "close"); // connection-specific: never sent on h2
        exchange.response.write("hi " + exchange.request.path + " " + exchange.request.body + " " +
                                std::string(exchange.request.host()));
    }
    void complete(http::HttpExchange&, uint64_t) noexcept override { ++completes; }
    bool submit(http::DispatchTask& task) noexcept override
    {
        task.runOnWorker();
        return true;
    }
    bool cancel(http::DispatchTask&) noexcept override { return false; }
    uint32_t threads() const noexcept override { return 1; }
    int heads = 0;
    int completes = 0;
};

struct Response
{
    int status = 0;
    std::map<std::string, std::string> headers;
    std::string body;
    bool closed = false;
    uint32_t error = 0;
};

class Http2SessionTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        config.keepAliveTimeoutMs = 1000;
        _handle = http2::Http2Session::create(
            http2::SessionContext{handler, handler, config, "127.0.0.1", 4000, "127.0.0.1", 8080, nullptr});
        _handle->onOpen(connection);
        nghttp2_session_callbacks* callbacks;
        nghttp2_session_callbacks_new(&callbacks);
        nghttp2_session_callbacks_set_on_header_callback(
            callbacks, [](nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                          size_t nameLength, const uint8_t* value, size_t valueLength, uint8_t, void* user) {
                auto& self = *static_cast<Http2SessionTest*>(user);
                std::string n(reinterpret_cast<const char*>(name), nameLength);
                std::string v(reinterpret_cast<const char*>(value), valueLength);
                Response& r = self.responses[frame->hd.stream_id];
                if (n == ":status")
                    r.status = std::stoi(v);
                else
                    r.headers[n] = v;
                return 0;
            });
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
            callbacks,
            [](nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t length, void* user) {
                static_cast<Http2SessionTest*>(user)->responses[id].body.append(
                    reinterpret_cast<const char*>(data), length);
                return 0;
            });
        nghttp2_session_callbacks_set_on_stream_close_callback(
            callbacks, [](nghttp2_session*, int32_t id, uint32_t error, void* user) {
                Response& r = static_cast<Http2SessionTest*>(user)->responses[id];
                r.closed = true;
                r.error = error;
                return 0;
            });
        nghttp2_session_client_new(&client, callbacks, this);
        nghttp2_session_callbacks_del(callbacks);
        nghttp2_submit_settings(client, NGHTTP2_FLAG_NONE, nullptr, 0);
    }

    void TearDown() override
    {
        _handle->onClose();
        _handle.reset();
        nghttp2_session_del(client);
    }

    /// Moves bytes both ways until neither side has anything to say.
    void exchange()
    {
        for (int round = 0; round < 20; ++round) {
            std::string toServer;
            const uint8_t* data;
            ssize_t n;
            while ((n = nghttp2_session_mem_send(client, &data)) > 0)
                toServer.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
            if (!toServer.empty()) _handle->onData(toServer);
            loop.runPosted();
            std::string toClient;
            toClient.swap(connection.out);
            if (!toClient.empty())
                nghttp2_session_mem_recv(client, reinterpret_cast<const uint8_t*>(toClient.data()),
                                         toClient.size());
            if (toServer.empty() && toClient.empty()) return;
        }
    }

    int32_t get(const std::string& path, const std::string& body = "")
    {
        std::vector<nghttp2_nv> nva;
        auto nv = [&nva](const char* name, const std::string& value) {
            nva.push_back(nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name)),
                                     reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())),
                                     strlen(name), value.size(), NGHTTP2_NV_FLAG_NONE});
        };
        static const std::string get = "GET", post = "POST", http = "http", authority = "example.com";
        nv(":method", body.empty() ? get : post);
        nv(":scheme", http);
        nv(":path", path);
        nv(":authority", authority);
        _body = body;
        _bodyOffset = 0;
        nghttp2_data_provider provider{};
        provider.source.ptr = this;
        provider.read_callback = [](nghttp2_session*, int32_t, uint8_t* buffer, size_t length,
                                    uint32_t* flags, nghttp2_data_source* source, void*) -> ssize_t {
            auto& self = *static_cast<Http2SessionTest*>(source->ptr);
            size_t n = std::min(length, self._body.size() - self._bodyOffset);
            std::memcpy(buffer, self._body.data() + self._bodyOffset, n);
            self._bodyOffset += n;
            if (self._bodyOffset == self._body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
            return static_cast<ssize_t>(n);
        };
        return nghttp2_submit_request(client, nullptr, nva.data(), nva.size(),
                                      body.empty() ? nullptr : &provider, nullptr);
    }

    http::UpgradeHandler& handle() { return *_handle; }

    FakeLoop loop;
    FakeConnection connection{loop};
    Handler handler;
    config::ConnectorConfig config;
    nghttp2_session* client = nullptr;
    std::map<int32_t, Response> responses;

private:
    std::unique_ptr<http::UpgradeHandler> _handle;
    std::string _body;
    size_t _bodyOffset = 0;
};

TEST_F(Http2SessionTest, AnInlineStreamIsOneExchange)
{
    int32_t id = get("/a?x=1");
    exchange();
    Response& r = responses[id];
    EXPECT_TRUE(r.closed);
    EXPECT_EQ(r.error, 0u);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "hi /a  example.com"); // :authority became the Host the handler routes by
    EXPECT_EQ(r.headers.count("connection"), 0u) << "RFC 9113 8.2.2";
    EXPECT_EQ(r.headers["content-length"], std::to_string(r.body.size()));
    EXPECT_EQ(r.headers["server"], "Serval");
    EXPECT_EQ(handler.heads, 1);
    EXPECT_EQ(handler.completes, 1);
}

TEST_F(Http2SessionTest, WorkerStreamsHandBackThroughTheLoop)
{
    int32_t a = get("/worker/1", "body");
    exchange(); // get() keeps one body at a time
    int32_t b = get("/worker/2");
    exchange();
    EXPECT_EQ(responses[a].body, "hi /worker/1 body example.com");
    EXPECT_EQ(responses[b].body, "hi /worker/2  example.com");
    EXPECT_EQ(handler.completes, 2);
}

TEST_F(Http2SessionTest, ABodyOverTheLimitIs413)
{
    int32_t id = get("/a", std::string(100, 'x'));
    exchange();
    EXPECT_EQ(responses[id].status, 413);
    EXPECT_EQ(handler.completes, 1);
}

TEST_F(Http2SessionTest, TheIdleTimeoutSendsGoawayAndCloses)
{
    get("/a");
    exchange();
    ASSERT_FALSE(loop.timers.empty());
    loop.clock += 2000 * 1000000ull;
    auto timers = std::move(loop.timers);
    for (auto& timer : timers)
        timer.second();
    EXPECT_TRUE(connection.closed);
    EXPECT_FALSE(connection.out.empty()) << "GOAWAY before the close";
}

TEST_F(Http2SessionTest, DrainSendsGoaway)
{
    get("/a");
    exchange();
    ASSERT_FALSE(connection.closed);
    handle().onDrain(); // as EventLoop::beginDrain calls it through the Connection
    EXPECT_FALSE(connection.out.empty()) << "GOAWAY";
    EXPECT_TRUE(connection.closed) << "no stream open: nothing to wait for";
}

TEST(GlitchBudgetTest, SpendsThenRefills)
{
    http2::GlitchBudget budget(3, 10);
    const uint64_t t0 = 1000000000;
    EXPECT_TRUE(budget.spend(t0));
    EXPECT_TRUE(budget.spend(t0));
    EXPECT_TRUE(budget.spend(t0));
    EXPECT_FALSE(budget.spend(t0)) << "spent";
    EXPECT_TRUE(budget.spend(t0 + 100 * 1000000ull)) << "10 per second: one back after 100 ms";
    EXPECT_FALSE(budget.spend(t0 + 100 * 1000000ull));
    EXPECT_TRUE(budget.spend(t0 + 60ull * 1000000000ull));
    EXPECT_EQ(budget.remaining(), 2u) << "refills up to the capacity, no further";
}

} // namespace
