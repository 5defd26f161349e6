#include "compression/ResponseCompression.h"

#include "compression/Decode.h"
#include "compression/StreamingCompressor.h"
#include "http/HttpHandler.h"

#include <gtest/gtest.h>

using namespace serval::compression;
using serval::http::CompressionSettings;
using serval::http::Header;

namespace {

std::string html(size_t size)
{
    std::string out;
    for (int i = 0; out.size() < size; ++i)
        out += "<li>item " + std::to_string(i) + "</li>\n";
    out.resize(size);
    return out;
}

/// One row of the negotiation table: what the response and request are, and what must happen.
struct Row
{
    const char* name;
    const char* contentType;
    int64_t length;
    const char* acceptEncoding;
    bool range;
    int status;
    const char* contentEncoding; ///< already on the response ("" none)
    bool vary;
    ContentCoding coding;
};

const Row kTable[] = {
    {"html above the minimum, br accepted", "text/html; charset=utf-8", 4096, "gzip, br", false, 200, "",
     true, ContentCoding::Brotli},
    {"gzip only", "text/css", 4096, "gzip", false, 200, "", true, ContentCoding::Gzip},
    {"json", "application/json", 4096, "gzip", false, 200, "", true, ContentCoding::Gzip},
    {"svg", "image/svg+xml", 4096, "br", false, 200, "", true, ContentCoding::Brotli},
    {"unknown length (streamed)", "text/plain", -1, "gzip", false, 200, "", true, ContentCoding::Gzip},
    {"no Accept-Encoding: identity, Vary still", "text/html", 4096, "", false, 200, "", true,
     ContentCoding::Identity},
    {"identity;q=0 with nothing else", "text/html", 4096, "identity;q=0", false, 200, "", true,
     ContentCoding::Identity},
    {"below the minimum: no Vary", "text/html", 2047, "gzip", false, 200, "", false, ContentCoding::Identity},
    {"at the minimum", "text/html", 2048, "gzip", false, 200, "", true, ContentCoding::Gzip},
    {"png is not compressible", "image/png", 100000, "gzip", false, 200, "", false, ContentCoding::Identity},
    {"no Content-Type", "", 100000, "gzip", false, 200, "", false, ContentCoding::Identity},
    {"Range request", "text/html", 4096, "gzip", true, 200, "", true, ContentCoding::Identity},
    {"206", "text/html", 4096, "gzip", false, 206, "", false, ContentCoding::Identity},
    {"304", "text/html", 4096, "gzip", false, 304, "", false, ContentCoding::Identity},
    {"204", "text/html", 4096, "gzip", false, 204, "", false, ContentCoding::Identity},
    {"404 page", "text/html", 4096, "gzip", false, 404, "", true, ContentCoding::Gzip},
    {"already gzip", "text/html", 4096, "gzip", false, 200, "gzip", false, ContentCoding::Identity},
    {"the app's opt-out", "text/html", 4096, "gzip", false, 200, "identity", false, ContentCoding::Identity},
};

TEST(ResponseCompressionTest, DecisionTable)
{
    CompressionSettings settings;
    for (const Row& row : kTable) {
        std::vector<Header> headers;
        if (*row.contentType) headers.push_back({"Content-Type", row.contentType});
        if (*row.contentEncoding) headers.push_back({"Content-Encoding", row.contentEncoding});
        RequestTraits traits;
        traits.accepted = ContentCoding::Identity;
        if (std::string_view(row.acceptEncoding) == "gzip, br" ||
            std::string_view(row.acceptEncoding) == "br")
            traits.accepted = ContentCoding::Brotli;
        else if (std::string_view(row.acceptEncoding) == "gzip")
            traits.accepted = ContentCoding::Gzip;
        traits.range = row.range;
        Decision d = decide(&settings, traits, row.status, headers, row.length);
        EXPECT_EQ(d.vary, row.vary) << row.name;
        EXPECT_EQ(d.coding, row.coding) << row.name;
        EXPECT_EQ(d.dropIdentityMarker, std::string_view(row.contentEncoding) == "identity") << row.name;
    }
}

TEST(ResponseCompressionTest, OffForceAndNoTransform)
{
    RequestTraits gzip;
    gzip.accepted = ContentCoding::Gzip;
    std::vector<Header> png = {{"Content-Type", "image/png"}};
    CompressionSettings settings;
    settings.mode = CompressionSettings::Mode::Off;
    EXPECT_FALSE(decide(&settings, gzip, 200, {{"Content-Type", "text/html"}}, 100000).vary);
    EXPECT_FALSE(decide(nullptr, gzip, 200, {{"Content-Type", "text/html"}}, 100000).vary);
    settings.mode = CompressionSettings::Mode::Force;
    EXPECT_EQ(decide(&settings, gzip, 200, png, 10).coding, ContentCoding::Gzip);
    settings.mode = CompressionSettings::Mode::On;
    EXPECT_FALSE(decide(&settings, gzip, 200,
                        {{"Content-Type", "text/html"}, {"Cache-Control", "public, no-transform"}}, 100000)
                     .vary);
    settings.mimeTypes = {"application/wasm"};
    EXPECT_EQ(decide(&settings, gzip, 200, {{"Content-Type", "application/wasm"}}, 100000).coding,
              ContentCoding::Gzip);
    EXPECT_FALSE(decide(&settings, gzip, 200, {{"Content-Type", "text/html"}}, 100000).vary);
}

TEST(ResponseCompressionTest, MediaTypesMatchWithoutParametersAndByWholeType)
{
    CompressionSettings settings;
    EXPECT_TRUE(isCompressibleType(settings, "text/html"));
    EXPECT_TRUE(isCompressibleType(settings, "TEXT/Plain ; charset=utf-8"));
    EXPECT_TRUE(isCompressibleType(settings, "application/javascript"));
    EXPECT_FALSE(isCompressibleType(settings, "application/json-seq"));
    EXPECT_FALSE(isCompressibleType(settings, "textual/html"));
    EXPECT_FALSE(isCompressibleType(settings, "text"));
    EXPECT_FALSE(isCompressibleType(settings, ""));
}

TEST(ResponseCompressionTest, EtagAndVaryHelpers)
{
    EXPECT_EQ(weakEtag("\"abc\""), "W/\"abc\"");
    EXPECT_EQ(weakEtag("W/\"abc\""), "W/\"abc\"");
    EXPECT_EQ(weakEtag(""), "");
    EXPECT_EQ(varyWithAcceptEncoding(""), "Accept-Encoding");
    EXPECT_EQ(varyWithAcceptEncoding("Cookie"), "Cookie, Accept-Encoding");
    EXPECT_EQ(varyWithAcceptEncoding("cookie, accept-encoding"), "cookie, accept-encoding");
    EXPECT_EQ(varyWithAcceptEncoding("*"), "*");
}

class BufferedTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        exchange.compression = &settings;
        exchange.request.method = "GET";
    }
    void accept(const char* value) { exchange.request.headers.push_back({"Accept-Encoding", value}); }

    CompressionSettings settings;
    serval::http::HttpExchange exchange;
};

