// core::ContextLane alone: an app's bounded share of the shared pool, with a fake pool and fake
// tasks (the real-socket behaviour is in tests/connector/DispatchLaneTest.cpp).
#include "core/ContextLane.h"

#include <deque>
#include <gtest/gtest.h>

namespace serval::core {
namespace {

/// The shared pool: takes up to `capacity` tasks and keeps them (nothing runs).
class FakePool final : public http::DispatchLane
{
public:
    explicit FakePool(uint32_t threadCount, size_t capacity = 1000)
        : _threads(threadCount), _capacity(capacity)
    {}
    bool submit(http::DispatchTask& task) noexcept override
    {
        if (taken.size() >= _capacity) return false;
        taken.push_back(&task);
        return true;
    }
    bool cancel(http::DispatchTask& task) noexcept override
    {
        for (auto it = taken.begin(); it != taken.end(); ++it) {
            if (*it != &task) continue;
            taken.erase(it);
            return true;
        }
        return false;
    }
    uint32_t threads() const noexcept override { return _threads; }

    std::deque<http::DispatchTask*> taken;

private:
    uint32_t _threads;
    size_t _capacity;
};

class FakeTask final : public http::DispatchTask
{
public:
    explicit FakeTask(FakePool& pool) : _pool(pool) {}
    http::DispatchTask* runOnWorker() noexcept override { return nullptr; }
    http::DispatchLane& sharedLane() noexcept override { return _pool; }

private:
    FakePool& _pool;
};

TEST(ContextLaneTest, RunsUpToMaxThreadsQueuesUpToMaxQueueAndRefusesTheRest)
{
    FakePool pool(8);
    ContextLane lane(2, 1);
    FakeTask a(pool), b(pool), c(pool), d(pool);
    EXPECT_TRUE(lane.submit(a));
    EXPECT_TRUE(lane.submit(b));
    EXPECT_TRUE(lane.submit(c)); // waits in the lane, not in the pool
    EXPECT_FALSE(lane.submit(d));
    EXPECT_EQ(pool.taken.size(), 2u);
    EXPECT_EQ(lane.running(), 2u);
    EXPECT_EQ(lane.queued(), 1u);
    EXPECT_EQ(lane.rejected(), 1u);

    // a's worker ends it and runs c next: the share stays at two threads.
    EXPECT_EQ(lane.finished(), &c);
    EXPECT_EQ(lane.running(), 2u);
    EXPECT_EQ(lane.queued(), 0u);
    EXPECT_EQ(lane.finished(), nullptr);
    EXPECT_EQ(lane.finished(), nullptr);
    EXPECT_EQ(lane.running(), 0u);
    EXPECT_TRUE(lane.submit(d)); // a free thread again: straight to the pool
    EXPECT_EQ(pool.taken.back(), &d);
}

TEST(ContextLaneTest, KeepsTheOrderOfArrival)
{
    FakePool pool(8);
    ContextLane lane(1, 10);
    FakeTask first(pool), second(pool), third(pool);
    ASSERT_TRUE(lane.submit(first));
    ASSERT_TRUE(lane.submit(second));
    ASSERT_TRUE(lane.submit(third));
    EXPECT_EQ(lane.finished(), &second);
    EXPECT_EQ(lane.finished(), &third);
    EXPECT_EQ(lane.finished(), nullptr);
}

TEST(ContextLaneTest, TheDefaultBoundIsHalfThePoolAndAtLeastOne)
{
    FakePool five(5), one(1);
    ContextLane half, single;
    EXPECT_EQ(half.threads(), 0u); // not known before a request arrives
    FakeTask tasks[3] = {FakeTask(five), FakeTask(five), FakeTask(five)};
    for (FakeTask& t : tasks)
        ASSERT_TRUE(half.submit(t));
    EXPECT_EQ(half.threads(), 2u);
    EXPECT_EQ(five.taken.size(), 2u);
    EXPECT_EQ(half.queued(), 1u);
    EXPECT_EQ(half.maxQueue(), ContextLane::kUnboundedQueue);

    FakeTask lone(one), waiting(one);
    ASSERT_TRUE(single.submit(lone));
    ASSERT_TRUE(single.submit(waiting));
    EXPECT_EQ(single.threads(), 1u);
    EXPECT_EQ(one.taken.size(), 1u);
}

TEST(ContextLaneTest, AFullPoolRefusesThroughTheLane)
{
    FakePool pool(4, 1);
    ContextLane lane(3, 5);
    FakeTask a(pool), b(pool);
    EXPECT_TRUE(lane.submit(a));
    EXPECT_FALSE(lane.submit(b)); // the lane had room, the pool had not: 503 as before
    EXPECT_EQ(lane.running(), 1u);
    EXPECT_EQ(lane.queued(), 0u);
    EXPECT_EQ(lane.rejected(), 1u);
}

TEST(ContextLaneTest, CancelWithdrawsWaitingTasksAndHandsTheThreadOn)
{
    FakePool pool(8);
    ContextLane lane(1, 10);
    FakeTask running(pool), middle(pool), last(pool), stranger(pool);
    ASSERT_TRUE(lane.submit(running));
    ASSERT_TRUE(lane.submit(middle));
    ASSERT_TRUE(lane.submit(last));
    EXPECT_TRUE(lane.cancel(last)); // the tail: the queue still ends right
    EXPECT_EQ(lane.queued(), 1u);
    EXPECT_FALSE(lane.cancel(stranger));
    // Admitted but still waiting in the pool: withdrawn there, and the next in line takes its
    // place in the pool.
    EXPECT_TRUE(lane.cancel(running));
    EXPECT_EQ(lane.running(), 1u);
    EXPECT_EQ(lane.queued(), 0u);
    ASSERT_EQ(pool.taken.size(), 1u);
    EXPECT_EQ(pool.taken.front(), &middle);
    ASSERT_TRUE(lane.submit(last));
    EXPECT_EQ(lane.finished(), &last);
    EXPECT_EQ(lane.finished(), nullptr);
    EXPECT_EQ(lane.running(), 0u);
}

TEST(ContextLaneTest, ByDefaultABurstWaitsInsteadOfBeingRefused)
{
    // Issue 15: 10,000 long polls at once got 503 from a queue of 100 before the first of them
    // could park (each holds its thread for microseconds). Tomcat queues them all: so does the
    // default lane; maxConnections is what bounds them.
    FakePool pool(2);
    ContextLane lane;
    std::deque<FakeTask> burst;
    for (int i = 0; i < 5000; ++i) {
        burst.emplace_back(pool);
        ASSERT_TRUE(lane.submit(burst.back())) << "task " << i;
    }
    EXPECT_EQ(pool.taken.size(), 1u);
    EXPECT_EQ(lane.queued(), 4999u);
    EXPECT_EQ(lane.rejected(), 0u);
    for (size_t i = 1; i < burst.size(); ++i) // each one parks and frees its thread for the next
        ASSERT_EQ(lane.finished(), &burst[i]);
    EXPECT_EQ(lane.finished(), nullptr);
    EXPECT_EQ(lane.running(), 0u);
}

} // namespace
} // namespace serval::core
