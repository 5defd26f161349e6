// A WebSocket endpoint mapped in a Context: the upgrade request runs the Context's filter
// chain first (an authentication filter decides), then the servlet hands the connection to a
// WebSocketSession. Real Engine, real Connector, real sockets.
#include "core/WebSocketUpgrade.h"

#include "LiveEngine.h"
#include "connector/websocket/WebSocket.h"
#include "connector/websocket/WebSocketClient.h"
#include "core/Request.h"
#include "core/Response.h"
#include "support/ServalProcess.h"

#include <gtest/gtest.h>

using namespace serval;
using namespace std::chrono_literals;

namespace {

/// Answers 401 unless the request carries "Authorization: Bearer let-me-in".
class BearerFilter : public core::Filter
{
public:
    core::ServiceStatus doFilter(core::Request& request, core::Response& response,
                                 core::FilterChain& chain) override
    {
        if (request.http().header("Authorization") != "Bearer let-me-in") {
            response.sendError(401);
            return {};
        }
        return chain.doFilter(request, response);
    }
};

class UpperEcho final : public websocket::WebSocketEndpoint
{
public:
    void onOpen(const std::shared_ptr<websocket::WebSocket>& socket) noexcept override { _socket = socket; }
    void onMessage(websocket::MessageType, std::string_view data, bool) noexcept override
    {
        std::string out(data);
        for (char& c : out)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        _socket->sendText(out);
    }

private:
    std::shared_ptr<websocket::WebSocket> _socket;
};

/// The servlet an app maps at /chat: its config comes from init-params.
class ChatServlet : public core::Servlet
{
public:
    void init(const core::ServletConfig& config) override
    {
        _config = core::webSocketConfig(config.initParams);
    }
    core::ServiceStatus service(core::Request& request, core::Response& response) override
    {
        core::upgradeToWebSocket(request, response, _config, std::make_unique<UpperEcho>());
        return {};
    }

private:
    websocket::WebSocketConfig _config;
};

struct WebSocketUpgradeTest : ::testing::Test
{
    test::LiveEngine live{[](core::Context& context) {
        context.addFilter("auth", std::make_unique<BearerFilter>(), {"/*"});
        context.addServlet(
            "chat", std::make_unique<ChatServlet>(), {"/chat"},
            {{"websocket.allowedOrigins", "https://chat.example"}, {"websocket.maxMessageSize", "64"}});
    }};
};

TEST_F(WebSocketUpgradeTest, TheAuthenticationFilterDecidesBeforeTheUpgrade)
{
    test::WebSocketClient refused;
    EXPECT_FALSE(refused.open(live.port(), "/app/chat"));
    ASSERT_TRUE(refused.reply);
    EXPECT_EQ(refused.reply->status, 401);

    test::WebSocketClient c;
    ASSERT_TRUE(c.open(live.port(), "/app/chat", "Authorization: Bearer let-me-in\r\n"));
    ASSERT_TRUE(c.sendText("hello"));
    auto f = c.read();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->payload, "HELLO");
}

TEST_F(WebSocketUpgradeTest, InitParamsConfigureTheEndpoint)
{
    test::WebSocketClient evil;
    EXPECT_FALSE(evil.open(live.port(), "/app/chat",
                           "Authorization: Bearer let-me-in\r\nOrigin: https://evil.example\r\n"));
    ASSERT_TRUE(evil.reply);
    EXPECT_EQ(evil.reply->status, 403);

    test::WebSocketClient c;
    ASSERT_TRUE(c.open(live.port(), "/app/chat",
                       "Authorization: Bearer let-me-in\r\nOrigin: https://chat.example\r\n"));
    ASSERT_TRUE(c.sendText(std::string(65, 'x'))); // websocket.maxMessageSize = 64
    auto f = c.read();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->opcode, 0x8);
    EXPECT_EQ(f->closeCode(), 1009);
}

TEST_F(WebSocketUpgradeTest, ANonUpgradeRequestToTheEndpointIs400)
{
    test::RawConnection raw;
    ASSERT_TRUE(raw.connect("127.0.0.1", live.port()));
    ASSERT_TRUE(
        raw.send("GET /app/chat HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer let-me-in\r\n\r\n"));
    auto reply = raw.readResponse();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 400);
}

TEST(WebSocketConfigTest, InitParamsAreValidatedWithTheirNames)
{
    EXPECT_EQ(core::webSocketConfig({{"websocket.maxMessageSize", "4096"}}).maxMessageSize, 4096u);
    EXPECT_EQ(core::webSocketConfig({{"websocket.subprotocols", "a, b"}}).subprotocols,
              (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(core::webSocketConfig({{"other", "x"}}).maxMessageSize,
              websocket::WebSocketConfig{}.maxMessageSize);
    try {
        core::webSocketConfig({{"websocket.maxMesageSize", "1"}});
        FAIL();
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("websocket.maxMesageSize"), std::string::npos);
    }
    EXPECT_THROW(core::webSocketConfig({{"websocket.idleTimeout", "soon"}}), std::invalid_argument);
    EXPECT_THROW(core::webSocketConfig({{"websocket.partialMessages", "yes"}}), std::invalid_argument);
}

} // namespace
