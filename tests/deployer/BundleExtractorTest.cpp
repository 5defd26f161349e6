#include "deployer/BundleExtractor.h"

#include "deployer/ArchiveBuilder.h"
#include "support/TempDir.h"

#include <dirent.h>
#include <fstream>
#include <gtest/gtest.h>
#include <sys/stat.h>

using serval::deployer::BundleExtractor;
using serval::deployer::ExtractionLimits;
using serval::deployer::ExtractionResult;
using serval::test::ArchiveEntry;
using serval::test::ArchiveFormat;
using serval::test::TempDir;
using Kind = serval::test::ArchiveEntry::Kind;

namespace {

/// Lists every path under `dir` (relative), so a test can assert nothing else was written.
void listTree(const std::string& dir, const std::string& prefix, std::vector<std::string>& out)
{
    DIR* d = ::opendir(dir.c_str());
    if (!d) return;
    while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n == "." || n == "..") continue;
        out.push_back(prefix + n);
        struct stat st;
        if (::lstat((dir + "/" + n).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
            listTree(dir + "/" + n, prefix + n + "/", out);
        }
    }
    ::closedir(d);
}

struct Outcome
{
    bool ok;
    std::string error;
    ExtractionResult result;
};

class BundleExtractorTest : public ::testing::Test
{
protected:
    /// Builds the archive in <tmp>/in/shop.sar, extracts into <tmp>/out/staging.
    Outcome extract(const std::vector<ArchiveEntry>& entries, ArchiveFormat format = ArchiveFormat::Zip,
                    ExtractionLimits limits = {})
    {
        serval::test::makeDirs(tmp.file("in"));
        serval::test::makeDirs(tmp.file("out"));
        serval::test::writeArchive(tmp.file("in/shop.sar"), entries, format);
        return extractFile(tmp.file("in/shop.sar"), limits);
    }
    Outcome extractFile(const std::string& archive, ExtractionLimits limits = {})
    {
        serval::test::makeDirs(tmp.file("out"));
        Outcome o;
        BundleExtractor extractor(limits);
        o.ok = extractor.extractFile(archive, staging(), "shop.sar", o.result, o.error);
        return o;
    }
    std::string staging() const { return tmp.file("out/staging"); }
    /// Everything on disk besides the input: after a refusal this must be empty.
    std::vector<std::string> written() const
    {
        std::vector<std::string> out;
        listTree(tmp.file("out"), "", out);
        return out;
    }
    void expectRefused(const Outcome& o, const std::string& needle)
    {
        EXPECT_FALSE(o.ok);
        EXPECT_NE(o.error.find(needle), std::string::npos) << o.error;
        EXPECT_EQ(o.error.rfind("shop.sar: ", 0), 0u) << o.error;
        EXPECT_EQ(o.error.find('\n'), std::string::npos) << "one line: " << o.error;
        EXPECT_TRUE(written().empty()) << "staging left behind after a refusal";
    }

    TempDir tmp;
};

ArchiveEntry file(const std::string& name, const std::string& content = "x")
{
    return ArchiveEntry{name, content, Kind::File, -1};
}
ArchiveEntry dir(const std::string& name)
{
    return ArchiveEntry{name, "", Kind::Directory, -1};
}

} // namespace

