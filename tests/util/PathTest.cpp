#include "util/Path.h"

#include <gtest/gtest.h>

using serval::util::hasComponentIgnoreCase;
using serval::util::isWithin;
using serval::util::normalizeUriPath;

TEST(PathTest, NormalizeCollapsesDotsAndSlashes)
{
    EXPECT_EQ(normalizeUriPath("/a//b/./c"), "/a/b/c");
    EXPECT_EQ(normalizeUriPath("/a/b/../c"), "/a/c");
    EXPECT_EQ(normalizeUriPath("/a/b/"), "/a/b/");
    EXPECT_EQ(normalizeUriPath("/"), "/");
    EXPECT_EQ(normalizeUriPath(""), "/");
    EXPECT_EQ(normalizeUriPath("/a/."), "/a/");
}

TEST(PathTest, NormalizeRefusesClimbingAboveRoot)
{
    EXPECT_FALSE(normalizeUriPath("/../etc/passwd"));
    EXPECT_FALSE(normalizeUriPath("/a/../../b"));
    EXPECT_FALSE(normalizeUriPath(".."));
}

TEST(PathTest, NormalizeRefusesNulAndBackslash)
{
    EXPECT_FALSE(normalizeUriPath(std::string("/a\0b", 4)));
    EXPECT_FALSE(normalizeUriPath("/a\\..\\b"));
}

TEST(PathTest, IsWithinComparesComponentsNotPrefixes)
{
    EXPECT_TRUE(isWithin("/srv/app", "/srv/app"));
    EXPECT_TRUE(isWithin("/srv/app", "/srv/app/x"));
    EXPECT_TRUE(isWithin("/srv/app/", "/srv/app/x"));
    EXPECT_FALSE(isWithin("/srv/app", "/srv/app-evil/x"));
    EXPECT_FALSE(isWithin("/srv/app", "/srv"));
    EXPECT_FALSE(isWithin("/srv/app", "relative"));
    EXPECT_TRUE(isWithin("/", "/anything"));
}

TEST(PathTest, HasComponentIgnoresCase)
{
    EXPECT_TRUE(hasComponentIgnoreCase("/web-inf/web.xml", "WEB-INF"));
    EXPECT_TRUE(hasComponentIgnoreCase("/a/Meta-Inf/x", "META-INF"));
    EXPECT_FALSE(hasComponentIgnoreCase("/web-inf.txt", "WEB-INF"));
}
