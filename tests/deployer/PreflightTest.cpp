// The preflight end to end: bundle::runPreflight starting the preflight child (a stand-in for
// `serval preflight` built from deployer::preflightMain) on each fixture app.
#include "bundle/Preflight.h"

#include "support/Fixtures.h"

#include <chrono>
#include <gtest/gtest.h>

using serval::bundle::PreflightRequest;
using serval::bundle::runPreflight;
using namespace std::chrono_literals;

namespace {

PreflightRequest request(const std::string& fixture)
{
    PreflightRequest r;
    r.appName = "shop";
    r.libraries = {serval::test::fixtureLibrary(fixture)};
    return r;
}

serval::util::Expected<std::string> preflight(const std::string& fixture,
                                              std::chrono::milliseconds deadline = 5s)
{
    return runPreflight(SERVAL_PREFLIGHT_DRIVER, request(fixture), deadline);
}

} // namespace

TEST(PreflightTest, AcceptsAGoodLibrary)
{
    auto r = preflight("good");
    ASSERT_TRUE(r) << r.error();
    EXPECT_NE(r->find("ABI"), std::string::npos) << *r;
}

TEST(PreflightTest, RefusesLibraryWithoutEntry)
{
    auto r = preflight("no_entry");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("does not export serval_app_init_v1"), std::string::npos) << r.error();
}

TEST(PreflightTest, RefusesConstructorThatExits)
{
    auto r = preflight("exit_ctor");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), "libexit_ctor.so ended the preflight process with exit status 3 while loading (a "
                         "constructor or init called exit()); libraries must not exit the process");
}

TEST(PreflightTest, RefusesConstructorThatCrashes)
{
    auto r = preflight("crash_ctor");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("crashed the preflight process with SIGILL"), std::string::npos) << r.error();
}

TEST(PreflightTest, KillsLibraryThatHangsAtTheDeadline)
{
    auto start = std::chrono::steady_clock::now();
    auto r = preflight("init_hangs", 300ms);
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("did not finish loading within 300 ms"), std::string::npos) << r.error();
    EXPECT_LT(took, 3s);
}

TEST(PreflightTest, RefusesInitThatFails)
{
    auto r = preflight("init_fails");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("the database is not configured"), std::string::npos) << r.error();
}

TEST(PreflightTest, ReportsAMissingBinary)
{
    auto r = runPreflight("/nonexistent/serval", request("good"), 1s);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("cannot start the preflight process"), std::string::npos) << r.error();
}

TEST(PreflightTest, CreatesEveryClassTheDescriptorNames)
{
    PreflightRequest r = request("named_classes");
    r.servletClasses = {"Hello"};
    r.filterClasses = {"AddHeader"};
    auto ok = runPreflight(SERVAL_PREFLIGHT_DRIVER, r, 5s);
    EXPECT_TRUE(ok) << ok.error();

    r.servletClasses = {"Hello", "shop.Cart"};
    auto missing = runPreflight(SERVAL_PREFLIGHT_DRIVER, r, 5s);
    ASSERT_FALSE(missing);
    // The loader's own sentence, as the Context gives it when it creates the class.
    EXPECT_EQ(missing.error(),
              "app \"shop\": libnamed_classes.so has no servlet class \"shop.Cart\" (it offers: "
              "Hello): check <servlet-class> in WEB-INF/web.xml");

    r.servletClasses.clear();
    r.listenerClasses = {"shop.Sessions"};
    missing = runPreflight(SERVAL_PREFLIGHT_DRIVER, r, 5s);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().find("has no listener class \"shop.Sessions\" (it offers: none)"),
              std::string::npos)
        << missing.error();
}

TEST(PreflightTest, BlamesTheLibraryThatWasLoading)
{
    PreflightRequest r = request("good");
    r.libraries.push_back(serval::test::fixtureLibrary("crash_ctor"));
    auto crashed = runPreflight(SERVAL_PREFLIGHT_DRIVER, r, 5s);
    ASSERT_FALSE(crashed);
    EXPECT_EQ(crashed.error().rfind("libcrash_ctor.so crashed the preflight process with SIGILL", 0), 0u)
        << crashed.error();
}

TEST(PreflightTest, RequestRoundTripsThroughTheCommandLine)
{
    PreflightRequest r = request("good");
    r.servletClasses = {"a.B", "-odd"};
    r.filterClasses = {"f.F"};
    r.listenerClasses = {"l.L"};
    std::vector<std::string> args = {"serval", "preflight"};
    for (const std::string& a : r.arguments())
        args.push_back(a);
    std::vector<char*> argv;
    for (std::string& a : args)
        argv.push_back(a.data());
    auto parsed = PreflightRequest::parse(static_cast<int>(argv.size()), argv.data());
    ASSERT_TRUE(parsed) << parsed.error();
    EXPECT_EQ(parsed->appName, "shop");
    EXPECT_EQ(parsed->libraries, r.libraries);
    EXPECT_EQ(parsed->servletClasses, r.servletClasses);
    EXPECT_EQ(parsed->filterClasses, r.filterClasses);
    EXPECT_EQ(parsed->listenerClasses, r.listenerClasses);
}
