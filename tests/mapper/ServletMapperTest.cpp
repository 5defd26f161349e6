#include "mapper/ServletMapper.h"

#include "mapper/ContextMapper.h"

#include <gtest/gtest.h>
#include <string>
#include <vector>

using namespace serval::mapper;

namespace {

/// The Servlet spec 12.2.2 example table, plus the empty and default patterns.
ServletMapper specExample()
{
    ServletMapper m;
    std::string error;
    EXPECT_TRUE(m.add("/foo/bar/*", 1, error));
    EXPECT_TRUE(m.add("/baz/*", 2, error));
    EXPECT_TRUE(m.add("/catalog", 3, error));
    EXPECT_TRUE(m.add("*.bop", 4, error));
    EXPECT_TRUE(m.add("/", 5, error));
    EXPECT_TRUE(m.add("", 6, error));
    return m;
}

ServletMatch mapOf(const ServletMapper& m, std::string_view path)
{
    ServletMatch match;
    EXPECT_TRUE(m.map(path, match)) << path;
    return match;
}

} // namespace

TEST(MapperTest, SpecExampleTable)
{
    auto m = specExample();
    EXPECT_EQ(mapOf(m, "/foo/bar/index.html").target, 1u);
    EXPECT_EQ(mapOf(m, "/foo/bar/index.bop").target, 1u); // prefix beats extension
    EXPECT_EQ(mapOf(m, "/baz").target, 2u);
    EXPECT_EQ(mapOf(m, "/baz/index.html").target, 2u);
    EXPECT_EQ(mapOf(m, "/catalog").target, 3u);
    EXPECT_EQ(mapOf(m, "/catalog/index.html").target, 5u); // exact does not cover below
    EXPECT_EQ(mapOf(m, "/catalog/racecar.bop").target, 4u);
    EXPECT_EQ(mapOf(m, "/index.bop").target, 4u);
}

TEST(MapperTest, ExactMatchWinsOverEverything)
{
    ServletMapper m;
    std::string e;
    m.add("/a/*", 1, e);
    m.add("/a/b.jsp", 2, e);
    m.add("*.jsp", 3, e);
    auto r = mapOf(m, "/a/b.jsp");
    EXPECT_EQ(r.target, 2u);
    EXPECT_EQ(r.type, MatchType::Exact);
    EXPECT_EQ(r.servletPath, "/a/b.jsp");
    EXPECT_FALSE(r.pathInfo);
}

TEST(MapperTest, LongestPrefixWins)
{
    ServletMapper m;
    std::string e;
    m.add("/a/*", 1, e);
    m.add("/a/b/c/*", 3, e);
    m.add("/a/b/*", 2, e);
    EXPECT_EQ(mapOf(m, "/a/b/c/d").target, 3u);
    EXPECT_EQ(mapOf(m, "/a/b/x").target, 2u);
    EXPECT_EQ(mapOf(m, "/a/x").target, 1u);
}

TEST(MapperTest, PrefixMatchesOnSegmentBoundaryOnly)
{
    ServletMapper m;
    std::string e;
    m.add("/shop/*", 1, e);
    ServletMatch r;
    EXPECT_FALSE(m.map("/shopping", r));
    EXPECT_TRUE(m.map("/shop", r));
}

TEST(MapperTest, PrefixSetsServletPathAndPathInfo)
{
    ServletMapper m;
    std::string e;
    m.add("/api/*", 1, e);
    auto r = mapOf(m, "/api/users/7");
    EXPECT_EQ(r.type, MatchType::Prefix);
    EXPECT_EQ(r.servletPath, "/api");
    EXPECT_EQ(r.pathInfo, "/users/7");
    r = mapOf(m, "/api");
    EXPECT_EQ(r.servletPath, "/api");
    EXPECT_FALSE(r.pathInfo); // null, as the spec says
    r = mapOf(m, "/api/");
    EXPECT_EQ(r.pathInfo, "/");
}

TEST(MapperTest, SlashStarMatchesEverythingWithEmptyServletPath)
{
    ServletMapper m;
    std::string e;
    m.add("/*", 1, e);
    m.add("/", 2, e);
    auto r = mapOf(m, "/x/y");
    EXPECT_EQ(r.target, 1u);
    EXPECT_EQ(r.servletPath, "");
    EXPECT_EQ(r.pathInfo, "/x/y");
}

