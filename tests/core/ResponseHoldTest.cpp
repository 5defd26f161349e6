// core::ResponseHold without a connector: a fake loop (the test plays its thread or another
// one) and a fake ExchangeControl that records each resume(). Every state of ResponseHold.cpp:
// a release before or after serviceReturned(), on the loop thread or off it, from a worker's
// stream (any thread), the 503 fill of a failed commit, and ended() before or racing a release.
#include "core/ResponseHold.h"

#include "core/Response.h"
#include "http/ExchangeControl.h"
#include "http/HttpHandler.h"
#include "support/FakeLoop.h"

#include <atomic>
#include <gtest/gtest.h>
#include <memory>
#include <thread>

using namespace serval;

namespace {

/// Counts resume() calls and remembers the thread and the response status each one saw.
class FakeControl final : public http::ExchangeControl
{
public:
    FakeControl(http::HttpExchange& exchange, bool anyThread) : _exchange(exchange), _anyThread(anyThread) {}
    void suspend() noexcept override {}
    void resume() noexcept override
    {
        resumedOn = std::this_thread::get_id();
        statusAtResume = _exchange.response.status();
        resumes.fetch_add(1);
    }
    bool resumesFromAnyThread() const noexcept override { return _anyThread; }
    std::shared_ptr<http::AsyncResponse> startAsync() override { return nullptr; }
    void upgrade(std::unique_ptr<http::UpgradeHandler>) noexcept override {}

    std::atomic<int> resumes{0};
    std::thread::id resumedOn;
    int statusAtResume = 0;

private:
    http::HttpExchange& _exchange;
    const bool _anyThread;
};

class ResponseHoldTest : public ::testing::Test
{
protected:
    /// A hold on a connection's exchange (`anyThread` false) or a worker's stream (true), made
    /// during service() on a request thread: the test's thread is not the loop's.
    std::shared_ptr<core::ResponseHold> makeHold(bool anyThread = false)
    {
        control = std::make_unique<FakeControl>(exchange, anyThread);
        exchange.loop = &loop;
        exchange.control = control.get();
        exchange.response.setStatus(200);
        exchange.response.write("hello");
        loop.playLoopThread(false);
        return std::make_shared<core::ResponseHold>(exchange, loop, anyThread);
    }
    /// The fill of a commit that failed, as RequestSession::commit makes it.
    core::ResponseHold::Fill fill503()
    {
        return [this](http::HttpExchange& held) {
            fillThread = std::this_thread::get_id();
            core::Response::writeSessionUnavailable(held.response);
        };
    }

    test::FakeLoop loop;
    http::HttpExchange exchange;
    std::unique_ptr<FakeControl> control;
    std::thread::id fillThread;
};

} // namespace

TEST_F(ResponseHoldTest, AReleaseBeforeServiceReturnedWaitsForItThenFillsThereAndResumesOnTheLoop)
{
    auto hold = makeHold();
    hold->release(fill503()); // the commit was faster than the rest of service()
    EXPECT_EQ(exchange.response.status(), 200) << "the response is still the request thread's";
    EXPECT_EQ(loop.posted(), 0u);

    hold->serviceReturned();
    EXPECT_EQ(exchange.response.status(), 503) << "the fill runs on the request thread";
    EXPECT_EQ(fillThread, std::this_thread::get_id());
    EXPECT_EQ(control->resumes, 0) << "resume() belongs to the loop thread";
    ASSERT_EQ(loop.posted(), 1u);

    loop.playLoopThread(true);
    loop.runPosted();
    EXPECT_EQ(control->resumes, 1);
    EXPECT_EQ(control->statusAtResume, 503);
}

TEST_F(ResponseHoldTest, AReleaseAfterServiceReturnedPostsTheFillAndTheResumeToTheLoop)
{
    auto hold = makeHold();
    hold->serviceReturned();
    EXPECT_EQ(loop.posted(), 0u) << "no release yet: the response stays held";

    std::thread commit([&] { hold->release(fill503()); }); // the store's writer thread
    std::thread::id committer = commit.get_id();
    commit.join();
    EXPECT_EQ(exchange.response.status(), 200) << "the fill waits for the loop thread";
    ASSERT_EQ(loop.posted(), 1u);

    loop.playLoopThread(true);
    loop.runPosted();
    EXPECT_NE(fillThread, committer);
    EXPECT_EQ(fillThread, std::this_thread::get_id());
    EXPECT_EQ(control->resumes, 1);
    EXPECT_EQ(control->statusAtResume, 503);
}

