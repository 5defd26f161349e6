// IMF-fixdate and the obsolete forms RFC 9110 5.6.7 says a recipient must accept.
#include "http/HttpDate.h"

#include "http/HttpStatus.h"

#include <gtest/gtest.h>

using namespace serval::http;

TEST(HttpDateTest, FormatsImfFixdateAndParsesAllThreeForms)
{
    EXPECT_EQ(formatHttpDate(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_EQ(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
    EXPECT_EQ(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
    EXPECT_EQ(parseHttpDate("Sun Nov  6 08:49:37 1994"), 784111777);
    EXPECT_EQ(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT trailing"), std::nullopt);
    EXPECT_EQ(parseHttpDate("yesterday"), std::nullopt);
}

TEST(HttpDateTest, CachedDateIsTheCurrentSecond)
{
    auto before = std::time(nullptr);
    auto cached = parseHttpDate(cachedHttpDate());
    auto after = std::time(nullptr);
    ASSERT_TRUE(cached);
    EXPECT_GE(*cached, before);
    EXPECT_LE(*cached, after);
}

TEST(HttpStatusTest, ReasonPhrases)
{
    EXPECT_EQ(reasonPhrase(200), "OK");
    EXPECT_EQ(reasonPhrase(404), "Not Found");
    EXPECT_EQ(reasonPhrase(799), "Unknown");
}
