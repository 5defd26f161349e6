// http::Loop as connector::EventLoop implements it: posts, watches and timers on the running
// loops of a real Connector.
#include "connector/TestServer.h"
#include "support/ServalProcess.h"

#include <algorithm>
#include <atomic>
#include <fcntl.h>
#include <functional>
#include <future>
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace serval::test {
namespace {

using namespace std::chrono_literals;

/// Runs `f` on `loop`'s thread and waits for it.
template <typename F> void onLoop(http::Loop& loop, F f)
{
    std::promise<void> done;
    ASSERT_TRUE(loop.post([&] {
        f();
        done.set_value();
    }));
    ASSERT_EQ(done.get_future().wait_for(5s), std::future_status::ready);
}

/// A LoopTask that counts its runs and remembers on which thread it ran.
struct CountingTask final : http::LoopTask
{
    http::Loop* loop = nullptr;
    std::atomic<int> runs{0};
    std::atomic<bool> onLoopThread{false};
    void run() noexcept override
    {
        onLoopThread = loop->isLoopThread();
        ++runs;
    }
};

TEST(LoopTest, LoopsAreListedWithDenseIndicesFromTheGivenBase)
{
    connector::ConnectorConfig config = testConfig();
    config.ioThreads = 3;
    Server server(config, 5);
    EXPECT_EQ(server.connector->loopCount(), 3u);
    std::vector<http::Loop*> loops = server.connector->loops();
    ASSERT_EQ(loops.size(), 3u);
    for (unsigned i = 0; i < 3; ++i)
        EXPECT_EQ(loops[i]->index(), 5 + i);
    server.connector->stop();
    EXPECT_TRUE(server.connector->loops().empty());
}

TEST(LoopTest, EveryExchangeCarriesTheLoopOfItsConnection)
{
    Server server;
    EXPECT_EQ(httpGet(server.port(), "/x").status, 200);
    std::vector<http::Loop*> loops = server.connector->loops();
    EXPECT_NE(std::find(loops.begin(), loops.end(), server.handler.lastLoop.load()), loops.end());
}

TEST(LoopTest, PostedClosuresRunOnTheLoopThreadInPostingOrder)
{
    Server server;
    http::Loop& loop = *server.connector->loops().front();
    EXPECT_FALSE(loop.isLoopThread());
    std::vector<int> order;
    std::atomic<int> offThread{0};
    for (int i = 0; i < 100; ++i) {
        ASSERT_TRUE(loop.post([&, i] {
            if (!loop.isLoopThread()) ++offThread;
            order.push_back(i); // loop thread only: no lock needed
        }));
    }
    onLoop(loop, [] {});
    ASSERT_EQ(order.size(), 100u);
    EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
    EXPECT_EQ(offThread.load(), 0);
}

TEST(LoopTest, IntrusiveTasksFromManyThreadsAllRun)
{
    Server server;
    http::Loop& loop = *server.connector->loops().front();
    std::vector<CountingTask> tasks(8);
    std::vector<std::thread> threads;
    for (auto& task : tasks) {
        task.loop = &loop;
        threads.emplace_back([&task] {
            for (int i = 0; i < 1000; ++i) {
                int before = task.runs.load();
                ASSERT_TRUE(task.loop->post(task));
                // Posted again only after it ran: it sits in one queue at a time.
                while (task.runs.load() == before)
                    std::this_thread::yield();
            }
        });
    }
    for (auto& t : threads)
        t.join();
    for (auto& task : tasks) {
        EXPECT_EQ(task.runs.load(), 1000);
        EXPECT_TRUE(task.onLoopThread.load());
    }
}

// A task the loop's own thread posts writes no wake-up (EventLoop::post): the loop must run it
// before it sleeps. A chain of 2000 such posts, each posted by the one before, while another
// thread posts too: if one were left waiting for the next tick or socket event, the chain
// would take minutes, not milliseconds.
TEST(LoopTest, TasksTheLoopPostsToItselfRunBeforeItSleeps)
{
    Server server;
    http::Loop& loop = *server.connector->loops().front();
    constexpr int kChain = 2000;
    std::atomic<int> chained{0};
    std::atomic<int> outside{0};
    std::promise<void> done;
    std::function<void()> step = [&] {
        if (!loop.isLoopThread()) return; // counted as missing below
        if (++chained == kChain) {
            done.set_value();
            return;
        }
        ASSERT_TRUE(loop.post(step));
    };
    std::atomic<bool> stop{false};
    std::thread other([&] {
        while (!stop.load()) {
            if (loop.post([&] { ++outside; })) std::this_thread::sleep_for(100us);
        }
    });
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (outside.load() == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
    ASSERT_GT(outside.load(), 0) << "the other thread's posts run";
    ASSERT_TRUE(loop.post(step));
    EXPECT_EQ(done.get_future().wait_for(20s), std::future_status::ready) << chained.load();
    stop = true;
    other.join();
    EXPECT_EQ(chained.load(), kChain);
}

TEST(LoopTest, WatchedDescriptorCallsBackUntilUnwatched)
{
    Server server;
    http::Loop& loop = *server.connector->loops().front();
    int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ASSERT_GE(fd, 0);
    std::atomic<int> calls{0};
    http::WatchId id;
    onLoop(loop, [&] {
        id = loop.watch(fd, EPOLLIN, [&](uint32_t events) {
            EXPECT_TRUE(events & EPOLLIN);
            uint64_t value;
            [[maybe_unused]] ssize_t n = ::read(fd, &value, sizeof value);
            if (++calls == 2) loop.unwatch(id); // from inside its own callback
        });
    });
    ASSERT_TRUE(id);
    uint64_t one = 1;
    ASSERT_EQ(::write(fd, &one, sizeof one), 8);
    ASSERT_TRUE(eventually([&] { return calls.load() == 1; }, 5s));
    ASSERT_EQ(::write(fd, &one, sizeof one), 8);
    ASSERT_TRUE(eventually([&] { return calls.load() == 2; }, 5s));
    ASSERT_EQ(::write(fd, &one, sizeof one), 8);
    onLoop(loop, [] {}); // a full iteration later: unwatched, no third call
    onLoop(loop, [] {});
    EXPECT_EQ(calls.load(), 2);
    ::close(fd);
}

TEST(LoopTest, WatchEventsCanBeChanged)
{
    Server server;
    http::Loop& loop = *server.connector->loops().front();
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    std::atomic<int> writable{0};
    http::WatchId id;
    onLoop(loop, [&] {
        id = loop.watch(fds[1], 0, [&](uint32_t events) { writable += events & EPOLLOUT ? 1 : 0; });
    });
    ASSERT_TRUE(id);
    onLoop(loop, [] {});
    EXPECT_EQ(writable.load(), 0); // nothing asked for
    onLoop(loop, [&] { EXPECT_TRUE(loop.setWatchEvents(id, EPOLLOUT | EPOLLET)); });
    EXPECT_TRUE(eventually([&] { return writable.load() == 1; }, 5s));
    onLoop(loop, [&] { loop.unwatch(id); });
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST(LoopTest, WatchOfABadDescriptorFails)
{
    Server server;
    http::Loop& loop = *server.connector->loops().front();
    onLoop(loop, [&] { EXPECT_FALSE(loop.watch(-1, EPOLLIN, [](uint32_t) {})); });
}

TEST(LoopTest, TimersFireInDeadlineOrderAndCancelledOnesNever)
{
    Server server;
    http::Loop& loop = *server.connector->loops().front();
    std::vector<int> fired;
    std::atomic<int> count{0};
    uint64_t start = 0;
    onLoop(loop, [&] {
        start = loop.now();
        auto at = [&](uint64_t ms, int tag) {
            return loop.addTimer(start + ms * 1000000, [&, tag] {
                fired.push_back(tag);
                ++count;
            });
        };
        at(60, 3);
        at(20, 1);
        http::TimerId cancelled = at(40, 99);
        at(40, 2); // same deadline as the cancelled one, added later
        EXPECT_TRUE(loop.cancelTimer(cancelled));
        EXPECT_FALSE(loop.cancelTimer(cancelled));
    });
    ASSERT_TRUE(eventually([&] { return count.load() == 3; }, 5s));
    uint64_t end = 0;
    onLoop(loop, [&] { end = loop.now(); });
    EXPECT_EQ(fired, (std::vector<int>{1, 2, 3}));
    EXPECT_GE(end - start, 60u * 1000000 - 10 * 1000000); // never early beyond the coarse clock
}

TEST(LoopTest, TimerCanAddAnotherAndAFiredTimerCannotBeCancelled)
{
    Server server;
    http::Loop& loop = *server.connector->loops().front();
    std::atomic<int> fired{0};
    http::TimerId first;
    onLoop(loop, [&] {
        first = loop.addTimer(loop.now(), [&] {
            ++fired;
            loop.addTimer(loop.now() + 1000000, [&] { ++fired; });
        });
    });
    ASSERT_TRUE(eventually([&] { return fired.load() == 2; }, 5s));
    onLoop(loop, [&] { EXPECT_FALSE(loop.cancelTimer(first)); });
}

TEST(LoopTest, PostAfterStopIsRefused)
{
    Server server;
    http::Loop& loop = *server.connector->loops().front();
    CountingTask task;
    task.loop = &loop;
    ASSERT_TRUE(loop.post(task));
    ASSERT_TRUE(eventually([&] { return task.runs.load() == 1; }, 5s));
    // The EventLoop object outlives stop(); the Connector keeps it until the next start().
    server.connector->stop();
    EXPECT_FALSE(loop.post(task));
    bool called = false;
    EXPECT_FALSE(loop.post([&] { called = true; }));
    EXPECT_FALSE(called);
}

} // namespace
} // namespace serval::test
