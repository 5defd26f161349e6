#include "servlets/Preconditions.h"

#include "http/HttpDate.h"

#include <gtest/gtest.h>

using namespace serval::servlets;

namespace {
const std::string kEtag = "W/\"4096-1764100000000\"";
const std::time_t kMtime = 1764100000;
const std::string kLastModified = serval::http::formatHttpDate(kMtime);
} // namespace

TEST(PreconditionsTest, IfNoneMatchUsesWeakComparison)
{
    EXPECT_TRUE(ifNoneMatchMatches(kEtag, kEtag));
    EXPECT_TRUE(ifNoneMatchMatches("\"4096-1764100000000\"", kEtag)); // strong form of our weak tag
    EXPECT_TRUE(ifNoneMatchMatches("\"x\", " + kEtag, kEtag));
    EXPECT_TRUE(ifNoneMatchMatches("*", kEtag));
    EXPECT_FALSE(ifNoneMatchMatches("W/\"4096-1764100000001\"", kEtag));
    EXPECT_FALSE(ifNoneMatchMatches("\"x\"", kEtag));
}

TEST(PreconditionsTest, NotModifiedByEtagOrDate)
{
    EXPECT_TRUE(isNotModified(kEtag, "", kEtag, kLastModified, kMtime));
    EXPECT_TRUE(isNotModified("", kLastModified, kEtag, kLastModified, kMtime));
    EXPECT_TRUE(isNotModified("", serval::http::formatHttpDate(kMtime + 60), kEtag, kLastModified, kMtime));
    EXPECT_FALSE(isNotModified("", serval::http::formatHttpDate(kMtime - 1), kEtag, kLastModified, kMtime));
    EXPECT_FALSE(isNotModified("", "", kEtag, kLastModified, kMtime));
    EXPECT_FALSE(isNotModified("", "not a date", kEtag, kLastModified, kMtime));
}

TEST(PreconditionsTest, IfNoneMatchWinsOverIfModifiedSince)
{
    // Tag differs, date says unchanged: If-None-Match decides -> not a 304.
    EXPECT_FALSE(isNotModified("\"other\"", kLastModified, kEtag, kLastModified, kMtime));
    // Tag matches, date says changed: still a 304.
    EXPECT_TRUE(
        isNotModified(kEtag, serval::http::formatHttpDate(kMtime - 100), kEtag, kLastModified, kMtime));
}

TEST(PreconditionsTest, IfRangeNeedsStrongTagOrExactDate)
{
    EXPECT_TRUE(ifRangeAllowsPartial("", kEtag, kLastModified, kMtime));
    EXPECT_TRUE(ifRangeAllowsPartial(kLastModified, kEtag, kLastModified, kMtime));
    EXPECT_FALSE(
        ifRangeAllowsPartial(serval::http::formatHttpDate(kMtime + 1), kEtag, kLastModified, kMtime));
    EXPECT_FALSE(
        ifRangeAllowsPartial(serval::http::formatHttpDate(kMtime - 1), kEtag, kLastModified, kMtime));
    // Weak tags never match in If-Range (RFC 9110 13.1.5).
    EXPECT_FALSE(ifRangeAllowsPartial(kEtag, kEtag, kLastModified, kMtime));
    EXPECT_FALSE(ifRangeAllowsPartial("\"4096-1764100000000\"", kEtag, kLastModified, kMtime));
    EXPECT_TRUE(ifRangeAllowsPartial("\"strong\"", "\"strong\"", kLastModified, kMtime));
    EXPECT_FALSE(ifRangeAllowsPartial("\"other\"", "\"strong\"", kLastModified, kMtime));
    EXPECT_FALSE(ifRangeAllowsPartial("garbage", kEtag, kLastModified, kMtime));
}
