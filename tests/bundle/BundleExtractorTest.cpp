#include "bundle/BundleExtractor.h"

#include "bundle/Checksum.h"
#include "support/ArchiveBuilder.h"
#include "support/HostileCorpus.h"
#include "support/TempDir.h"

#include <dirent.h>
#include <fstream>
#include <gtest/gtest.h>
#include <sys/stat.h>

using serval::bundle::BundleExtractor;
using serval::bundle::ExtractionLimits;
using serval::bundle::ExtractionResult;
using serval::test::ArchiveEntry;
using serval::test::ArchiveFormat;
using serval::test::TempDir;
using Kind = serval::test::ArchiveEntry::Kind;
using serval::test::dirEntry;
using serval::test::fileEntry;
using serval::test::hardlinkEntry;
using serval::test::symlinkEntry;

namespace {

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
        auto extracted = extractor.extractFile(archive, staging(), "shop.sar");
        o.ok = extracted.ok();
        if (extracted)
            o.result = *extracted;
        else
            o.error = extracted.error();
        return o;
    }
    std::string staging() const { return tmp.file("out/staging"); }
    /// Everything on disk besides the input: after a refusal this must be empty.
    std::vector<std::string> written() const
    {
        std::set<std::string> all = serval::test::listTree(tmp.file("out"));
        return std::vector<std::string>(all.begin(), all.end());
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

} // namespace

