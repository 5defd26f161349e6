#include "connector/websocket/WebSocketHandshake.h"

#include <gtest/gtest.h>

namespace serval::test {
namespace {

using namespace websocket;

http::HttpRequest upgradeRequest()
{
    http::HttpRequest r;
    r.method = "GET";
    r.target = r.path = "/chat";
    r.headers = {{"Host", "server.example.com"},
                 {"Upgrade", "websocket"},
                 {"Connection", "keep-alive, Upgrade"},
                 {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                 {"Sec-WebSocket-Version", "13"}};
    return r;
}

TEST(WebSocketHandshakeTest, AcceptKeyIsTheRfcExample)
{
    EXPECT_EQ(acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketHandshakeTest, AValidRequestGetsA101)
{
    WebSocketConfig config;
    Handshake h = negotiateHandshake(upgradeRequest(), config);
    ASSERT_TRUE(h.accepted()) << h.error;
    http::HttpResponse response;
    writeHandshakeResponse(h, response);
    EXPECT_EQ(response.status(), 101);
    EXPECT_EQ(response.header("Upgrade"), "websocket");
    EXPECT_EQ(response.header("Sec-WebSocket-Accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    EXPECT_FALSE(response.hasHeader("Sec-WebSocket-Extensions"));
}

TEST(WebSocketHandshakeTest, BadRequestsAreRefusedWithTheRightStatus)
{
    WebSocketConfig config;
    auto with = [](const char* name, const char* value) {
        http::HttpRequest r = upgradeRequest();
        for (auto& h : r.headers)
            if (h.name == name) h.value = value;
        return r;
    };
    EXPECT_EQ(negotiateHandshake(with("Sec-WebSocket-Key", "short=="), config).status, 400);
    EXPECT_EQ(negotiateHandshake(with("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ="), config).status, 400);
    EXPECT_EQ(negotiateHandshake(with("Upgrade", "h2c"), config).status, 400);
    EXPECT_EQ(negotiateHandshake(with("Connection", "keep-alive"), config).status, 400);
    Handshake v = negotiateHandshake(with("Sec-WebSocket-Version", "8"), config);
    EXPECT_EQ(v.status, 426);
    http::HttpResponse response;
    writeHandshakeResponse(v, response);
    EXPECT_EQ(response.header("Sec-WebSocket-Version"), "13");
    http::HttpRequest post = upgradeRequest();
    post.method = "POST";
    EXPECT_EQ(negotiateHandshake(post, config).status, 400);
}

TEST(WebSocketHandshakeTest, OriginIsSameOriginByDefaultOrAnAllowList)
{
    WebSocketConfig config;
    http::HttpRequest r = upgradeRequest();
    r.headers.push_back({"Origin", "http://server.example.com"});
    EXPECT_TRUE(negotiateHandshake(r, config).accepted());
    r.headers.back().value = "http://server.example.com:80";
    EXPECT_TRUE(negotiateHandshake(r, config).accepted());
    r.headers.back().value = "https://evil.example";
    EXPECT_EQ(negotiateHandshake(r, config).status, 403);
    r.headers.back().value = "null";
    EXPECT_EQ(negotiateHandshake(r, config).status, 403);
    config.allowedOrigins = {"https://evil.example"};
    r.headers.back().value = "https://evil.example";
    EXPECT_TRUE(negotiateHandshake(r, config).accepted());
    r.headers.back().value = "http://server.example.com"; // an allow-list replaces same-origin
    EXPECT_EQ(negotiateHandshake(r, config).status, 403);
    config.allowedOrigins = {"*"};
    EXPECT_TRUE(negotiateHandshake(r, config).accepted());
}

TEST(WebSocketHandshakeTest, PicksTheServersPreferredSubprotocolTheClientOffers)
{
    WebSocketConfig config;
    config.subprotocols = {"v2.chat", "v1.chat"};
    http::HttpRequest r = upgradeRequest();
    r.headers.push_back({"Sec-WebSocket-Protocol", "v1.chat, v2.chat"});
    EXPECT_EQ(negotiateHandshake(r, config).subprotocol, "v2.chat");
    r.headers.back().value = "other";
    Handshake h = negotiateHandshake(r, config);
    EXPECT_TRUE(h.accepted());
    EXPECT_EQ(h.subprotocol, "");
    r.headers.back().value = "V2.CHAT"; // case-sensitive
    EXPECT_EQ(negotiateHandshake(r, config).subprotocol, "");
}

TEST(WebSocketHandshakeTest, NegotiatesPermessageDeflate)
{
    WebSocketConfig config;
    http::HttpRequest r = upgradeRequest();
    r.headers.push_back({"Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"});
    Handshake h = negotiateHandshake(r, config);
    ASSERT_TRUE(h.deflate);
    http::HttpResponse response;
    writeHandshakeResponse(h, response);
    EXPECT_EQ(response.header("Sec-WebSocket-Extensions"), "permessage-deflate");
}

} // namespace
} // namespace serval::test
