// The SDK helpers that need no host: HTML escaping and templates, base64url, constant-time
// comparison, Accept negotiation, number parsing, JSON content types. (What goes through the
// host is served end to end by the helpers fixture in SdkEndToEndTest.)
#include <gtest/gtest.h>
#include <serval/html.hpp>
#include <serval/json.hpp>
#include <serval/security.hpp>

using namespace serval;

TEST(SdkHelpersTest, EscapeCoversContentAndQuotedAttributes)
{
    EXPECT_EQ(html::escape("<a href=\"x\">Tom & Jerry's</a>"),
              "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
    EXPECT_EQ(html::escape(""), "");
}

TEST(SdkHelpersTest, TemplateEscapesValuesAndInsertsOnlySafeMarkup)
{
    html::Template t("<p title=\"{{title}}\">{{body}}</p>{{count}}{{title}}");
    EXPECT_EQ(t.render({{"title", "\"><script>"}, {"body", html::Safe("<b>ok</b>")}, {"count", 3}}),
              "<p title=\"&quot;&gt;&lt;script&gt;\"><b>ok</b></p>3&quot;&gt;&lt;script&gt;");
    EXPECT_EQ(html::Template("no placeholders").render({}), "no placeholders");
    EXPECT_THROW(t.render({{"title", "x"}, {"body", "y"}}), std::invalid_argument); // count missing
    EXPECT_EQ(html::Template("{{a}}").render({{"a", 1}, {"unused", 2}}),
              "1"); // one set of values, many templates
    EXPECT_THROW(html::Template("{{open"), std::invalid_argument);
    EXPECT_THROW(html::Template("{{}}"), std::invalid_argument);
    EXPECT_THROW(html::Template("{{a b}}"), std::invalid_argument);
    EXPECT_THROW(html::Template::load("/nonexistent/template.html"), std::runtime_error);
}

TEST(SdkHelpersTest, Base64UrlRoundTripsAndRefusesWhatItDidNotWrite)
{
    for (std::string bytes : {std::string(), std::string("f"), std::string("fo"), std::string("foo"),
                              std::string("\xff\xfe\x00\x01", 4), std::string(100, '\x80')}) {
        std::string text = security::base64UrlEncode(bytes);
        EXPECT_EQ(text.find_first_of("+/="), std::string::npos);
        EXPECT_EQ(security::base64UrlDecode(text), bytes);
    }
    EXPECT_EQ(security::base64UrlEncode("foob"), "Zm9vYg");
    EXPECT_EQ(security::base64UrlDecode("Zm9vYh"), std::nullopt); // stray low bits
    EXPECT_EQ(security::base64UrlDecode("Zm9v+g"), std::nullopt);
    EXPECT_EQ(security::base64UrlDecode("Z"), std::nullopt);
}

TEST(SdkHelpersTest, ConstantTimeEqualsIsEquality)
{
    EXPECT_TRUE(security::constantTimeEquals("abc", "abc"));
    EXPECT_FALSE(security::constantTimeEquals("abc", "abd"));
    EXPECT_FALSE(security::constantTimeEquals("abc", "ab"));
    EXPECT_TRUE(security::constantTimeEquals("", ""));
}

TEST(SdkHelpersTest, AcceptQualityTakesTheMostSpecificRange)
{
    using detail::acceptQuality;
    EXPECT_EQ(acceptQuality(std::nullopt, "application/json"), 1.0);
    EXPECT_EQ(acceptQuality("application/json", "application/json"), 1.0);
    EXPECT_EQ(acceptQuality("text/html", "application/json"), 0.0);
    EXPECT_EQ(acceptQuality("text/html,application/xhtml+xml,*/*;q=0.8", "application/json"), 0.8);
    EXPECT_EQ(acceptQuality("application/*;q=0.5, */*;q=0.1", "application/json"), 0.5);
    EXPECT_EQ(acceptQuality("*/*, application/json;q=0", "application/json"), 0.0);
    EXPECT_EQ(acceptQuality("Application/JSON", "application/json"), 1.0);
    EXPECT_EQ(acceptQuality("", "application/json"), 0.0);
}

TEST(SdkHelpersTest, NumbersParseWholeOrNotAtAll)
{
    int i = 0;
    EXPECT_TRUE(detail::parseNumber("42", i));
    EXPECT_EQ(i, 42);
    EXPECT_TRUE(detail::parseNumber("-7", i));
    EXPECT_FALSE(detail::parseNumber("42x", i));
    EXPECT_FALSE(detail::parseNumber(" 42", i));
    EXPECT_FALSE(detail::parseNumber("99999999999", i)); // out of range
    EXPECT_FALSE(detail::parseNumber("", i));
    double d = 0;
    EXPECT_TRUE(detail::parseNumber("0.25", d));
    EXPECT_EQ(d, 0.25);
    EXPECT_FALSE(detail::parseNumber("nan", d));
    bool b = false;
    EXPECT_TRUE(detail::parseNumber("true", b));
    EXPECT_TRUE(b);
    EXPECT_TRUE(detail::parseNumber("off", b));
    EXPECT_FALSE(b);
    EXPECT_FALSE(detail::parseNumber("yes please", b));
}

TEST(SdkHelpersTest, JsonTypesIncludeStructuredSuffixes)
{
    EXPECT_TRUE(json::isJsonType("application/json"));
    EXPECT_TRUE(json::isJsonType("application/json; charset=utf-8"));
    EXPECT_TRUE(json::isJsonType("application/problem+json"));
    EXPECT_FALSE(json::isJsonType("text/plain"));
    EXPECT_FALSE(json::isJsonType(""));
}
