// Restart back-off and quarantine (container/process/RestartPolicy.h), on a clock the test drives.
#include "process/RestartPolicy.h"

#include <gtest/gtest.h>

using namespace serval::process;
using namespace std::chrono_literals;
using TimePoint = RestartPolicy::TimePoint;

TEST(RestartPolicyTest, FirstCrashRestartsAtOnceThenTheWaitDoubles)
{
    RestartPolicy policy;
    TimePoint t{};
    EXPECT_EQ(policy.onCrash(t += 1s).delay, 0ms);
    EXPECT_EQ(policy.onCrash(t += 1s).delay, 100ms);
    EXPECT_EQ(policy.onCrash(t += 1s).delay, 200ms);
    EXPECT_EQ(policy.onCrash(t += 20s).delay, 400ms);
    EXPECT_FALSE(policy.quarantined()) << "4 crashes in 22 s";
}

TEST(RestartPolicyTest, TheWaitIsCappedAt30Seconds)
{
    RestartSettings settings;
    settings.crashBudget = 1000;
    RestartPolicy policy(settings);
    TimePoint t{};
    std::chrono::milliseconds delay{0};
    for (int i = 0; i < 20; ++i)
        delay = policy.onCrash(t += 59s).delay;
    EXPECT_EQ(delay, 30s);
}

TEST(RestartPolicyTest, SixtySecondsWithoutACrashResetTheBackOff)
{
    RestartPolicy policy;
    TimePoint t{};
    policy.onCrash(t);
    policy.onCrash(t += 1s);
    EXPECT_EQ(policy.onCrash(t += 1s).delay, 200ms);
    EXPECT_EQ(policy.onCrash(t += 60s).delay, 0ms);
}

TEST(RestartPolicyTest, FiveCrashesWithinSixtySecondsQuarantine)
{
    RestartPolicy policy;
    TimePoint t{};
    for (int i = 0; i < 4; ++i)
        EXPECT_FALSE(policy.onCrash(t += 14s).quarantine) << i;
    EXPECT_EQ(policy.recentCrashes(t), 4u);
    EXPECT_TRUE(policy.onCrash(t += 2s).quarantine) << "the fifth within 58 s";
    EXPECT_TRUE(policy.quarantined());
    policy.reset();
    EXPECT_FALSE(policy.quarantined());
    EXPECT_EQ(policy.recentCrashes(t), 0u);
}

TEST(RestartPolicyTest, CrashesOutsideTheWindowDoNotCount)
{
    RestartPolicy policy;
    TimePoint t{};
    for (int i = 0; i < 20; ++i)
        EXPECT_FALSE(policy.onCrash(t += 16s).quarantine) << "one every 16 s: at most 4 in any 60 s";
}

TEST(RestartPolicyTest, TheBudgetAndWindowAreSettings)
{
    RestartSettings settings;
    settings.crashBudget = 2;
    settings.crashWindow = 1s;
    RestartPolicy policy(settings);
    TimePoint t{};
    EXPECT_FALSE(policy.onCrash(t).quarantine);
    EXPECT_FALSE(policy.onCrash(t += 1500ms).quarantine);
    EXPECT_TRUE(policy.onCrash(t += 500ms).quarantine);
}