TEST_F(ResponseHoldTest, AReleaseOnTheLoopThreadResumesAtOnce)
{
    auto hold = makeHold();
    hold->serviceReturned();
    loop.playLoopThread(true);
    hold->release({});
    EXPECT_EQ(loop.posted(), 0u);
    EXPECT_EQ(control->resumes, 1);
    EXPECT_EQ(control->statusAtResume, 200) << "no fill: the response as service() left it";
    EXPECT_EQ(exchange.response.body(), "hello");
}

TEST_F(ResponseHoldTest, AWorkersStreamResumesOnTheReleasingThreadWithoutALoopHop)
{
    auto hold = makeHold(true);
    hold->serviceReturned();
    std::thread::id committer;
    std::thread commit([&] {
        committer = std::this_thread::get_id();
        hold->release(fill503());
    });
    commit.join();
    EXPECT_EQ(loop.posted(), 0u);
    EXPECT_EQ(control->resumes, 1);
    EXPECT_EQ(control->resumedOn, committer);
    EXPECT_EQ(fillThread, committer);
    EXPECT_EQ(control->statusAtResume, 503);

    // Early: serviceReturned() carries it out on the request thread, fill and resume.
    auto early = makeHold(true);
    early->release({});
    EXPECT_EQ(control->resumes, 0);
    early->serviceReturned();
    EXPECT_EQ(control->resumes, 1);
    EXPECT_EQ(control->resumedOn, std::this_thread::get_id());
    EXPECT_EQ(loop.posted(), 0u);
}

TEST_F(ResponseHoldTest, TheFillOfAFailedCommitIsTheWholeSessionUnavailablePage)
{
    auto hold = makeHold();
    exchange.response.addHeader("Set-Cookie", "SERVALSESSION=never-stored; Path=/");
    hold->serviceReturned();
    loop.playLoopThread(true);
    hold->release(fill503());
    EXPECT_EQ(control->resumes, 1);
    EXPECT_EQ(exchange.response.status(), 503);
    EXPECT_EQ(exchange.response.header("Retry-After"), "5");
    EXPECT_FALSE(exchange.response.hasHeader("Set-Cookie")) << "a cookie for a session that is not stored";
    EXPECT_EQ(exchange.response.body().find("hello"), std::string::npos);
    EXPECT_NE(exchange.response.body().find("session store"), std::string::npos) << exchange.response.body();
}

TEST_F(ResponseHoldTest, AnExchangeThatEndedIsNeverFilledNorResumed)
{
    // The client left after the release was posted, before the loop ran it.
    auto posted = makeHold();
    posted->serviceReturned();
    posted->release(fill503());
    ASSERT_EQ(loop.posted(), 1u);
    loop.playLoopThread(true);
    posted->ended();
    posted.reset(); // the exchange's state let go: the posted closure keeps the hold alive
    loop.runPosted();
    EXPECT_EQ(control->resumes, 0);
    EXPECT_EQ(exchange.response.status(), 200);

    // Ended before the commit answered, on a worker's stream (no loop in between).
    auto stream = makeHold(true);
    stream->serviceReturned();
    stream->ended();
    stream->release(fill503());
    EXPECT_EQ(control->resumes, 0);
    EXPECT_EQ(exchange.response.status(), 200);

    // Released early, ended before service() returned (the connector closed at shutdown).
    auto early = makeHold();
    early->release(fill503());
    early->ended();
    early->serviceReturned();
    loop.playLoopThread(true);
    loop.runPosted();
    EXPECT_EQ(control->resumes, 0);
    EXPECT_EQ(exchange.response.status(), 200);
}

TEST_F(ResponseHoldTest, EndedRacingAReleaseResumesAtMostOnceAndNeverAfterTheEnd)
{
    // The store's thread releases while the loop thread (this one) runs posted work and ends
    // the exchange: whichever wins, the resume comes before ended() or not at all.
    for (int round = 0; round < 500; ++round) {
        auto hold = makeHold();
        hold->serviceReturned();
        std::atomic<bool> released{false};
        std::thread commit([&] {
            hold->release(fill503());
            released = true;
        });
        loop.playLoopThread(true);
        for (int spin = 0; spin < round % 7; ++spin)
            loop.runPosted();
        int beforeEnd = control->resumes;
        hold->ended();
        commit.join();
        loop.runPosted();
        ASSERT_TRUE(released);
        ASSERT_EQ(control->resumes, beforeEnd) << "a resume after ended(), round " << round;
        ASSERT_LE(control->resumes, 1);
        ASSERT_EQ(exchange.response.status(), beforeEnd == 1 ? 503 : 200) << "round " << round;
        exchange.response.reset();
    }
}
