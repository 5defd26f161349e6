#include "bundle/BundleValidator.h"

#include "bundle/ElfInspector.h"
#include "support/ArchiveBuilder.h"
#include "support/Fixtures.h"
#include "support/TempDir.h"

#include <gtest/gtest.h>
#include <serval/abi.h>
#include <string>
#include <unistd.h>

using serval::bundle::BundleValidator;
using serval::bundle::ElfInspector;
using serval::bundle::ValidationReport;
using serval::test::TempDir;

namespace {

class BundleValidatorTest : public ::testing::Test
{
protected:
    bool validate(bool requireDescriptor = true)
    {
        auto validated = BundleValidator::validate(tmp.path(), "shop.sar", requireDescriptor);
        report = validated ? *validated : ValidationReport{};
        error = validated ? std::string() : validated.error();
        return validated.ok();
    }
    void addLibrary(const std::string& fixture, const std::string& as)
    {
        serval::test::makeDirs(tmp.file("WEB-INF/lib"));
        serval::test::copyWithPatch(serval::test::fixtureLibrary(fixture), tmp.file("WEB-INF/lib/" + as));
    }
    TempDir tmp;
    ValidationReport report;
    std::string error;
};

} // namespace

TEST_F(BundleValidatorTest, AcceptsDescriptorAndAppLibrary)
{
    tmp.write("WEB-INF/web.xml", serval::test::minimalWebXml());
    addLibrary("good", "libshop.so");
    ASSERT_TRUE(validate()) << error;
    EXPECT_TRUE(report.hasDescriptor());
    EXPECT_EQ(report.libraries, std::vector<std::string>{"WEB-INF/lib/libshop.so"});
}

TEST_F(BundleValidatorTest, StaticOnlyBundleNeedsNoLibrary)
{
    tmp.write("WEB-INF/web.xml", serval::test::minimalWebXml());
    tmp.write("index.html", "hi");
    ASSERT_TRUE(validate()) << error;
    EXPECT_TRUE(report.libraries.empty());
}

TEST_F(BundleValidatorTest, RefusesMissingDescriptor)
{
    tmp.write("index.html", "hi");
    EXPECT_FALSE(validate());
    EXPECT_EQ(error,
              "shop.sar: WEB-INF/web.xml is missing; add a deployment descriptor (see sdk/examples/hello)");
    EXPECT_TRUE(validate(false)) << "exploded directories may be static-only";
}

TEST_F(BundleValidatorTest, RefusesMalformedDescriptorWithLine)
{
    tmp.write("WEB-INF/web.xml", "<?xml version=\"1.0\"?>\n<web-app>\n  <servlet>\n</web-app>\n");
    EXPECT_FALSE(validate());
    EXPECT_EQ(error.rfind("shop.sar: WEB-INF/web.xml:", 0), 0u) << error;
    EXPECT_EQ(error,
              "shop.sar: WEB-INF/web.xml:3: malformed XML: mismatched element; fix the markup at this line");
}

TEST_F(BundleValidatorTest, RefusesWrongRootElement)
{
    tmp.write("WEB-INF/web.xml", "<html/>");
    EXPECT_FALSE(validate());
    EXPECT_EQ(error, "shop.sar: WEB-INF/web.xml:1: the root element is <html>; expected <web-app>");
}

TEST_F(BundleValidatorTest, RefusesLibraryThatIsNotElf)
{
    tmp.write("WEB-INF/web.xml", serval::test::minimalWebXml());
    tmp.write("WEB-INF/lib/libshop.so", "#!/bin/sh\necho not a library\n");
    EXPECT_FALSE(validate());
    EXPECT_EQ(error,
              "shop.sar: WEB-INF/lib/libshop.so is not an ELF file; put only shared libraries built for "
              "Serval in WEB-INF/lib");
}

TEST_F(BundleValidatorTest, RefusesLibraryForAnotherArchitecture)
{
    tmp.write("WEB-INF/web.xml", serval::test::minimalWebXml());
    serval::test::makeDirs(tmp.file("WEB-INF/lib"));
    // e_machine (offset 18, little endian) = 183, EM_AARCH64 (or EM_X86_64 on an AArch64 host).
    std::string other = ElfInspector::hostMachineName() == "AArch64" ? std::string("\x3e\x00", 2)
                                                                     : std::string("\xb7\x00", 2);
    serval::test::copyWithPatch(serval::test::fixtureLibrary("good"), tmp.file("WEB-INF/lib/libshop.so"), 18,
                                other);
    EXPECT_FALSE(validate());
    EXPECT_NE(error.find("WEB-INF/lib/libshop.so is built for"), std::string::npos) << error;
    EXPECT_NE(error.find("rebuild it for " + ElfInspector::hostMachineName()), std::string::npos) << error;
}

TEST_F(BundleValidatorTest, RefusesLibraryWithoutEntrySymbol)
{
    tmp.write("WEB-INF/web.xml", serval::test::minimalWebXml());
    addLibrary("no_entry", "libshop.so");
    EXPECT_FALSE(validate());
    EXPECT_EQ(error, "shop.sar: app \"shop\": libshop.so does not export serval_app_init_v1: build it with "
                     "serval_add_bundle() and SERVAL_APP(...), or define that entry from serval/abi.h");
}

