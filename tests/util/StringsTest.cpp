#include "util/Strings.h"

#include <gtest/gtest.h>

using namespace serval::util;

TEST(StringsTest, ParseUnsignedIsStrict)
{
    EXPECT_EQ(parseUnsigned("0"), 0u);
    EXPECT_EQ(parseUnsigned("12345"), 12345u);
    EXPECT_FALSE(parseUnsigned(""));
    EXPECT_FALSE(parseUnsigned("+1"));
    EXPECT_FALSE(parseUnsigned("-1"));
    EXPECT_FALSE(parseUnsigned(" 1"));
    EXPECT_FALSE(parseUnsigned("1,2"));
    EXPECT_FALSE(parseUnsigned("99999999999999999999"));
}

TEST(StringsTest, PercentDecodeOnce)
{
    EXPECT_EQ(percentDecode("a%20b"), "a b");
    EXPECT_EQ(percentDecode("%252e"), "%2e");
    EXPECT_EQ(percentDecode("a+b", true), "a b");
    EXPECT_EQ(percentDecode("a+b"), "a+b");
    EXPECT_FALSE(percentDecode("%"));
    EXPECT_FALSE(percentDecode("%2"));
    EXPECT_FALSE(percentDecode("%zz"));
}

TEST(StringsTest, SplitListTrimsAndDropsEmpty)
{
    auto parts = splitList(" gzip, , br ,deflate", ',');
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[0], "gzip");
    EXPECT_EQ(parts[1], "br");
    EXPECT_EQ(parts[2], "deflate");
}

TEST(StringsTest, EscapesHtmlAndJson)
{
    EXPECT_EQ(htmlEscape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    EXPECT_EQ(jsonEscape("a\"b\\c\n\x01"), "a\\\"b\\\\c\\n\\u0001");
}
