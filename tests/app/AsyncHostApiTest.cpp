// The ABI 1.2 async + WebSocket block's host functions (serval/abi.h), called the way an
// app's on_service would call them, through a real Engine and Connector.
#include "app/AsyncHostApi.h"

#include "app/HostApi.h"
#include "connector/websocket/WebSocketClient.h"
#include "core/LiveEngine.h"
#include "support/ServalProcess.h"

#include <gtest/gtest.h>
#include <thread>

using namespace serval;
using namespace std::chrono_literals;

namespace {

const serval_host_api_t& api()
{
    return app::hostApi();
}

std::atomic<int> g_closes{0};
std::atomic<int> g_releases{0};
std::atomic<int> g_secondComplete{-1}; ///< what a second async_complete returned
std::atomic<int> g_lateHeader{-1};     ///< what async_set_header returned after the end

// A C endpoint: echoes upper-cased text, counts closes.
void onMessage(void*, serval_websocket_t* socket, serval_str_t data, bool binary, bool)
{
    std::string out(data.ptr, data.len);
    for (char& c : out)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    api().websocket_send(socket, serval_str_t{out.data(), out.size()}, binary);
}
void onClose(void*, serval_websocket_t*, uint16_t, serval_str_t)
{
    ++g_closes;
}
const serval_websocket_endpoint_t kEndpoint = {
    sizeof(serval_websocket_endpoint_t), SERVAL_ABI_MAJOR, 1, nullptr, onMessage, nullptr, nullptr, onClose};

void onAsyncRelease(void*)
{
    ++g_releases;
}
const serval_async_listener_t kListener = {
    sizeof(serval_async_listener_t), SERVAL_ABI_MAJOR, 1, nullptr, nullptr, onAsyncRelease};

/// What a C app's on_service does, as a core::Servlet (the adapter's handle on the stack).
class AbiServlet : public core::Servlet
{
public:
    std::vector<std::thread> threads;
    core::ServiceStatus service(core::Request& request, core::Response& response) override
    {
        serval_request_t handle{&request, nullptr};
        if (request.http().path == "/app/ws") {
            api().request_upgrade_websocket(&handle, &kEndpoint, nullptr);
            return {};
        }
        serval_async_t* async = nullptr;
        if (api().request_start_async(&handle, 5000, &kListener, nullptr, &async) != SERVAL_OK) {
            response.sendError(500);
            return {};
        }
        threads.emplace_back([async] {
            api().async_set_header(async, serval_str_t{"X-Async", 7}, serval_str_t{"yes", 3});
            api().async_write(async, serval_str_t{"later", 5});
            api().async_complete(async);
            g_secondComplete = api().async_complete(async);
            g_lateHeader = api().async_set_header(async, serval_str_t{"X-Late", 6}, serval_str_t{"no", 2});
            api().async_release(async);
        });
        return {};
    }
};

TEST(AsyncHostApiTest, AWebSocketEndpointAndAnAsyncResponseThroughTheTable)
{
    AbiServlet* abi = nullptr;
    test::LiveEngine live([&abi](core::Context& context) {
        auto servlet = std::make_unique<AbiServlet>();
        abi = servlet.get();
        context.addServlet("abi", std::move(servlet), {"/*"}, {{"websocket.maxMessageSize", "1024"}});
    });
    {
        test::WebSocketClient c;
        ASSERT_TRUE(c.open(live.port(), "/app/ws"));
        ASSERT_TRUE(c.sendText("shout"));
        auto f = c.read();
        ASSERT_TRUE(f);
        EXPECT_EQ(f->payload, "SHOUT");
        ASSERT_TRUE(c.sendText(std::string(2000, 'x'))); // over websocket.maxMessageSize
        f = c.read();
        ASSERT_TRUE(f);
        EXPECT_EQ(f->closeCode(), 1009);
        EXPECT_TRUE(test::eventually([] { return g_closes.load() == 1; }, 5s));
    }
    {
        test::RawConnection c;
        ASSERT_TRUE(c.connect("127.0.0.1", live.port()));
        ASSERT_TRUE(c.send("GET /app/async HTTP/1.1\r\nHost: localhost\r\n\r\n"));
        auto reply = c.readResponse();
        ASSERT_TRUE(reply);
        EXPECT_EQ(reply->body, "later");
        EXPECT_EQ(reply->header("X-Async"), "yes");
        EXPECT_TRUE(test::eventually([] { return g_releases.load() == 1; }, 5s));
        // The host's release can come before the app's thread tried its second complete: the
        // client has its answer after the first one.
        EXPECT_TRUE(test::eventually([] { return g_lateHeader.load() != -1; }, 5s));
        EXPECT_EQ(g_secondComplete.load(), SERVAL_ASYNC_ENDED);
        EXPECT_EQ(g_lateHeader.load(), SERVAL_ASYNC_ENDED);
    }
    live.stop();
    for (auto& t : abi->threads)
        t.join();
}

} // namespace