TEST_F(BundleValidatorTest, NamesTheAbiOfALibraryBuiltForAnotherMajor)
{
    tmp.write("WEB-INF/web.xml", serval::test::minimalWebXml());
    addLibrary("other_major", "libshop.so");
    EXPECT_FALSE(validate());
    EXPECT_EQ(error, "shop.sar: app \"shop\": libshop.so exports serval_app_init_v2 (ABI 2.x) instead of "
                     "serval_app_init_v1; this container provides " +
                         std::to_string(SERVAL_ABI_MAJOR) + "." + std::to_string(SERVAL_ABI_MINOR) +
                         ": rebuild it against SDK 1.x");
}

TEST_F(BundleValidatorTest, HelperLibrariesBesideTheAppLibraryExportNoEntry)
{
    tmp.write("WEB-INF/web.xml", serval::test::minimalWebXml());
    addLibrary("good", "liba.so");
    addLibrary("no_entry", "libhelper.so"); // issue 13: an app may carry the libraries it links
    ASSERT_TRUE(validate()) << error;
    EXPECT_EQ(report.libraries,
              (std::vector<std::string>{"WEB-INF/lib/liba.so", "WEB-INF/lib/libhelper.so"}));
    EXPECT_EQ(report.appLibrary, "WEB-INF/lib/liba.so");
    EXPECT_EQ(BundleValidator::appLibraries(tmp.path()), std::vector<std::string>{"WEB-INF/lib/liba.so"});
}

TEST_F(BundleValidatorTest, HelpersPassTheSameElfChecks)
{
    tmp.write("WEB-INF/web.xml", serval::test::minimalWebXml());
    addLibrary("good", "liba.so");
    tmp.write("WEB-INF/lib/libhelper.so", "not an ELF file at all");
    EXPECT_FALSE(validate());
    EXPECT_NE(error.find("shop.sar: WEB-INF/lib/libhelper.so is not an ELF file"), std::string::npos)
        << error;
}

TEST_F(BundleValidatorTest, ExactlyOneLibraryExportsTheEntry)
{
    tmp.write("WEB-INF/web.xml", serval::test::minimalWebXml());
    addLibrary("good", "liba.so");
    addLibrary("good", "libb.so");
    EXPECT_FALSE(validate());
    EXPECT_EQ(error,
              "shop.sar: app \"shop\": liba.so and libb.so both export serval_app_init_v1; a bundle holds "
              "one app library (its helpers in WEB-INF/lib export no entry): deploy each app as its own "
              "bundle");

    ::unlink(tmp.file("WEB-INF/lib/liba.so").c_str());
    ::unlink(tmp.file("WEB-INF/lib/libb.so").c_str());
    addLibrary("no_entry", "libx.so");
    addLibrary("no_entry", "liby.so");
    EXPECT_FALSE(validate());
    EXPECT_EQ(error,
              "shop.sar: app \"shop\": libx.so, liby.so (none of them) exports serval_app_init_v1: build it "
              "with serval_add_bundle() and SERVAL_APP(...), or define that entry from serval/abi.h");
}

TEST_F(BundleValidatorTest, CarriesTheDescriptorItRead)
{
    tmp.write("WEB-INF/web.xml", serval::test::minimalWebXml("Shop"));
    ASSERT_TRUE(validate()) << error;
    ASSERT_TRUE(report.descriptor);
    EXPECT_EQ(report.descriptor->displayName, "Shop");
    EXPECT_EQ(report.descriptor->source, "WEB-INF/web.xml");
}

TEST_F(BundleValidatorTest, RefusesClassesWithoutALibraryToProvideThem)
{
    tmp.write("WEB-INF/web.xml",
              "<web-app>\n  <servlet><servlet-name>s</servlet-name><servlet-class>shop.Cart"
              "</servlet-class></servlet>\n</web-app>\n");
    EXPECT_FALSE(validate());
    EXPECT_EQ(error, "shop.sar: no library in WEB-INF/lib provides servlet class \"shop.Cart\"");
}

TEST(ElfInspectorTest, FindsEntryOnlyWhereExported)
{
    auto info = ElfInspector::inspect(serval::test::fixtureLibrary("good"), ElfInspector::kEntrySymbol);
    ASSERT_TRUE(info) << info.error();
    EXPECT_TRUE(info->sharedObject);
    EXPECT_TRUE(info->hostMachine);
    EXPECT_TRUE(info->exportsEntry);
    info = ElfInspector::inspect(serval::test::fixtureLibrary("no_entry"), ElfInspector::kEntrySymbol);
    ASSERT_TRUE(info) << info.error();
    EXPECT_FALSE(info->exportsEntry);
}

TEST(ElfInspectorTest, SurvivesTruncatedAndGarbageHeaders)
{
    TempDir tmp;
    std::string lib = serval::test::readFile(serval::test::fixtureLibrary("good"));
    for (size_t cut : {size_t(4), size_t(20), size_t(64), lib.size() / 2, lib.size() - 10}) {
        tmp.write("cut.so", lib.substr(0, cut));
        EXPECT_FALSE(ElfInspector::check(tmp.file("cut.so"), true)) << cut;
    }
    // Section header offset pointing past the end of the file.
    std::string broken = lib;
    for (int i = 0; i < 8; ++i)
        broken[0x28 + i] = '\x7f';
    tmp.write("broken.so", broken);
    EXPECT_FALSE(ElfInspector::check(tmp.file("broken.so"), true));
}
