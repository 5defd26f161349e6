// servalctl as a user runs it: the real binary, with `serval preflight` next to it.
#include "support/Servalctl.h"

#include "support/ArchiveBuilder.h"
#include "support/Fixtures.h"
#include "support/TempDir.h"

#include <algorithm>
#include <gtest/gtest.h>
#include <unistd.h>

using serval::test::CtlRun;
using serval::test::TempDir;

namespace {

CtlRun servalctl(const TempDir& tmp, const std::vector<std::string>& args)
{
    return serval::test::runServalctl(tmp, args);
}

class ServalctlTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        tmp.write(
            "app/WEB-INF/web.xml",
            "<?xml version=\"1.0\"?>\n<web-app>\n  <display-name>Shop</display-name>\n"
            "  <servlet><servlet-name>hello</servlet-name><servlet-class>Hello</servlet-class></servlet>\n"
            "  <servlet-mapping><servlet-name>hello</servlet-name><url-pattern>/hello</url-pattern>"
            "</servlet-mapping>\n"
            "  <filter><filter-name>h</filter-name><filter-class>AddHeader</filter-class></filter>\n"
            "  <filter-mapping><filter-name>h</filter-name><url-pattern>/*</url-pattern></filter-mapping>\n"
            "</web-app>\n");
        tmp.write("app/index.html", "<h1>shop</h1>");
        library("named_classes"); // offers the servlet class Hello and the filter class AddHeader
    }
    void library(const std::string& fixture)
    {
        serval::test::makeDirs(tmp.file("app/WEB-INF/lib"));
        serval::test::copyWithPatch(serval::test::fixtureLibrary(fixture),
                                    tmp.file("app/WEB-INF/lib/libshop.so"));
    }
    std::string singleLine(const std::string& text)
    {
        EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
        return text;
    }
    TempDir tmp;
};

} // namespace

TEST_F(ServalctlTest, PackInspectVerifyRoundTrip)
{
    CtlRun pack = servalctl(tmp, {"pack", tmp.file("app"), "-o", tmp.file("shop##2.sar")});
    ASSERT_EQ(pack.exit, 0) << pack.err;
    EXPECT_NE(pack.out.find("packed"), std::string::npos);

    CtlRun inspect = servalctl(tmp, {"inspect", tmp.file("shop##2.sar")});
    ASSERT_EQ(inspect.exit, 0) << inspect.err;
    for (const char* needle :
         {"context:      /shop (version 2)", "display name: Shop", "hello (Hello) -> /hello",
          "h (AddHeader) -> /*", "WEB-INF/lib/libshop.so (x86-64, shared library, exports",
          "files:        3 files", "sha256:       "}) {
        EXPECT_NE(inspect.out.find(needle), std::string::npos) << needle << "\n" << inspect.out;
    }

    CtlRun verify = servalctl(tmp, {"verify", tmp.file("shop##2.sar")});
    EXPECT_EQ(verify.exit, 0) << verify.err;
    EXPECT_EQ(verify.out.rfind("shop##2.sar: ok", 0), 0u) << verify.out;

    CtlRun verifyDir = servalctl(tmp, {"verify", tmp.file("app")});
    EXPECT_EQ(verifyDir.exit, 0) << verifyDir.err;
}

TEST_F(ServalctlTest, UsageErrorsExitTwo)
{
    EXPECT_EQ(servalctl(tmp, {}).exit, 2);
    EXPECT_EQ(servalctl(tmp, {"frobnicate"}).exit, 2);
    EXPECT_EQ(servalctl(tmp, {"verify"}).exit, 2);
    EXPECT_EQ(servalctl(tmp, {"inspect", "a", "b"}).exit, 2);
    EXPECT_EQ(servalctl(tmp, {"pack", tmp.file("app")}).exit, 2);
    EXPECT_EQ(servalctl(tmp, {"pack", tmp.file("app"), "-o", tmp.file("bad name.txt")}).exit, 2);
    EXPECT_EQ(servalctl(tmp, {"--help"}).exit, 0);
}

