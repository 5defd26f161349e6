#include "session/PendingTouches.h"

#include <gtest/gtest.h>

using serval::session::PendingTouches;

TEST(PendingTouchesTest, KeepsTheLatestTimePerSession)
{
    PendingTouches touches;
    touches.touch("h/a", "s1", 100);
    touches.touch("h/a", "s1", 300);
    touches.touch("h/a", "s1", 200);
    touches.touch("h/b", "s1", 50);
    EXPECT_EQ(touches.latest("h/a", "s1"), 300);
    EXPECT_EQ(touches.latest("h/b", "s1"), 50);
    EXPECT_FALSE(touches.latest("h/a", "s2"));

    auto taken = touches.take();
    EXPECT_EQ(taken.size(), 2u);
    EXPECT_TRUE(touches.empty());
    EXPECT_FALSE(touches.latest("h/a", "s1"));
}

TEST(PendingTouchesTest, RestoreKeepsANewerTouch)
{
    PendingTouches touches;
    touches.touch("h/a", "s1", 100);
    auto taken = touches.take();
    touches.touch("h/a", "s1", 500); // arrived while the write failed
    touches.restore(std::move(taken));
    EXPECT_EQ(touches.latest("h/a", "s1"), 500);
}

TEST(PendingTouchesTest, ScopeAndIdCannotBeConfused)
{
    PendingTouches touches;
    touches.touch("h/a", "bc", 1);
    EXPECT_FALSE(touches.latest("h/ab", "c"));
}
