// The crash handler in a forked child: the report reaches the sink's descriptor and its
// pre-mapped page, names the note, and the child dies of the signal it received. And the notes
// of every thread, as a shutdown that ran out of time lists them.
#include "util/CrashHandler.h"

#include <condition_variable>
#include <csignal>
#include <cstring>
#include <gtest/gtest.h>
#include <mutex>
#include <string>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using serval::util::CrashHandler;
using serval::util::CrashNote;
using serval::util::CrashSink;

namespace {

int* volatile g_wild = reinterpret_cast<int*>(8);

__attribute__((noinline)) void faultInTheTest()
{
    *g_wild = 1;
}

/// Deeper than any stack: the limit is read at run time, so the compiler keeps the recursion.
volatile int g_depthLimit = 1 << 30;

struct Recurse
{
    __attribute__((noinline)) static int down(int depth)
    {
        volatile char pad[1024];
        pad[0] = static_cast<char>(depth);
        if (depth > g_depthLimit) return pad[0];
        return down(depth + 1) + pad[0];
    }
};

/// Runs `crash` in a child with the handler installed on a pipe and a shared page; returns what
/// the pipe received, the page's text and how the child ended.
struct Crashed
{
    std::string report;
    std::string page;
    int status = 0;
};

template <typename F> Crashed crashInChild(F crash)
{
    Crashed out;
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    const size_t pageSize = 4096;
    char* page = static_cast<char*>(
        ::mmap(nullptr, pageSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    EXPECT_NE(page, MAP_FAILED);
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(fds[0]);
        rlimit noCore{0, 0};
        ::setrlimit(RLIMIT_CORE, &noCore);
        CrashSink sink;
        sink.fd = fds[1];
        sink.page = page;
        sink.pageSize = pageSize;
        CrashHandler::install(sink);
        crash();
        ::_exit(0);
    }
    ::close(fds[1]);
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(fds[0], buffer, sizeof buffer)) > 0)
        out.report.append(buffer, static_cast<size_t>(n));
    ::close(fds[0]);
    ::waitpid(pid, &out.status, 0);
    out.page = std::string(page, ::strnlen(page, pageSize));
    ::munmap(page, pageSize);
    return out;
}

} // namespace

TEST(CrashHandlerTest, AFaultIsReportedWithItsNoteAndBacktraceThenKillsWithTheSameSignal)
{
    Crashed crashed = crashInChild([] {
        auto note = CrashNote::request("/shop", "POST", "/shop/cart?csrf=s3cret&item=2", 1);
        faultInTheTest();
    });
    ASSERT_TRUE(WIFSIGNALED(crashed.status)) << crashed.report;
    EXPECT_EQ(WTERMSIG(crashed.status), SIGSEGV);
    EXPECT_NE(crashed.report.find("fatal signal SIGSEGV"), std::string::npos) << crashed.report;
    EXPECT_NE(crashed.report.find("fault address 0x8"), std::string::npos) << crashed.report;
    EXPECT_NE(crashed.report.find("app /shop: POST /shop/cart?csrf=REDACTED&item=2 HTTP/1.1"),
              std::string::npos)
        << crashed.report;
    EXPECT_NE(crashed.report.find("faultInTheTest"), std::string::npos) << crashed.report;
    EXPECT_EQ(crashed.report.find("s3cret"), std::string::npos);
    EXPECT_EQ(crashed.page, crashed.report.substr(0, crashed.page.size()));
    EXPECT_FALSE(crashed.page.empty());
}

TEST(CrashHandlerTest, AnAbortOutsideARequestSaysSoAndEndsWithSigabrt)
{
    Crashed crashed = crashInChild([] {
        {
            auto note = CrashNote::activity("/shop", "starting");
        } // notes end with their scope
        std::abort();
    });
    ASSERT_TRUE(WIFSIGNALED(crashed.status)) << crashed.report;
    EXPECT_EQ(WTERMSIG(crashed.status), SIGABRT);
    EXPECT_NE(crashed.report.find("fatal signal SIGABRT (abort), sent by a process"), std::string::npos)
        << crashed.report;
    EXPECT_NE(crashed.report.find("the thread was not serving an application request"), std::string::npos)
        << crashed.report;
}

TEST(CrashHandlerTest, AStackOverflowIsReportedFromTheAlternateStack)
{
    Crashed crashed = crashInChild([] {
        auto note = CrashNote::activity("/deep", "starting");
        Recurse::down(0);
    });
    ASSERT_TRUE(WIFSIGNALED(crashed.status)) << crashed.report;
    EXPECT_EQ(WTERMSIG(crashed.status), SIGSEGV);
    EXPECT_NE(crashed.report.find("app /deep: starting"), std::string::npos) << crashed.report;
}

TEST(CrashHandlerTest, RunningListsWhatEachThreadServesUntilItsNoteEnds)
{
    std::mutex mutex;
    std::condition_variable changed;
    bool noted = false;
    bool release = false;
    std::string target = "/hang/loop?token=abc";
    std::thread worker([&] {
        {
            auto note = CrashNote::request("/hang", "GET", target, 1);
            std::unique_lock<std::mutex> lock(mutex);
            noted = true;
            changed.notify_all();
            changed.wait(lock, [&] { return release; });
        }
        std::unique_lock<std::mutex> lock(mutex);
        noted = false;
        changed.notify_all();
        changed.wait(lock, [&] { return !release; });
    });
    auto mine = [] {
        std::vector<std::string> lines;
        for (const std::string& line : CrashHandler::running()) {
            if (line.find("app /hang:") == 0) lines.push_back(line);
        }
        return lines;
    };
    {
        std::unique_lock<std::mutex> lock(mutex);
        changed.wait(lock, [&] { return noted; });
    }
    auto during = mine();
    ASSERT_EQ(during.size(), 1u);
    EXPECT_EQ(during[0].rfind("app /hang: GET /hang/loop?token=REDACTED HTTP/1.1 (thread ", 0), 0u)
        << during[0];
    {
        std::unique_lock<std::mutex> lock(mutex);
        release = true;
        changed.notify_all();
        changed.wait(lock, [&] { return !noted; });
    }
    EXPECT_TRUE(mine().empty()) << "a thread whose note ended serves nothing";
    {
        std::lock_guard<std::mutex> lock(mutex);
        release = false;
    }
    changed.notify_all();
    worker.join();
    EXPECT_TRUE(mine().empty());
}
