// An isolated app is mapped in the server exactly as an in-process one (issue 11): its worker
// reports what its libraries declare in code (process::ReadyMessage), so servlets at "" and
// "/items/*", a servlet at "/" (the default servlet) and a filter around static files answer the
// same in both modes, and the server serves the static files no filter wraps itself. Run with
// isolation="process" and isolation="none" against the real binary.
#include "support/Fixtures.h"
#include "support/HttpClient.h"
#include "support/ServalProcess.h"
#include "support/TempDir.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using serval::test::HttpReply;
using serval::test::ServalProcess;
using serval::test::TempDir;
using ::testing::StartsWith;

namespace {

class IsolatedMappingTest : public ::testing::TestWithParam<const char*>
{
protected:
    void SetUp() override
    {
        base.write("conf/server.xml",
                   std::string("<Server accessLog=\"\">\n"
                               "  <Connector address=\"127.0.0.1\" port=\"0\"/>\n"
                               "  <Engine defaultHost=\"localhost\">\n"
                               "    <Host name=\"localhost\" appBase=\"webapps\" isolation=\"") +
                       GetParam() + "\"/>\n  </Engine>\n</Server>\n");
        for (const auto& [app, library] :
             {std::pair{"shop", "declared"}, std::pair{"fallback", "declared_default"}}) {
            serval::test::installFixtureApp(base, app, library, "<web-app/>");
            std::string root = std::string("webapps/") + app;
            base.write(root + "/style.css", "body{}");
            base.write(root + "/docs/guide.txt", "the guide");
            base.write(root + "/img/index.html", "pictures");
        }
        server = std::make_unique<ServalProcess>(base.path());
        ASSERT_TRUE(server->start()) << server->error();
    }

    HttpReply get(const std::string& target) { return serval::test::httpGet(server->port(), target); }
    bool isolated() const { return std::string(GetParam()) == "process"; }
    /// The pid at the end of a servlet's answer ("root 123").
    static int answeredBy(const std::string& body) { return std::atoi(body.c_str() + body.rfind(' ') + 1); }
    /// Who must run app code: a worker process, or the server itself.
    void expectRunsWhereTheModeSays(int pid, const std::string& what)
    {
        EXPECT_GT(pid, 0) << what;
        if (isolated()) {
            EXPECT_NE(pid, server->pid()) << what << " runs in a worker";
        } else {
            EXPECT_EQ(pid, server->pid()) << what << " runs in the server";
        }
    }

    TempDir base;
    std::unique_ptr<ServalProcess> server;
};

} // namespace

TEST_P(IsolatedMappingTest, CodeDeclaredServletsAndFiltersMapAsInProcess)
{
    HttpReply root = get("/shop/");
    ASSERT_EQ(root.status, 200) << server->log();
    EXPECT_THAT(root.body, StartsWith("root "));
    expectRunsWhereTheModeSays(answeredBy(root.body), "the servlet at \"\"");
    HttpReply item = get("/shop/items/7");
    EXPECT_EQ(item.status, 200);
    EXPECT_THAT(item.body, StartsWith("items /7 "));
    expectRunsWhereTheModeSays(answeredBy(item.body), "the servlet at /items/*");
    EXPECT_THAT(get("/shop/items").body, StartsWith("items - ")) << "/items/* maps /items too";

    // Static files beside them: no filter wraps these, so the server serves them.
    HttpReply css = get("/shop/style.css");
    EXPECT_EQ(css.status, 200);
    EXPECT_EQ(css.body, "body{}");
    EXPECT_EQ(css.header("X-Stamp"), "");
    HttpReply welcome = get("/shop/img/");
    EXPECT_EQ(welcome.status, 200);
    EXPECT_EQ(welcome.body, "pictures");
    EXPECT_EQ(get("/shop/img").status, 302) << "a directory without its slash is redirected";
    EXPECT_EQ(get("/shop/missing.txt").status, 404);

    // The code-declared filter runs around the static files it maps, where the app's code runs.
    HttpReply guide = get("/shop/docs/guide.txt");
    EXPECT_EQ(guide.status, 200);
    EXPECT_EQ(guide.body, "the guide");
    ASSERT_NE(guide.header("X-Stamp"), "") << guide.raw;
    expectRunsWhereTheModeSays(std::atoi(guide.header("X-Stamp").c_str()), "the filter at /docs/*");
    EXPECT_EQ(get("/shop/docs/nothing.txt").status, 404);
}

TEST_P(IsolatedMappingTest, ACodeDeclaredDefaultServletAnswersForTheStaticFiles)
{
    // "/" replaces the DefaultServlet: an existing file is the servlet's too.
    HttpReply css = get("/fallback/style.css");
    ASSERT_EQ(css.status, 200) << server->log();
    EXPECT_THAT(css.body, StartsWith("fallback /style.css "));
    expectRunsWhereTheModeSays(answeredBy(css.body), "the servlet at /");
    EXPECT_THAT(get("/fallback/img/").body, StartsWith("fallback /img/ "));
    EXPECT_THAT(get("/fallback/nothing").body, StartsWith("fallback /nothing "));
    EXPECT_THAT(get("/fallback/").body, StartsWith("root ")) << "\"\" still wins at the root";
    EXPECT_THAT(get("/fallback/items/1").body, StartsWith("items /1 "));
}

INSTANTIATE_TEST_SUITE_P(BothModes, IsolatedMappingTest, ::testing::Values("process", "none"),
                         [](const auto& info) { return std::string(info.param); });