TEST(MapperTest, ExtensionUsesLastSegmentOnly)
{
    ServletMapper m;
    std::string e;
    m.add("*.do", 1, e);
    ServletMatch r;
    EXPECT_TRUE(m.map("/a/b.do", r));
    EXPECT_EQ(r.type, MatchType::Extension);
    EXPECT_EQ(r.servletPath, "/a/b.do");
    EXPECT_FALSE(r.pathInfo);
    EXPECT_FALSE(m.map("/a.do/b", r)); // the dot is in a directory, not the last segment
    EXPECT_FALSE(m.map("/a/b.dox", r));
}

TEST(MapperTest, DefaultServletGetsWholePathAsServletPath)
{
    ServletMapper m;
    std::string e;
    m.add("/", 1, e);
    auto r = mapOf(m, "/img/logo.png");
    EXPECT_EQ(r.type, MatchType::Default);
    EXPECT_EQ(r.servletPath, "/img/logo.png");
    EXPECT_FALSE(r.pathInfo);
    EXPECT_EQ(mapOf(m, "/").servletPath, "/");
}

TEST(MapperTest, EmptyPatternMatchesContextRootOnly)
{
    ServletMapper m;
    std::string e;
    m.add("", 1, e);
    m.add("/", 2, e);
    auto r = mapOf(m, "/");
    EXPECT_EQ(r.target, 1u);
    EXPECT_EQ(r.type, MatchType::ContextRoot);
    EXPECT_EQ(r.servletPath, "");
    EXPECT_EQ(r.pathInfo, "/");
    EXPECT_EQ(mapOf(m, "").target, 1u);
    EXPECT_EQ(mapOf(m, "/index.html").target, 2u);
}

TEST(MapperTest, NoMatchWithoutDefault)
{
    ServletMapper m;
    std::string e;
    m.add("/a", 1, e);
    ServletMatch r;
    EXPECT_FALSE(m.map("/b", r));
}

TEST(MapperTest, InvalidAndDuplicatePatternsRefused)
{
    ServletMapper m;
    std::string e;
    EXPECT_FALSE(m.add("a", 1, e));
    EXPECT_NE(e.find("invalid url-pattern \"a\""), std::string::npos);
    EXPECT_FALSE(m.add("/a*", 1, e));
    EXPECT_FALSE(m.add("/a/*/b", 1, e));
    EXPECT_FALSE(m.add("*.", 1, e));
    EXPECT_FALSE(m.add("*.a/b", 1, e));
    EXPECT_TRUE(m.add("/a/*", 1, e));
    EXPECT_FALSE(m.add("/a/*", 2, e));
    EXPECT_EQ(e, "url-pattern \"/a/*\" is mapped twice");
    EXPECT_TRUE(m.has("/a/*"));
    EXPECT_FALSE(m.has("/b/*"));
}

TEST(MapperTest, FilterPatternMatching)
{
    EXPECT_TRUE(urlPatternMatches("/*", "/anything"));
    EXPECT_TRUE(urlPatternMatches("/", "/anything"));
    EXPECT_TRUE(urlPatternMatches("/a/*", "/a"));
    EXPECT_TRUE(urlPatternMatches("/a/*", "/a/b"));
    EXPECT_FALSE(urlPatternMatches("/a/*", "/ab"));
    EXPECT_TRUE(urlPatternMatches("*.css", "/x/y.css"));
    EXPECT_FALSE(urlPatternMatches("*.css", "/x.css/y"));
    EXPECT_TRUE(urlPatternMatches("/exact", "/exact"));
    EXPECT_FALSE(urlPatternMatches("/exact", "/exact/"));
    EXPECT_TRUE(urlPatternMatches("", "/"));
    EXPECT_FALSE(urlPatternMatches("", "/x"));
}

TEST(MapperTest, LongestContextPathWins)
{
    ContextMapper m;
    EXPECT_TRUE(m.add("", 0));
    EXPECT_TRUE(m.add("/shop", 1));
    EXPECT_TRUE(m.add("/shop/admin", 2));
    EXPECT_FALSE(m.add("/shop", 3));
    EXPECT_EQ(m.map("/shop/admin/users"), 2u);
    EXPECT_EQ(m.map("/shop/admin"), 2u);
    EXPECT_EQ(m.map("/shop/cart"), 1u);
    EXPECT_EQ(m.map("/shop"), 1u);
    EXPECT_EQ(m.map("/shopping"), 0u); // segment boundary: falls to ROOT
    EXPECT_EQ(m.map("/"), 0u);
}

TEST(MapperTest, NoContextWithoutRoot)
{
    ContextMapper m;
    m.add("/docs", 0);
    EXPECT_EQ(m.map("/docs/x"), 0u);
    EXPECT_FALSE(m.map("/other"));
    EXPECT_FALSE(m.map("/"));
}

