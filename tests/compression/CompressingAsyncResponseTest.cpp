#include "compression/CompressingAsyncResponse.h"

#include "compression/Decode.h"

#include <gtest/gtest.h>
#include <map>

using namespace serval::compression;
using serval::http::WriteStatus;

namespace {

/// Records what reaches the connector.
class FakeAsync final : public serval::http::AsyncResponse
{
public:
    bool setStatus(int s) override
    {
        status = s;
        return true;
    }
    bool setHeader(std::string_view n, std::string_view v) override
    {
        headers[std::string(n)] = std::string(v);
        return true;
    }
    bool addHeader(std::string_view n, std::string_view v) override { return setHeader(n, v); }
    WriteStatus write(std::string_view b) override
    {
        ++writes;
        body.append(b);
        return WriteStatus::Ok;
    }
    bool complete() override
    {
        completed = true;
        return true;
    }
    size_t bufferedAmount() const override { return 0; }
    void setLimits(serval::http::OutputLimits) override {}
    bool clientGone() const override { return false; }
    void onClientGone(std::function<void()>) override {}
    void onWritable(std::function<void()>) override {}

    int status = 200;
    std::map<std::string, std::string> headers;
    std::string body;
    int writes = 0;
    bool completed = false;
};

std::string text(size_t size)
{
    std::string out;
    for (int i = 0; out.size() < size; ++i)
        out += "line " + std::to_string(i) + "\n";
    out.resize(size);
    return out;
}

class CompressingAsyncResponseTest : public ::testing::Test
{
protected:
    std::shared_ptr<CompressingAsyncResponse> make(ContentCoding accepted)
    {
        RequestTraits traits;
        traits.accepted = accepted;
        return std::make_shared<CompressingAsyncResponse>(inner, &settings, traits);
    }
    serval::http::CompressionSettings settings;
    std::shared_ptr<FakeAsync> inner = std::make_shared<FakeAsync>();
    serval::http::HttpResponse left; ///< what service() left
};

TEST_F(CompressingAsyncResponseTest, AForwardedResponseIsCompressedAsItArrives)
{
    auto async = make(ContentCoding::Brotli);
    async->serviceReturned(left);
    async->setStatus(200);
    async->addHeader("Content-Type", "text/html");
    async->addHeader("ETag", "\"e\"");
    const std::string body = text(50000);
    async->expectLength(body.size());
    for (size_t at = 0; at < body.size(); at += 16384)
        EXPECT_EQ(async->write(std::string_view(body).substr(at, 16384)), WriteStatus::Ok);
    EXPECT_TRUE(async->complete());
    EXPECT_TRUE(inner->completed);
    EXPECT_EQ(inner->headers["Content-Encoding"], "br");
    EXPECT_EQ(inner->headers["Vary"], "Accept-Encoding");
    EXPECT_EQ(inner->headers["ETag"], "W/\"e\"");
    EXPECT_EQ(serval::test::unbrotli(inner->body).value_or("?"), body);
    EXPECT_EQ(async->coding(), ContentCoding::Brotli);
}

TEST_F(CompressingAsyncResponseTest, ASmallDeclaredLengthStaysIdentity)
{
    auto async = make(ContentCoding::Gzip);
    async->serviceReturned(left);
    async->addHeader("Content-Type", "application/json");
    async->expectLength(2);
    async->write("{}");
    async->complete();
    EXPECT_EQ(inner->body, "{}");
    EXPECT_EQ(inner->headers.count("Content-Encoding"), 0u);
    EXPECT_EQ(inner->headers.count("Vary"), 0u);
}

TEST_F(CompressingAsyncResponseTest, WritesBeforeServiceReturnsFollowTheBodyServiceLeft)
{
    auto async = make(ContentCoding::Gzip);
    left.setContentType("text/plain");
    left.write("first;");
    async->write("second;");
    EXPECT_EQ(inner->writes, 0) << "held until service() returns";
    async->serviceReturned(left);
    EXPECT_TRUE(left.body().empty()) << "the connector must not send it raw";
    async->write("third");
    async->complete();
    EXPECT_EQ(inner->headers["Content-Encoding"], "gzip");
    EXPECT_EQ(serval::test::gunzip(inner->body).value_or("?"), "first;second;third");
}

TEST_F(CompressingAsyncResponseTest, CompleteBeforeServiceReturnsUsesTheWholeLength)
{
    auto async = make(ContentCoding::Gzip);
    left.setContentType("text/plain");
    async->write("tiny");
    async->complete();
    async->serviceReturned(left);
    EXPECT_TRUE(inner->completed);
    EXPECT_EQ(inner->body, "tiny"); // 4 bytes: below the minimum
}

TEST_F(CompressingAsyncResponseTest, TheOptOutMarkerNeverReachesTheClient)
{
    auto async = make(ContentCoding::Gzip);
    async->serviceReturned(left);
    async->addHeader("Content-Type", "text/html");
    async->addHeader("Content-Encoding", "identity");
    const std::string body = text(10000);
    async->write(body);
    async->complete();
    EXPECT_EQ(inner->body, body);
    EXPECT_EQ(inner->headers.count("Content-Encoding"), 0u);
}

TEST_F(CompressingAsyncResponseTest, AStreamedResponseIsDecodableAfterEachWrite)
{
    auto async = make(ContentCoding::Gzip);
    left.setContentType("text/plain");
    async->serviceReturned(left);
    async->write({});
    async->write("event one\n");
    const size_t afterOne = inner->body.size();
    EXPECT_GT(afterOne, 0u);
    async->write("event two\n");
    async->complete();
    EXPECT_EQ(serval::test::gunzip(inner->body).value_or("?"), "event one\nevent two\n");
}

} // namespace