TEST_F(BundleExtractorTest, UnpacksFilesAndDirectoriesWithForcedModes)
{
    for (ArchiveFormat format : {ArchiveFormat::Zip, ArchiveFormat::Tar, ArchiveFormat::TarGz}) {
        SCOPED_TRACE(static_cast<int>(format));
        Outcome o = extract({dir("WEB-INF/"), file("WEB-INF/web.xml", serval::test::minimalWebXml()),
                             file("index.html", "<h1>hi</h1>"), file("css/a/b/site.css", "body{}")},
                            format);
        ASSERT_TRUE(o.ok) << o.error;
        EXPECT_EQ(o.result.entries, 4u);
        EXPECT_EQ(o.result.files, 3u);
        EXPECT_EQ(serval::test::readFile(staging() + "/index.html"), "<h1>hi</h1>");
        EXPECT_EQ(serval::test::readFile(staging() + "/css/a/b/site.css"), "body{}");
        struct stat st;
        ASSERT_EQ(::stat((staging() + "/index.html").c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 07777, 0644u);
        ASSERT_EQ(::stat((staging() + "/css/a").c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 07777, 0755u);
        ASSERT_EQ(::stat(staging().c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 07777, 0755u);
        serval::deployer::removeTree(staging());
    }
}

TEST_F(BundleExtractorTest, DotSlashPrefixesAreNormalised)
{
    Outcome o = extract({file("./WEB-INF/web.xml", serval::test::minimalWebXml()), file("a/./b.txt")},
                        ArchiveFormat::Tar);
    ASSERT_TRUE(o.ok) << o.error;
    EXPECT_EQ(serval::test::readFile(staging() + "/a/b.txt"), "x");
}

TEST_F(BundleExtractorTest, RefusesParentDirectoryEntries)
{
    expectRefused(
        extract({file("index.html"), file("../../etc/passwd")}),
        "entry \"../../etc/passwd\" leaves the bundle; rebuild the bundle without parent-directory");
    expectRefused(extract({file("a/../../x")}, ArchiveFormat::Tar), "leaves the bundle");
}

TEST_F(BundleExtractorTest, RefusesAbsolutePaths)
{
    expectRefused(extract({file("/etc/cron.d/evil")}, ArchiveFormat::Tar), "is an absolute path");
}

TEST_F(BundleExtractorTest, RefusesSymlinks)
{
    expectRefused(extract({ArchiveEntry{"link", "/etc/passwd", Kind::Symlink, -1}}), "is a symbolic link");
    expectRefused(extract({ArchiveEntry{"WEB-INF", "/tmp", Kind::Symlink, -1}, file("WEB-INF/web.xml")},
                          ArchiveFormat::Tar),
                  "is a symbolic link");
}

TEST_F(BundleExtractorTest, RefusesHardlinks)
{
    expectRefused(
        extract({file("a.txt"), ArchiveEntry{"b.txt", "a.txt", Kind::Hardlink, -1}}, ArchiveFormat::Tar),
        "is a hard link");
}

TEST_F(BundleExtractorTest, RefusesDevicesAndFifos)
{
    expectRefused(extract({ArchiveEntry{"null", "", Kind::CharDevice, -1}}, ArchiveFormat::Tar),
                  "device node");
    expectRefused(extract({ArchiveEntry{"pipe", "", Kind::Fifo, -1}}, ArchiveFormat::Tar), "is a FIFO");
}

TEST_F(BundleExtractorTest, RefusesDuplicates)
{
    expectRefused(extract({file("index.html", "one"), file("index.html", "two")}), "appears twice");
    expectRefused(extract({file("index.html", "one"), file("INDEX.html", "two")}), "only in letter case");
    expectRefused(extract({file("Css/a.css"), file("css/b.css")}, ArchiveFormat::Tar), "only in letter case");
    expectRefused(extract({file("a"), file("a/b")}), "but the bundle also holds a");
    expectRefused(extract({file("a/b"), file("a")}), "is a file but the bundle also holds a directory");
    expectRefused(extract({dir("d/"), dir("d/")}, ArchiveFormat::Tar), "appears twice");
}

TEST_F(BundleExtractorTest, RefusesBackslashAndControlCharacters)
{
    expectRefused(extract({file("a\\b.txt")}, ArchiveFormat::Tar), "holds a backslash");
    // libarchive's zip reader turns backslashes of DOS-made zips into '/': still refused.
    expectRefused(extract({file("..\\..\\evil.txt")}), "shop.sar: entry");
    expectRefused(extract({file("bad\x01name")}, ArchiveFormat::Tar), "control character");
    expectRefused(extract({file("new\nline")}, ArchiveFormat::Tar), "control character");
}

TEST_F(BundleExtractorTest, CheckEntryNameRefusesNul)
{
    std::string normalised, reason;
    EXPECT_FALSE(BundleExtractor::checkEntryName(std::string_view("a\0b", 3), normalised, reason));
    EXPECT_NE(reason.find("NUL"), std::string::npos);
    EXPECT_FALSE(BundleExtractor::checkEntryName("", normalised, reason));
    EXPECT_FALSE(BundleExtractor::checkEntryName("./", normalised, reason));
    EXPECT_TRUE(BundleExtractor::checkEntryName("./a//b/", normalised, reason));
    EXPECT_EQ(normalised, "a/b");
}

TEST_F(BundleExtractorTest, CapsEntryCount)
{
    std::vector<ArchiveEntry> entries;
    for (int i = 0; i < 11; ++i)
        entries.push_back(file("f" + std::to_string(i)));
    ExtractionLimits limits;
    limits.maxEntries = 10;
    expectRefused(extract(entries, ArchiveFormat::Zip, limits), "more than 10 entries (maxBundleEntries)");
    entries.pop_back();
    EXPECT_TRUE(extract(entries, ArchiveFormat::Zip, limits).ok);
}

TEST_F(BundleExtractorTest, DefaultEntryCapIsTenThousand)
{
    EXPECT_EQ(ExtractionLimits{}.maxEntries, 10000u);
    EXPECT_EQ(ExtractionLimits{}.maxTotalBytes, 256u * 1024 * 1024);
}

TEST_F(BundleExtractorTest, ZipBombStopsAtTheByteCap)
{
    // 64 files of 1 MiB of zeros: the archive is tiny, the output 64 MiB; the cap is 8 MiB.
    std::vector<ArchiveEntry> entries;
    for (int i = 0; i < 64; ++i)
        entries.push_back(serval::test::zeros("z" + std::to_string(i), 1024 * 1024));
    ExtractionLimits limits;
    limits.maxTotalBytes = 8 * 1024 * 1024;
    serval::test::makeDirs(tmp.file("in"));
    serval::test::writeArchive(tmp.file("in/shop.sar"), entries);
    struct stat st;
    ASSERT_EQ(::stat(tmp.file("in/shop.sar").c_str(), &st), 0);
    EXPECT_LT(st.st_size, 1024 * 1024) << "the bomb should be small";
    expectRefused(extractFile(tmp.file("in/shop.sar"), limits),
                  "unpacks to more than 8 MiB (maxBundleBytes)");
}

TEST_F(BundleExtractorTest, SingleFileCapCountsWrittenBytesNotDeclaredSize)
{
    ExtractionLimits limits;
    limits.maxFileBytes = 1024 * 1024;
    expectRefused(extract({serval::test::zeros("big.bin", 2 * 1024 * 1024)}, ArchiveFormat::Zip, limits),
                  "entry \"big.bin\" is larger than 1 MiB (maxBundleFileBytes)");
    expectRefused(extract({serval::test::zeros("big.bin", 2 * 1024 * 1024)}, ArchiveFormat::TarGz, limits),
                  "is larger than 1 MiB");
}

TEST_F(BundleExtractorTest, RefusesTruncatedArchive)
{
    std::string content(200000, 'a');
    for (size_t i = 0; i < content.size(); ++i)
        content[i] = static_cast<char>('a' + (i * 7919) % 26);
    for (ArchiveFormat format : {ArchiveFormat::Zip, ArchiveFormat::TarGz}) {
        serval::test::makeDirs(tmp.file("in"));
        serval::test::writeArchive(tmp.file("in/full.sar"), {file("a.txt", content), file("b.txt", content)},
                                   format);
        std::string bytes = serval::test::readFile(tmp.file("in/full.sar"));
        std::ofstream(tmp.file("in/shop.sar"), std::ios::binary | std::ios::trunc)
            << bytes.substr(0, bytes.size() / 2);
        Outcome o = extractFile(tmp.file("in/shop.sar"));
        expectRefused(o, "shop.sar: ");
        EXPECT_TRUE(o.error.find("damaged") != std::string::npos ||
                    o.error.find("truncated") != std::string::npos)
            << o.error;
    }
}

TEST_F(BundleExtractorTest, RefusesSomethingThatIsNotAnArchive)
{
    serval::test::makeDirs(tmp.file("in"));
    std::ofstream(tmp.file("in/shop.sar")) << "this is just text, not a bundle\n";
    expectRefused(extractFile(tmp.file("in/shop.sar")), "not a zip or tar archive");
}

TEST_F(BundleExtractorTest, StagingMustNotExistYet)
{
    serval::test::makeDirs(staging());
    serval::test::makeDirs(tmp.file("in"));
    serval::test::writeArchive(tmp.file("in/shop.sar"), {file("a")});
    Outcome o = extractFile(tmp.file("in/shop.sar"));
    EXPECT_FALSE(o.ok);
    EXPECT_NE(o.error.find("cannot create staging directory"), std::string::npos) << o.error;
}

TEST_F(BundleExtractorTest, ExtractsFromMemory)
{
    serval::test::makeDirs(tmp.file("in"));
    serval::test::makeDirs(tmp.file("out"));
    serval::test::writeArchive(tmp.file("in/shop.sar"), {file("hello.txt", "hello")});
    std::string bytes = serval::test::readFile(tmp.file("in/shop.sar"));
    BundleExtractor extractor;
    ExtractionResult result;
    std::string error;
    ASSERT_TRUE(extractor.extractMemory(bytes.data(), bytes.size(), staging(), "upload.sar", result, error))
        << error;
    EXPECT_EQ(serval::test::readFile(staging() + "/hello.txt"), "hello");
}

TEST(RemoveTreeTest, DoesNotFollowSymlinks)
{
    TempDir tmp;
    tmp.write("outside/keep.txt", "keep");
    tmp.write("tree/a/b.txt", "x");
    ASSERT_EQ(::symlink(tmp.file("outside").c_str(), tmp.file("tree/a/link").c_str()), 0);
    EXPECT_TRUE(serval::deployer::removeTree(tmp.file("tree")));
    EXPECT_EQ(serval::test::readFile(tmp.file("outside/keep.txt")), "keep");
    struct stat st;
    EXPECT_NE(::lstat(tmp.file("tree").c_str(), &st), 0);
}
