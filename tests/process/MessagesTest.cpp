// Record payloads and the worker spec (container/process/Messages.h, WorkerSpec.h): what the
// server sends decodes exactly; what a worker sends is refused unless it is well formed.
#include "process/Messages.h"

#include "process/Wire.h"
#include "process/WorkerSpec.h"

#include <gtest/gtest.h>

using namespace serval;
using namespace serval::process;

TEST(MessagesTest, RequestHeadRoundTrips)
{
    http::HttpRequest request;
    request.method = "POST";
    request.target = "/shop/cart?x=1";
    request.path = "/shop/cart";
    request.query = "x=1";
    request.versionMinor = 0;
    request.headers = {{"Host", "example"}, {"X-Empty", ""}};
    request.remoteAddress = "::1";
    request.remotePort = 4711;
    request.localAddress = "127.0.0.1";
    request.localPort = 8080;
    request.secure = true;
    std::string payload;
    encodeRequestHead(request, 12, payload);

    http::HttpRequest decoded;
    int64_t length = 0;
    ASSERT_TRUE(decodeRequestHead(payload, decoded, length));
    EXPECT_EQ(length, 12);
    EXPECT_EQ(decoded.method, "POST");
    EXPECT_EQ(decoded.target, request.target);
    EXPECT_EQ(decoded.path, request.path);
    EXPECT_EQ(decoded.query, "x=1");
    EXPECT_EQ(decoded.versionMinor, 0);
    ASSERT_EQ(decoded.headers.size(), 2u);
    EXPECT_EQ(decoded.headers[1].name, "X-Empty");
    EXPECT_EQ(decoded.remoteAddress, "::1");
    EXPECT_EQ(decoded.remotePort, 4711);
    EXPECT_EQ(decoded.localPort, 8080);
    EXPECT_TRUE(decoded.secure);

    for (size_t cut = 0; cut < payload.size(); ++cut)
        EXPECT_FALSE(decodeRequestHead(std::string_view(payload).substr(0, cut), decoded, length)) << cut;
    EXPECT_FALSE(decodeRequestHead(payload + "x", decoded, length)) << "trailing bytes";
}

TEST(MessagesTest, ResponseHeadRoundTrips)
{
    http::HttpResponse response;
    response.setStatus(404);
    response.addHeader("Content-Type", "text/plain");
    response.addHeader("Set-Cookie", "a=1");
    response.setCloseConnection(true);
    std::string payload;
    encodeResponseHead(response, 99, payload);
    ResponseHead head;
    ASSERT_TRUE(decodeResponseHead(payload, head));
    EXPECT_EQ(head.status, 404);
    EXPECT_EQ(head.contentLength, 99);
    EXPECT_TRUE(head.closeConnection);
    ASSERT_EQ(head.headers.size(), 2u);
    EXPECT_EQ(head.headers[1].value, "a=1");
}

TEST(MessagesTest, AResponseHeadFromAWorkerIsHostileInput)
{
    auto encode = [](int status, const std::string& name, const std::string& value, int64_t length) {
        std::string out;
        WireWriter w(out);
        w.u16(static_cast<uint16_t>(status));
        w.u8(0);
        w.i64(length);
        w.u32(1);
        w.text(name);
        w.text(value);
        return out;
    };
    ResponseHead head;
    EXPECT_TRUE(decodeResponseHead(encode(200, "X-A", "b", 0), head));
    EXPECT_FALSE(decodeResponseHead(encode(200, "X-A", "b\r\nSet-Cookie: x=1", 0), head))
        << "header splitting";
    EXPECT_FALSE(decodeResponseHead(encode(200, "X A", "b", 0), head)) << "not a token";
    EXPECT_FALSE(decodeResponseHead(encode(200, "X-A", std::string("a\0b", 3), 0), head)) << "NUL";
    EXPECT_FALSE(decodeResponseHead(encode(42, "X-A", "b", 0), head)) << "status";
    EXPECT_FALSE(decodeResponseHead(encode(200, "X-A", "b", -2), head)) << "length";
    std::string lying;
    WireWriter w(lying);
    w.u16(200);
    w.u8(0);
    w.i64(0);
    w.u32(4000000000u); // more headers than bytes
    EXPECT_FALSE(decodeResponseHead(lying, head));
}

TEST(MessagesTest, SpecRoundTrips)
{
    WorkerSpec spec;
    spec.host = "localhost";
    spec.name = "shop";
    spec.path = "/shop";
    spec.version = "2";
    spec.docBase = "/srv/work/shop/v2";
    spec.defaultsWebXml = "/srv/conf/web.xml";
    spec.maxBodySize = 123;
    spec.threads = 3;
    spec.logFile = "/srv/logs/serval.log";
    spec.logLevel = util::LogLevel::Warn;
    spec.user = "nobody";
    spec.index = 2;
    spec.channels = 4;
    auto decoded = WorkerSpec::decode(spec.encode());
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->describe(), "/shop##2");
    EXPECT_EQ(decoded->docBase, spec.docBase);
    EXPECT_EQ(decoded->threads, 3u);
    EXPECT_EQ(decoded->logLevel, util::LogLevel::Warn);
    EXPECT_EQ(decoded->user, "nobody");
    EXPECT_EQ(decoded->channels, 4u);
    EXPECT_FALSE(WorkerSpec::decode(spec.encode().substr(1)));
}
