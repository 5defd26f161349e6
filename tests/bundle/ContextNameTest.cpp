#include "bundle/ContextName.h"

#include <gtest/gtest.h>

using serval::bundle::ContextName;

TEST(ContextNameTest, FollowsTomcatNaming)
{
    struct Case
    {
        const char* file;
        const char* path;
        const char* version;
        const char* base;
    } cases[] = {
        {"ROOT.sar", "", "", "ROOT"},
        {"shop.sar", "/shop", "", "shop"},
        {"a#b.sar", "/a/b", "", "a#b"},
        {"shop##2.sar", "/shop", "2", "shop##2"},
        {"ROOT##7.sar", "", "7", "ROOT##7"},
        {"docs", "/docs", "", "docs"},
        {"a#b##v1.2", "/a/b", "v1.2", "a#b##v1.2"},
        {"app.tar.gz", "/app", "", "app"},
    };
    for (const Case& c : cases) {
        auto name = ContextName::fromFileName(c.file);
        ASSERT_TRUE(name) << c.file;
        EXPECT_EQ(name->path, c.path) << c.file;
        EXPECT_EQ(name->version, c.version) << c.file;
        EXPECT_EQ(name->baseName, c.base) << c.file;
    }
    EXPECT_EQ(ContextName::fromFileName("ROOT.sar")->displayPath(), "/");
    EXPECT_EQ(ContextName::fromFileName("shop##2.sar")->unversionedBaseName(), "shop");
}

TEST(ContextNameTest, RefusesNamesThatAreNotDeployable)
{
    for (const char* bad : {"", ".hidden", ".sar", "a##", "##2.sar", "#a.sar", "a#.sar", "a##b##c", "a/b",
                            "a\\b", "a#..#b", "tab\tname"}) {
        EXPECT_FALSE(ContextName::fromFileName(bad)) << bad;
    }
}

TEST(ContextNameTest, RefusesNamesAUrlWouldHaveToEscape)
{
    // '%', '?' and ';' mean something in a request target: such a context could be reached only
    // by escaping its own name. (The rules core's former ExplodedDeployer applied.)
    for (const char* bad : {"a%2fb", "a%2fb.sar", "a?b.sar", "a;b", "a\nb"}) {
        EXPECT_FALSE(ContextName::fromFileName(bad)) << bad;
    }
    EXPECT_EQ(ContextName::fromFileName("ROOT##3")->path, "");
    EXPECT_EQ(ContextName::fromFileName("ROOT##3")->version, "3");
}

TEST(ContextNameTest, NamesTheAppAsTheContextDoes)
{
    EXPECT_EQ(ContextName::appName("shop##2.sar"), "shop");
    EXPECT_EQ(ContextName::appName("a#b.sar"), "a#b");
    EXPECT_EQ(ContextName::appName(".hidden"), ".hidden");
}

TEST(ContextNameTest, RecognisesBundleExtensions)
{
    EXPECT_TRUE(ContextName::isBundleFileName("shop.sar"));
    EXPECT_TRUE(ContextName::isBundleFileName("shop.SAR"));
    EXPECT_TRUE(ContextName::isBundleFileName("shop.tar.gz"));
    EXPECT_FALSE(ContextName::isBundleFileName("shop"));
    EXPECT_FALSE(ContextName::isBundleFileName(".sar"));
}

TEST(ContextNameTest, NewestVersionWins)
{
    EXPECT_LT(ContextName::compareVersions("", "1"), 0);
    EXPECT_LT(ContextName::compareVersions("2", "10"), 0);
    EXPECT_LT(ContextName::compareVersions("1.9", "1.10"), 0);
    EXPECT_GT(ContextName::compareVersions("v3", "v2"), 0);
    EXPECT_EQ(ContextName::compareVersions("007", "7"), 0);
    EXPECT_LT(ContextName::compareVersions("1", "1a"), 0);
}
