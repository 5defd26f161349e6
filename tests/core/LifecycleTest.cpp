#include "core/Lifecycle.h"

#include "core/LatencyHistogram.h"

#include <gtest/gtest.h>
#include <stdexcept>
#include <string>
#include <vector>

using namespace serval;

namespace {

/// Records the template method's calls; fails its start when asked.
class Recorder : public core::Lifecycle
{
public:
    std::vector<std::string> calls;
    bool failNext = false;

protected:
    void startInternal() override
    {
        calls.push_back("start");
        if (failNext) {
            failNext = false;
            throw std::runtime_error("port 80 is taken");
        }
    }
    void stopInternal() noexcept override { calls.push_back("stop"); }
    std::string lifecycleName() const override { return "recorder"; }
};

} // namespace

TEST(LifecycleTest, StartIsIdempotentAndStopReturnsToStopped)
{
    Recorder r;
    EXPECT_EQ(r.state(), core::LifecycleState::New);
    EXPECT_TRUE(r.start());
    EXPECT_TRUE(r.start()); // no-op
    EXPECT_EQ(r.state(), core::LifecycleState::Started);
    r.stop();
    r.stop(); // no-op
    EXPECT_EQ(r.state(), core::LifecycleState::Stopped);
    EXPECT_EQ(r.calls, (std::vector<std::string>{"start", "stop"}));
    EXPECT_EQ(core::lifecycleStateName(r.state()), "stopped");
}

TEST(LifecycleTest, FailedStartCleansUpKeepsTheReasonAndMayBeRetried)
{
    Recorder r;
    r.failNext = true;
    EXPECT_FALSE(r.start());
    EXPECT_EQ(r.state(), core::LifecycleState::Failed);
    EXPECT_EQ(r.failureReason(), "port 80 is taken");
    EXPECT_EQ(r.calls, (std::vector<std::string>{"start", "stop"})); // cleanup after the partial start
    r.stop();                                                        // nothing left to stop
    EXPECT_EQ(r.calls.size(), 2u);
    EXPECT_TRUE(r.start());
    EXPECT_EQ(r.failureReason(), "");
}

TEST(LifecycleTest, StopBeforeStartIsStopped)
{
    Recorder r;
    r.stop();
    EXPECT_EQ(r.state(), core::LifecycleState::Stopped);
    EXPECT_TRUE(r.calls.empty());
}

TEST(LatencyHistogramTest, PercentilesAreBucketUpperBounds)
{
    core::LatencyHistogram h;
    EXPECT_EQ(h.percentileMicros(0.5), 0u);
    for (int i = 0; i < 98; ++i)
        h.record(80'000);        // 80 us -> the 100 us bucket
    h.record(3'000'000);         // 3 ms -> 5 ms
    h.record(20'000'000'000ull); // 20 s -> beyond the last bound
    EXPECT_EQ(h.count(), 100u);
    EXPECT_EQ(h.percentileMicros(0.50), 100u);
    EXPECT_EQ(h.percentileMicros(0.99), 5000u);
    EXPECT_EQ(h.percentileMicros(1.0), 20'000'000u); // the open bucket: twice the last bound
    auto buckets = h.snapshot();
    EXPECT_EQ(buckets[1], 98u);
    EXPECT_EQ(buckets.back(), 1u);
}