TEST_F(ServalctlTest, VerifyRefusesWithTheContainersMessages)
{
    struct Case
    {
        std::string fixture;
        std::string message;
    } cases[] = {
        {"no_entry", "shop.sar: app \"shop\": libshop.so does not export serval_app_init_v1"},
        {"crash_ctor", "shop.sar: libshop.so crashed the preflight process with SIGILL"},
        {"exit_ctor", "shop.sar: libshop.so ended the preflight process with exit status 3"},
    };
    for (const Case& c : cases) {
        library(c.fixture);
        // pack validates too: build the archive directly so verify sees the bad library.
        serval::test::writeArchive(
            tmp.file("shop.sar"),
            {{"WEB-INF/web.xml", serval::test::readFile(tmp.file("app/WEB-INF/web.xml"))},
             {"WEB-INF/lib/libshop.so", serval::test::readFile(tmp.file("app/WEB-INF/lib/libshop.so"))}});
        CtlRun verify = servalctl(tmp, {"verify", tmp.file("shop.sar")});
        EXPECT_EQ(verify.exit, 1) << c.fixture;
        EXPECT_EQ(singleLine(verify.err).rfind(c.message, 0), 0u) << verify.err;
    }
}

TEST_F(ServalctlTest, VerifyRefusesMigrationsTheDeployWouldRefuse)
{
    // The same checks and sentences as the deploy's (datasource::checkMigrationFiles), so a
    // misnamed migration fails here and not only in the server's log.
    tmp.write("app/WEB-INF/migrations/V1__create.sql", "CREATE TABLE t (x INTEGER);");
    CtlRun noSource = servalctl(tmp, {"verify", tmp.file("app")});
    EXPECT_EQ(noSource.exit, 1) << noSource.out;
    EXPECT_NE(singleLine(noSource.err)
                  .find("app: WEB-INF/migrations/ holds migrations but WEB-INF/web.xml "
                        "declares no data source"),
              std::string::npos)
        << noSource.err;

    std::string webXml = serval::test::readFile(tmp.file("app/WEB-INF/web.xml"));
    webXml.insert(webXml.find("</web-app>"),
                  "  <resource-ref><res-ref-name>main</res-ref-name></resource-ref>\n");
    tmp.write("app/WEB-INF/web.xml", webXml);
    tmp.write("app/WEB-INF/migrations/V3_typo.sql", "SELECT 1;");
    CtlRun misnamed = servalctl(tmp, {"verify", tmp.file("app")});
    EXPECT_EQ(misnamed.exit, 1) << misnamed.out;
    EXPECT_EQ(singleLine(misnamed.err)
                  .rfind("app: WEB-INF/migrations/V3_typo.sql: a migration is named "
                         "V<version>__<description>.sql",
                         0),
              0u)
        << misnamed.err;

    ::unlink(tmp.file("app/WEB-INF/migrations/V3_typo.sql").c_str());
    CtlRun fine = servalctl(tmp, {"verify", tmp.file("app")});
    EXPECT_EQ(fine.exit, 0) << fine.err;
}

TEST_F(ServalctlTest, VerifyKillsAnInitThatHangs)
{
    serval::test::writeArchive(
        tmp.file("shop.sar"),
        {{"WEB-INF/web.xml", serval::test::readFile(tmp.file("app/WEB-INF/web.xml"))},
         {"WEB-INF/lib/libshop.so", serval::test::readFile(serval::test::fixtureLibrary("init_hangs"))}});
    CtlRun verify = servalctl(tmp, {"verify", "--timeout", "300", tmp.file("shop.sar")});
    EXPECT_EQ(verify.exit, 1);
    EXPECT_EQ(singleLine(verify.err),
              "shop.sar: libshop.so did not finish loading within 300 ms in the preflight "
              "process (a constructor or init hangs); fix it and redeploy\n");
    EXPECT_EQ(servalctl(tmp, {"verify", "--timeout", "zero", tmp.file("shop.sar")}).exit, 2);
}