TEST_F(BufferedTest, ALargePageIsCompressedWithItsHeaders)
{
    accept("gzip");
    const std::string body = html(64 * 1024);
    exchange.response.setContentType("text/html");
    exchange.response.setHeader("ETag", "\"v1\"");
    exchange.response.write(body);
    compressBuffered(exchange);
    EXPECT_EQ(exchange.response.header("Content-Encoding"), "gzip");
    EXPECT_EQ(exchange.response.header("Vary"), "Accept-Encoding");
    EXPECT_EQ(exchange.response.header("ETag"), "W/\"v1\"");
    EXPECT_EQ(exchange.response.declaredContentLength(), -1);
    EXPECT_EQ(serval::test::gunzip(exchange.response.body()).value_or("?"), body);
}

TEST_F(BufferedTest, ASmallBodyIsUntouched)
{
    accept("gzip, br");
    exchange.response.setContentType("text/html");
    exchange.response.write("Hello, World!");
    compressBuffered(exchange);
    EXPECT_EQ(exchange.response.body(), "Hello, World!");
    EXPECT_EQ(exchange.response.headers().size(), 1u);
}

TEST_F(BufferedTest, TheOptOutMarkerIsRemovedAndNothingCompressed)
{
    accept("br");
    const std::string body = html(8192);
    exchange.response.setContentType("text/html");
    exchange.response.setHeader("Content-Encoding", "identity");
    exchange.response.write(body);
    compressBuffered(exchange);
    EXPECT_FALSE(exchange.response.hasHeader("Content-Encoding"));
    EXPECT_FALSE(exchange.response.hasHeader("Vary"));
    EXPECT_EQ(exchange.response.body(), body);
    // Small bodies lose the marker too.
    exchange.response.clear();
    exchange.response.setHeader("Content-Encoding", "identity");
    exchange.response.write("x");
    compressBuffered(exchange);
    EXPECT_FALSE(exchange.response.hasHeader("Content-Encoding"));
}