TEST_F(BundleExtractorTest, UnpacksFilesAndDirectoriesWithForcedModes)
{
    for (ArchiveFormat format : {ArchiveFormat::Zip, ArchiveFormat::Tar, ArchiveFormat::TarGz}) {
        SCOPED_TRACE(static_cast<int>(format));
        Outcome o =
            extract({dirEntry("WEB-INF/"), fileEntry("WEB-INF/web.xml", serval::test::minimalWebXml()),
                     fileEntry("index.html", "<h1>hi</h1>"), fileEntry("css/a/b/site.css", "body{}")},
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
        serval::bundle::removeTree(staging());
    }
}

TEST_F(BundleExtractorTest, DotSlashPrefixesAreNormalised)
{
    Outcome o =
        extract({fileEntry("./WEB-INF/web.xml", serval::test::minimalWebXml()), fileEntry("a/./b.txt")},
                ArchiveFormat::Tar);
    ASSERT_TRUE(o.ok) << o.error;
    EXPECT_EQ(serval::test::readFile(staging() + "/a/b.txt"), "x");
}

TEST_F(BundleExtractorTest, RefusesParentDirectoryEntries)
{
    expectRefused(
        extract({fileEntry("index.html"), fileEntry("../../etc/passwd")}),
        "entry \"../../etc/passwd\" leaves the bundle; rebuild the bundle without parent-directory");
    expectRefused(extract({fileEntry("a/../../x")}, ArchiveFormat::Tar), "leaves the bundle");
}

TEST_F(BundleExtractorTest, RefusesAbsolutePaths)
{
    expectRefused(extract({fileEntry("/etc/cron.d/evil")}, ArchiveFormat::Tar), "is an absolute path");
}

TEST_F(BundleExtractorTest, RefusesSymlinks)
{
    expectRefused(extract({symlinkEntry("link", "/etc/passwd")}), "is a symbolic link");
    expectRefused(
        extract({symlinkEntry("WEB-INF", "/tmp"), fileEntry("WEB-INF/web.xml")}, ArchiveFormat::Tar),
        "is a symbolic link");
}

TEST_F(BundleExtractorTest, RefusesHardlinks)
{
    expectRefused(extract({fileEntry("a.txt"), hardlinkEntry("b.txt", "a.txt")}, ArchiveFormat::Tar),
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
    expectRefused(extract({fileEntry("index.html", "one"), fileEntry("index.html", "two")}), "appears twice");
    expectRefused(extract({fileEntry("index.html", "one"), fileEntry("INDEX.html", "two")}),
                  "only in letter case");
    expectRefused(extract({fileEntry("Css/a.css"), fileEntry("css/b.css")}, ArchiveFormat::Tar),
                  "only in letter case");
    expectRefused(extract({fileEntry("a"), fileEntry("a/b")}), "but the bundle also holds a");
    expectRefused(extract({fileEntry("a/b"), fileEntry("a")}),
                  "is a file but the bundle also holds a directory");
    expectRefused(extract({dirEntry("d/"), dirEntry("d/")}, ArchiveFormat::Tar), "appears twice");
}

TEST_F(BundleExtractorTest, RefusesBackslashAndControlCharacters)
{
    expectRefused(extract({fileEntry("a\\b.txt")}, ArchiveFormat::Tar), "holds a backslash");
    // libarchive's zip reader turns backslashes of DOS-made zips into '/': still refused.
    expectRefused(extract({fileEntry("..\\..\\evil.txt")}), "shop.sar: entry");
    expectRefused(extract({fileEntry("bad\x01name")}, ArchiveFormat::Tar), "control character");
    expectRefused(extract({fileEntry("new\nline")}, ArchiveFormat::Tar), "control character");
}

TEST_F(BundleExtractorTest, CheckEntryNameRefusesNul)
{
    auto nul = BundleExtractor::checkEntryName(std::string_view("a\0b", 3));
    EXPECT_FALSE(nul);
    EXPECT_NE(nul.error().find("NUL"), std::string::npos);
    EXPECT_FALSE(BundleExtractor::checkEntryName(""));
    EXPECT_FALSE(BundleExtractor::checkEntryName("./"));
    auto normalised = BundleExtractor::checkEntryName("./a//b/");
    EXPECT_TRUE(normalised);
    EXPECT_EQ(*normalised, "a/b");
}

TEST_F(BundleExtractorTest, CapsEntryCount)
{
    std::vector<ArchiveEntry> entries;
    for (int i = 0; i < 11; ++i)
        entries.push_back(fileEntry("f" + std::to_string(i)));
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
    ExtractionLimits limits;
    limits.maxTotalBytes = 8 * 1024 * 1024;
    serval::test::makeDirs(tmp.file("in"));
    serval::test::writeArchive(tmp.file("in/shop.sar"), serval::test::zipBomb(64, 1024 * 1024));
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
                  "entry \"big.bin\" is larger than 1 MiB (maxBundleFileSize)");
    expectRefused(extract({serval::test::zeros("big.bin", 2 * 1024 * 1024)}, ArchiveFormat::TarGz, limits),
                  "is larger than 1 MiB");
}

TEST_F(BundleExtractorTest, RefusesTruncatedArchive)
{
    for (ArchiveFormat format : {ArchiveFormat::Zip, ArchiveFormat::TarGz}) {
        serval::test::makeDirs(tmp.file("in"));
        serval::test::writeTruncatedArchive(tmp.file("in/shop.sar"), format);
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
    serval::test::writeArchive(tmp.file("in/shop.sar"), {fileEntry("a")});
    Outcome o = extractFile(tmp.file("in/shop.sar"));
    EXPECT_FALSE(o.ok);
    EXPECT_NE(o.error.find("cannot create staging directory"), std::string::npos) << o.error;
}

TEST_F(BundleExtractorTest, ExtractsFromMemory)
{
    serval::test::makeDirs(tmp.file("in"));
    serval::test::makeDirs(tmp.file("out"));
    serval::test::writeArchive(tmp.file("in/shop.sar"), {fileEntry("hello.txt", "hello")});
    std::string bytes = serval::test::readFile(tmp.file("in/shop.sar"));
    BundleExtractor extractor;
    auto result = extractor.extractMemory(bytes.data(), bytes.size(), staging(), "upload.sar");
    ASSERT_TRUE(result) << result.error();
    EXPECT_EQ(serval::test::readFile(staging() + "/hello.txt"), "hello");
    EXPECT_EQ(result->sha256, serval::bundle::sha256File(tmp.file("in/shop.sar")));
}

TEST_F(BundleExtractorTest, ChecksumComesFromTheReadsThatUnpack)
{
    // The registry's checksum is the SHA-256 of the archive file, whichever order the format's
    // reader reads it in (zip: the central directory at the end first).
    std::string blob = serval::test::incompressible(300 * 1024);
    for (ArchiveFormat format : {ArchiveFormat::Zip, ArchiveFormat::Tar, ArchiveFormat::TarGz}) {
        SCOPED_TRACE(static_cast<int>(format));
        Outcome o =
            extract({fileEntry("a.bin", blob), fileEntry("b/c.txt", "c"), fileEntry("d.bin", blob)}, format);
        ASSERT_TRUE(o.ok) << o.error;
        EXPECT_EQ(o.result.sha256, serval::bundle::sha256File(tmp.file("in/shop.sar")).value_or("?"));
        EXPECT_EQ(o.result.sha256.size(), 64u);
        serval::bundle::removeTree(staging());
    }
}

TEST(RemoveTreeTest, DoesNotFollowSymlinks)
{
    TempDir tmp;
    tmp.write("outside/keep.txt", "keep");
    tmp.write("tree/a/b.txt", "x");
    ASSERT_EQ(::symlink(tmp.file("outside").c_str(), tmp.file("tree/a/link").c_str()), 0);
    EXPECT_TRUE(serval::bundle::removeTree(tmp.file("tree")));
    EXPECT_EQ(serval::test::readFile(tmp.file("outside/keep.txt")), "keep");
    struct stat st;
    EXPECT_NE(::lstat(tmp.file("tree").c_str(), &st), 0);
}
