#include "core/Request.h"

#include "core/Context.h"
#include "core/FilterChain.h"
#include "core/Response.h"
#include "core/Servlet.h"

#include <gtest/gtest.h>
#include <stdexcept>

using namespace serval;

namespace {

struct RequestFixture : ::testing::Test
{
    http::HttpExchange exchange;
    core::Context context{core::ContextSpec{}, core::ContextServices{}};
    core::Request request{exchange, context};
};

} // namespace

TEST_F(RequestFixture, ParametersFromQueryStringDecodedInOrder)
{
    exchange.request.method = "GET";
    exchange.request.query = "a=1&b=x+y&c=%C3%A9&a=2&empty=&novalue&=skip&bad=%zz";
    const auto& p = request.parameters();
    ASSERT_EQ(p.size(), 6u);
    EXPECT_EQ(p[0], (std::pair<std::string, std::string>{"a", "1"}));
    EXPECT_EQ(p[1].second, "x y");
    EXPECT_EQ(p[2].second, "\xC3\xA9");
    EXPECT_EQ(p[3], (std::pair<std::string, std::string>{"a", "2"}));
    EXPECT_EQ(p[4].first, "empty");
    ASSERT_NE(request.parameter("a"), nullptr);
    EXPECT_EQ(*request.parameter("a"), "1");
    EXPECT_EQ(request.parameter("bad"), nullptr);
    ASSERT_NE(request.parameter("novalue"), nullptr); // "name" alone is a parameter with value ""
    EXPECT_EQ(*request.parameter("novalue"), "");
}

TEST_F(RequestFixture, ParametersFromUrlEncodedPostBodyAfterQuery)
{
    exchange.request.method = "POST";
    exchange.request.query = "q=1";
    exchange.request.headers.push_back({"Content-Type", "Application/X-WWW-Form-Urlencoded; charset=UTF-8"});
    exchange.request.body = "name=J%26J&msg=hi+there";
    const auto& p = request.parameters();
    ASSERT_EQ(p.size(), 3u);
    EXPECT_EQ(p[0].first, "q");
    EXPECT_EQ(*request.parameter("name"), "J&J");
    EXPECT_EQ(*request.parameter("msg"), "hi there");
}

TEST_F(RequestFixture, BodyOfOtherTypesIsNotParsedAsParameters)
{
    exchange.request.method = "POST";
    exchange.request.headers.push_back({"Content-Type", "application/json"});
    exchange.request.body = "a=1";
    EXPECT_TRUE(request.parameters().empty());
}

TEST_F(RequestFixture, CookiesFromSeveralHeadersQuotedValuesUnwrapped)
{
    exchange.request.headers.push_back({"Cookie", "a=1; b=\"two\";  c = 3"});
    exchange.request.headers.push_back({"cookie", "d=4; junk; =x"});
    const auto& c = request.cookies();
    ASSERT_EQ(c.size(), 4u);
    EXPECT_EQ(*request.cookie("b"), "two");
    EXPECT_EQ(*request.cookie("c"), "3");
    EXPECT_EQ(*request.cookie("d"), "4");
    EXPECT_EQ(request.cookie("junk"), nullptr);
}

TEST_F(RequestFixture, AttributesSetReplaceRemove)
{
    EXPECT_EQ(request.attribute("x"), nullptr);
    request.setAttribute("x", "1");
    request.setAttribute("x", "2");
    EXPECT_EQ(*request.attribute("x"), "2");
    request.removeAttribute("x");
    EXPECT_EQ(request.attribute("x"), nullptr);
}

TEST_F(RequestFixture, ReadBodyStreamsThenReturnsZero)
{
    exchange.request.body = "hello world";
    char buffer[4];
    std::string all;
    size_t n;
    while ((n = request.readBody(buffer, sizeof buffer)) > 0)
        all.append(buffer, n);
    EXPECT_EQ(all, "hello world");
    EXPECT_EQ(request.readBody(buffer, sizeof buffer), 0u);
}

TEST_F(RequestFixture, ProtocolFollowsVersion)
{
    EXPECT_EQ(request.protocol(), "HTTP/1.1");
    exchange.request.versionMinor = 0;
    EXPECT_EQ(request.protocol(), "HTTP/1.0");
}