TEST_F(BufferedTest, HeadHasTheGetsHeadersAndExactLength)
{
    accept("br");
    const std::string body = html(8192);
    exchange.response.setContentType("text/html");
    exchange.response.write(body);
    compressBuffered(exchange);
    const std::string get = exchange.response.body();

    exchange.response.clear();
    exchange.request.method = "HEAD";
    exchange.response.setHeadOnly(true);
    exchange.response.setContentType("text/html");
    exchange.response.write(body);
    compressBuffered(exchange);
    EXPECT_EQ(exchange.response.header("Content-Encoding"), "br");
    EXPECT_EQ(exchange.response.header("Vary"), "Accept-Encoding");
    EXPECT_EQ(exchange.response.contentLength(), get.size());

    // Only a declared length (a forwarded HEAD): headers, and no Content-Length at all.
    exchange.response.clear();
    exchange.response.setHeadOnly(true);
    exchange.response.setContentType("text/html");
    exchange.response.setContentLength(8192);
    compressBuffered(exchange);
    EXPECT_EQ(exchange.response.header("Content-Encoding"), "br");
    EXPECT_TRUE(exchange.response.lengthUnknown());
}

TEST_F(BufferedTest, FinalCodingAndFileBodiesAreLeftAlone)
{
    accept("gzip");
    const std::string body = html(8192);
    exchange.response.setContentType("text/html");
    exchange.response.write(body);
    exchange.response.setContentCodingFinal(true);
    compressBuffered(exchange);
    EXPECT_EQ(exchange.response.body(), body);
    EXPECT_FALSE(exchange.response.hasHeader("Vary"));
}

} // namespace

namespace {

/// A sink that frames nothing: what the connector would send, head and body bytes.
class RecordingSink final : public serval::http::ResponseSink
{
public:
    bool sendHead(const serval::http::HttpResponse&, bool isChunked) noexcept override
    {
        chunked = isChunked;
        return true;
    }
    bool sendBody(std::string_view data) noexcept override
    {
        body.append(data);
        ++pieces;
        return true;
    }
    bool chunked = false;
    std::string body;
    int pieces = 0;
};

TEST_F(BufferedTest, AFlushedBodyIsCompressedPieceByPieceAndEndedByFinish)
{
    accept("gzip");
    serval::compression::StreamingCompressor streaming;
    RecordingSink sink;
    exchange.response.setSink(&sink);
    streaming.arm(exchange);
    exchange.response.setBodyEncoder(&streaming);
    exchange.response.setContentType("text/html");
    exchange.response.setHeader("ETag", "\"s\"");
    const std::string body = html(30000);
    exchange.response.write(body.substr(0, 10000));
    ASSERT_TRUE(exchange.response.flush());
    EXPECT_TRUE(sink.chunked);
    EXPECT_EQ(exchange.response.header("Content-Encoding"), "gzip");
    EXPECT_EQ(exchange.response.header("ETag"), "W/\"s\"");
    EXPECT_EQ(exchange.response.header("Vary"), "Accept-Encoding");
    const size_t first = sink.body.size();
    EXPECT_GT(first, 0u) << "a sync flush sends what the client can decode now";
    exchange.response.write(body.substr(10000));
    streaming.finish(exchange.response);    // Engine::service, as service() returns
    ASSERT_TRUE(exchange.response.flush()); // the connector's last flush
    EXPECT_EQ(serval::test::gunzip(sink.body).value_or("?"), body);
}

TEST_F(BufferedTest, AFlushedSmallDeclaredBodyStaysIdentity)
{
    accept("gzip");
    serval::compression::StreamingCompressor streaming;
    RecordingSink sink;
    exchange.response.setSink(&sink);
    streaming.arm(exchange);
    exchange.response.setBodyEncoder(&streaming);
    exchange.response.setContentType("text/html");
    exchange.response.setContentLength(5);
    exchange.response.write("hello");
    ASSERT_TRUE(exchange.response.flush());
    streaming.finish(exchange.response);
    EXPECT_FALSE(sink.chunked);
    EXPECT_EQ(sink.body, "hello");
    EXPECT_FALSE(exchange.response.hasHeader("Content-Encoding"));
}

} // namespace