TEST(MapperTest, HostByNameOrAliasCaseInsensitivePortIgnored)
{
    HostMapper m;
    EXPECT_TRUE(m.add("localhost", 0));
    EXPECT_TRUE(m.add("www.Example.com", 1));
    EXPECT_TRUE(m.add("example.com", 1));
    EXPECT_FALSE(m.add("EXAMPLE.COM", 2));
    m.setDefault(0);
    EXPECT_EQ(m.map("WWW.example.COM:8080"), 1u);
    EXPECT_EQ(m.map("example.com"), 1u);
    EXPECT_EQ(m.map("unknown.org"), 0u);
    EXPECT_EQ(m.map(""), 0u);
    EXPECT_EQ(m.map(std::string(300, 'a')), 0u);
}

TEST(MapperTest, HostWithoutPortHandlesIpv6)
{
    EXPECT_EQ(hostWithoutPort("[::1]:8080"), "[::1]");
    EXPECT_EQ(hostWithoutPort("[::1]"), "[::1]");
    EXPECT_EQ(hostWithoutPort("a.b:1"), "a.b");
    EXPECT_EQ(hostWithoutPort("a.b"), "a.b");
}

TEST(MapperTest, FilterPatternCoverageAgreesWithMatchingEveryPathTheServletPatternMaps)
{
    // For each servlet pattern: the sample paths a mapper holding only that pattern maps. A
    // filter pattern covers All of them, None, or Some (then the samples hold both kinds).
    const std::vector<std::string> paths = {
        "/",      "/x",     "/x/",      "/x/y",      "/x/y/z",   "/x/y.jsp",    "/x.jsp",
        "/a.jsp", "/a.css", "/xy",      "/xy/z",     "/x/yz",    "/x/y/z.css",  "/x/y/z.jsp",
        "/z",     "/z/x",   "/a/b.jsp", "/xy/a.jsp", "/z/a.jsp", "/x/y/z/w.jsp"};
    const std::vector<std::string> servletPatterns = {"",     "/",      "/*",    "/x",
                                                      "/x/*", "/x/y/*", "*.jsp", "/a.jsp"};
    const std::vector<std::string> filterPatterns = {"",       "/",     "/*",       "/x",     "/x/*",
                                                     "/x/y/*", "/xy/*", "/z/*",     "*.jsp",  "*.css",
                                                     "/a.jsp", "/x/y",  "/x/y.jsp", "/a.css", "/x/y/z/*"};
    for (const std::string& servletPattern : servletPatterns) {
        ServletMapper only;
        std::string error;
        ASSERT_TRUE(only.add(servletPattern, 0, error)) << error;
        for (const std::string& filterPattern : filterPatterns) {
            size_t mapped = 0, matching = 0;
            for (const std::string& path : paths) {
                ServletMatch match;
                if (!only.map(path, match)) continue;
                ++mapped;
                if (urlPatternMatches(filterPattern, match.path)) ++matching;
            }
            ASSERT_GT(mapped, 0u) << servletPattern;
            PatternCoverage expected = matching == 0        ? PatternCoverage::None
                                       : matching == mapped ? PatternCoverage::All
                                                            : PatternCoverage::Some;
            // The samples hold a matching and a non-matching path wherever only the path can tell.
            EXPECT_EQ(filterPatternCoverage(filterPattern, servletPattern), expected)
                << "filter \"" << filterPattern << "\" for servlet \"" << servletPattern << "\"";
        }
    }
}

TEST(MapperTest, FilterPatternCoverageOfAPrefixMapping)
{
    EXPECT_EQ(filterPatternCoverage("/x/*", "/x/*"), PatternCoverage::All);
    EXPECT_EQ(filterPatternCoverage("/*", "/x/*"), PatternCoverage::All);
    EXPECT_EQ(filterPatternCoverage("/x/y/*", "/x/*"), PatternCoverage::Some); // the path inside decides
    EXPECT_EQ(filterPatternCoverage("/x/*", "/x/y/*"), PatternCoverage::All);
    EXPECT_EQ(filterPatternCoverage("/xy/*", "/x/*"), PatternCoverage::None); // segment boundary
    EXPECT_EQ(filterPatternCoverage("*.css", "/x/*"), PatternCoverage::Some);
    EXPECT_EQ(filterPatternCoverage("", "/x/*"), PatternCoverage::None); // the context root is not under /x
    EXPECT_EQ(filterPatternCoverage("", "/*"), PatternCoverage::Some);
    EXPECT_EQ(filterPatternCoverage("*.css", "*.jsp"), PatternCoverage::None);
    EXPECT_EQ(filterPatternCoverage("*.jsp", "*.jsp"), PatternCoverage::All);
}