TEST_F(ServalctlTest, VerifyRefusesHostileArchives)
{
    serval::test::writeArchive(tmp.file("shop.sar"), {{"../../etc/passwd", "x"}});
    CtlRun verify = servalctl(tmp, {"verify", tmp.file("shop.sar")});
    EXPECT_EQ(verify.exit, 1);
    EXPECT_EQ(singleLine(verify.err),
              "shop.sar: entry \"../../etc/passwd\" leaves the bundle; rebuild the bundle "
              "without parent-directory entries\n");

    serval::test::writeArchive(tmp.file("shop.sar"), {{"index.html", "x"}});
    verify = servalctl(tmp, {"verify", tmp.file("shop.sar")});
    EXPECT_EQ(verify.exit, 1);
    EXPECT_EQ(singleLine(verify.err),
              "shop.sar: WEB-INF/web.xml is missing; add a deployment descriptor (see sdk/examples/hello)\n");
}

TEST_F(ServalctlTest, PackRefusesSymlinksAndMissingDescriptor)
{
    ASSERT_EQ(::symlink("/etc/passwd", tmp.file("app/passwd").c_str()), 0);
    CtlRun pack = servalctl(tmp, {"pack", tmp.file("app"), "-o", tmp.file("shop.sar")});
    EXPECT_EQ(pack.exit, 1);
    EXPECT_NE(singleLine(pack.err).find("is a symbolic link"), std::string::npos) << pack.err;
    ::unlink(tmp.file("app/passwd").c_str());
    ::unlink(tmp.file("app/WEB-INF/web.xml").c_str());
    pack = servalctl(tmp, {"pack", tmp.file("app"), "-o", tmp.file("shop.sar")});
    EXPECT_EQ(pack.exit, 1);
    EXPECT_NE(pack.err.find("WEB-INF/web.xml is missing"), std::string::npos) << pack.err;
}

TEST_F(ServalctlTest, VerifyCreatesEveryClassTheDescriptorNames)
{
    // The library offers Hello and AddHeader; web.xml also names a servlet class it lacks. The
    // deploy refuses this bundle in its preflight, and so does verify, with the same line.
    std::string webXml = serval::test::readFile(tmp.file("app/WEB-INF/web.xml"));
    webXml.replace(
        webXml.find("</web-app>"), 0,
        "  <servlet><servlet-name>cart</servlet-name><servlet-class>shop.Cart</servlet-class></servlet>\n");
    serval::test::writeArchive(
        tmp.file("shop.sar"),
        {{"WEB-INF/web.xml", webXml},
         {"WEB-INF/lib/libshop.so", serval::test::readFile(tmp.file("app/WEB-INF/lib/libshop.so"))}});
    CtlRun verify = servalctl(tmp, {"verify", tmp.file("shop.sar")});
    EXPECT_EQ(verify.exit, 1);
    EXPECT_EQ(singleLine(verify.err),
              "shop.sar: app \"shop\": libshop.so has no servlet class \"shop.Cart\" (it offers: "
              "Hello): check <servlet-class> in WEB-INF/web.xml\n");
}

TEST_F(ServalctlTest, VerifyNamesTheServalBinaryItCannotFind)
{
    CtlRun verify = servalctl(tmp, {"verify", "--serval", tmp.file("no/serval"), tmp.file("app")});
    EXPECT_EQ(verify.exit, 2);
    EXPECT_EQ(
        singleLine(verify.err).rfind("servalctl verify: no serval binary at " + tmp.file("no/serval"), 0), 0u)
        << verify.err;
    // Static files only: nothing to load, so no serval binary is needed.
    ::unlink(tmp.file("app/WEB-INF/lib/libshop.so").c_str());
    tmp.write("app/WEB-INF/web.xml", serval::test::minimalWebXml());
    verify = servalctl(tmp, {"verify", "--serval", tmp.file("no/serval"), tmp.file("app")});
    EXPECT_EQ(verify.exit, 0) << verify.err;
}
