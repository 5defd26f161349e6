#include "core/Lifecycle.h"

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
