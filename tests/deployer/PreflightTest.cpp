#include "deployer/Preflight.h"

#include "deployer/Fixtures.h"

#include <chrono>
#include <gtest/gtest.h>

using serval::deployer::runPreflight;
using namespace std::chrono_literals;

namespace {
serval::deployer::PreflightResult preflight(const std::string& fixture,
                                            std::chrono::milliseconds deadline = 5s)
{
    return runPreflight(serval::test::preflightDriver(), serval::test::fixtureLibrary(fixture), "/shop",
                        deadline);
}
} // namespace

TEST(PreflightTest, AcceptsAGoodLibrary)
{
    auto r = preflight("fixture_app");
    EXPECT_TRUE(r.ok) << r.detail;
    EXPECT_NE(r.detail.find("ABI"), std::string::npos) << r.detail;
}

TEST(PreflightTest, RefusesLibraryWithoutEntry)
{
    auto r = preflight("fixture_noentry");
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.detail.find("does not export serval_app_init_v1"), std::string::npos) << r.detail;
}

TEST(PreflightTest, RefusesConstructorThatExits)
{
    auto r = preflight("fixture_exit_ctor");
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.detail,
              "libfixture_exit_ctor.so ended the preflight process with exit status 3 while loading (a "
              "constructor or init called exit()); libraries must not exit the process");
}

TEST(PreflightTest, RefusesConstructorThatCrashes)
{
    auto r = preflight("fixture_crash_ctor");
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.detail.find("crashed the preflight process with SIGILL"), std::string::npos) << r.detail;
}

TEST(PreflightTest, KillsLibraryThatHangsAtTheDeadline)
{
    auto start = std::chrono::steady_clock::now();
    auto r = preflight("fixture_init_hangs", 300ms);
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.detail.find("did not finish loading within 300 ms"), std::string::npos) << r.detail;
    EXPECT_LT(took, 3s);
}

TEST(PreflightTest, RefusesInitThatFails)
{
    auto r = preflight("fixture_init_fails");
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.detail.find("the database is not configured"), std::string::npos) << r.detail;
}

TEST(PreflightTest, ReportsAMissingBinary)
{
    auto r = runPreflight("/nonexistent/serval", serval::test::fixtureLibrary("fixture_app"), "/shop", 1s);
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.detail.find("cannot start the preflight process"), std::string::npos) << r.detail;
}
