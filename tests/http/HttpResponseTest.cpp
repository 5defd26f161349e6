// http::HttpResponse, the response every Connector exchange reuses: header semantics, the
// recycled header strings that keep a steady stream of responses from allocating, reset()
// against commit, and the Content-Length precedence.
#include "http/HttpResponse.h"

#include <gtest/gtest.h>
#include <string>

using serval::http::HttpResponse;

TEST(HttpResponseTest, SetHeaderReplacesEveryFieldOfThatNameAddHeaderKeepsThem)
{
    HttpResponse response;
    response.addHeader("Set-Cookie", "a=1");
    response.addHeader("set-cookie", "b=2");
    EXPECT_EQ(response.headers().size(), 2u);
    EXPECT_EQ(response.header("SET-COOKIE"), "a=1");
    response.setHeader("Set-Cookie", "c=3");
    ASSERT_EQ(response.headers().size(), 1u);
    EXPECT_EQ(response.headers()[0].name, "Set-Cookie"); // the first field keeps its spelling
    EXPECT_EQ(response.header("set-cookie"), "c=3");
    EXPECT_TRUE(response.hasHeader("SET-cookie"));
    response.removeHeader("set-COOKIE");
    EXPECT_FALSE(response.hasHeader("Set-Cookie"));
    EXPECT_EQ(response.header("Set-Cookie"), "");
}

TEST(HttpResponseTest, ClearedHeaderStringsAreReusedByTheNextResponse)
{
    HttpResponse response;
    const std::string etag(100, 'e'); // longer than the small-string buffer
    response.addHeader("ETag", etag);
    const char* storage = response.headers()[0].value.data();
    response.clear();
    EXPECT_TRUE(response.headers().empty());
    response.addHeader("ETag", etag);
    ASSERT_EQ(response.headers().size(), 1u);
    EXPECT_EQ(response.headers()[0].value, etag);
    EXPECT_EQ(response.headers()[0].value.data(), storage); // the same buffer, no allocation
}

TEST(HttpResponseTest, AHugeHeaderIsNotKeptForReuse)
{
    HttpResponse response;
    response.addHeader("X-Huge", std::string(4096, 'h'));
    response.clear();
    response.addHeader("X-Small", "s");
    EXPECT_LT(response.headers()[0].value.capacity(), 4096u);
}

TEST(HttpResponseTest, ResetClearsUntilCommittedClearAlways)
{
    HttpResponse response;
    response.setStatus(404);
    response.setHeader("Content-Type", "text/plain");
    response.write("gone");
    EXPECT_TRUE(response.reset());
    EXPECT_EQ(response.status(), 200);
    EXPECT_TRUE(response.headers().empty());
    EXPECT_TRUE(response.body().empty());

    response.setStatus(201);
    response.markCommitted(false);
    EXPECT_FALSE(response.reset());
    EXPECT_EQ(response.status(), 201); // nothing changes once the head is sent
    response.clear();
    EXPECT_FALSE(response.isCommitted());
    EXPECT_EQ(response.status(), 200);
}

TEST(HttpResponseTest, ContentLengthIsDeclaredThenFileThenBody)
{
    HttpResponse response;
    response.write("12345");
    EXPECT_EQ(response.contentLength(), 5u);
    response.setFileBody(std::make_shared<serval::http::FileBody>(-1), 10, 42);
    EXPECT_TRUE(response.body().empty()); // a file body replaces the buffered one
    EXPECT_EQ(response.contentLength(), 42u);
    response.setContentLength(7);
    EXPECT_EQ(response.contentLength(), 7u);
}
