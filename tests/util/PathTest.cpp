#include "util/Path.h"

#include "support/TempDir.h"

#include <cerrno>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

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

TEST(PathTest, OpenWithinFollowsNoLinkAndStaysInsideItsRoots)
{
    serval::test::TempDir dir;
    dir.write("root/app.sar", "bundle");
    dir.write("root/sub/inner.sar", "inner");
    dir.write("outside.sar", "outside");
    ASSERT_EQ(::symlink(dir.file("outside.sar").c_str(), dir.file("root/link.sar").c_str()), 0);
    ASSERT_EQ(::symlink(dir.file("root/sub").c_str(), dir.file("root/linkdir").c_str()), 0);
    ASSERT_EQ(::mkfifo(dir.file("root/fifo").c_str(), 0644), 0);
    std::vector<std::string> roots{dir.file("root")};

    EXPECT_TRUE(serval::util::openWithin(roots, dir.file("root/app.sar")));
    EXPECT_TRUE(serval::util::openWithin(roots, dir.file("root/sub/inner.sar")));
    EXPECT_TRUE(serval::util::openWithin(roots, dir.file("root/sub")));
    serval::util::FileDescriptor fifo = serval::util::openWithin(roots, dir.file("root/fifo"));
    ASSERT_TRUE(fifo) << "a FIFO opens without blocking; the caller refuses it from fstat()";
    struct stat st;
    ASSERT_EQ(::fstat(fifo.get(), &st), 0);
    EXPECT_TRUE(S_ISFIFO(st.st_mode));

    auto refused = [&](const std::string& path, int expected) {
        errno = 0;
        bool opened = serval::util::openWithin(roots, path).valid();
        return !opened && errno == expected;
    };
    EXPECT_TRUE(refused(dir.file("outside.sar"), EACCES));
    EXPECT_TRUE(refused(dir.file("root-evil/app.sar"), EACCES));
    EXPECT_TRUE(refused("/dev/zero", EACCES));
    EXPECT_TRUE(refused(dir.file("root/link.sar"), ELOOP));
    EXPECT_TRUE(refused(dir.file("root/linkdir/inner.sar"), ENOTDIR) ||
                refused(dir.file("root/linkdir/inner.sar"), ELOOP));
    EXPECT_TRUE(refused(dir.file("root/../outside.sar"), EINVAL));
    EXPECT_TRUE(refused(dir.file("root//app.sar"), EINVAL));
    EXPECT_TRUE(refused(dir.file("root/missing.sar"), ENOENT));
    EXPECT_TRUE(refused("relative/app.sar", EINVAL));
    EXPECT_TRUE(refused(dir.file("root/app.sar"), 0) == false);
    EXPECT_FALSE(serval::util::openWithin({}, dir.file("root/app.sar")));
}