TEST(ResponseTest, AddCookieWritesEveryAttribute)
{
    http::HttpExchange exchange;
    core::Response response(exchange);
    core::Cookie cookie;
    cookie.name = "SID";
    cookie.value = "abc";
    cookie.path = "/shop";
    cookie.maxAge = 0;
    cookie.httpOnly = true;
    cookie.secure = true;
    cookie.sameSite = "Lax";
    response.addCookie(cookie);
    EXPECT_EQ(exchange.response.header("Set-Cookie"), "SID=abc; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 "
                                                      "GMT; Path=/shop; Secure; HttpOnly; SameSite=Lax");
}

TEST(ResponseTest, AddCookieRefusesHeaderInjection)
{
    http::HttpExchange exchange;
    core::Response response(exchange);
    core::Cookie cookie;
    cookie.name = "a";
    cookie.value = "x\r\nSet-Cookie: evil=1";
    EXPECT_THROW(response.addCookie(cookie), std::invalid_argument);
    cookie.value = "ok";
    cookie.path = "/;Domain=evil";
    EXPECT_THROW(response.addCookie(cookie), std::invalid_argument);
    cookie.name = "bad name";
    EXPECT_THROW(response.addCookie(cookie), std::invalid_argument);
    EXPECT_FALSE(exchange.response.hasHeader("Set-Cookie"));
}

TEST(ResponseTest, SendErrorClearsAndMarks)
{
    http::HttpExchange exchange;
    core::Response response(exchange);
    response.setHeader("X-A", "1");
    response.write("partial");
    EXPECT_TRUE(response.sendError(404, "no such page"));
    EXPECT_EQ(response.status(), 404);
    EXPECT_TRUE(response.isError());
    EXPECT_EQ(response.errorMessage(), "no such page");
    EXPECT_TRUE(exchange.response.body().empty());
    EXPECT_FALSE(exchange.response.hasHeader("X-A"));
}

TEST(ResponseTest, SendErrorAfterCommitChangesNothing)
{
    http::HttpExchange exchange;
    core::Response response(exchange);
    exchange.response.markCommitted(true);
    EXPECT_FALSE(response.sendError(500));
    EXPECT_FALSE(response.isError());
    EXPECT_EQ(response.status(), 200);
}

TEST(ResponseTest, SendRedirectSetsLocationAndRefusesLineBreaks)
{
    http::HttpExchange exchange;
    core::Response response(exchange);
    EXPECT_TRUE(response.sendRedirect("/forms/done?x=1"));
    EXPECT_EQ(response.status(), 302);
    EXPECT_EQ(exchange.response.header("Location"), "/forms/done?x=1");
    EXPECT_THROW(response.sendRedirect("/a\r\nX: y"), std::invalid_argument);
}

namespace {

struct Recorder : core::Filter, core::Servlet
{
    std::string* trace;
    std::string tag;
    bool stop = false;
    Recorder(std::string* t, std::string g, bool s = false) : trace(t), tag(std::move(g)), stop(s) {}
    core::ServiceStatus doFilter(core::Request& rq, core::Response& rs, core::FilterChain& chain) override
    {
        *trace += tag + ">";
        core::ServiceStatus status = stop ? core::ServiceStatus() : chain.doFilter(rq, rs);
        *trace += "<" + tag;
        return status;
    }
    core::ServiceStatus service(core::Request&, core::Response&) override
    {
        *trace += "[" + tag + "]";
        return {};
    }
};

} // namespace

TEST_F(RequestFixture, FilterChainRunsFiltersInOrderThenServlet)
{
    std::string trace;
    core::Response response(exchange);
    Recorder f1(&trace, "f1"), f2(&trace, "f2"), servlet(&trace, "s");
    core::FilterSteps filters{core::FilterStep(&f1), core::FilterStep(&f2)};
    core::FilterChain chain(filters, "/", &servlet);
    EXPECT_TRUE(chain.doFilter(request, response).ok());
    EXPECT_EQ(trace, "f1>f2>[s]<f2<f1");
}

TEST_F(RequestFixture, FilterThatDoesNotContinueStopsTheChain)
{
    std::string trace;
    core::Response response(exchange);
    Recorder f1(&trace, "f1", true), servlet(&trace, "s");
    core::FilterSteps filters{core::FilterStep(&f1)};
    core::FilterChain chain(filters, "/", &servlet);
    EXPECT_TRUE(chain.doFilter(request, response).ok());
    EXPECT_EQ(trace, "f1><f1");
}
