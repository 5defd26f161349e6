// Crash safety of the SQLite store with real processes: what a client was told is written
// survives kill -9, and processes sharing the file never lose each other's writes.
#include "StoreFixture.h"
#include "session/SessionIdGenerator.h"
#include "support/ChildProcess.h"
#include "support/SqliteQuery.h"

#include <gtest/gtest.h>
#include <sstream>
#include <sys/wait.h>

using namespace serval::session;
using serval::test::ChildProcess;
using serval::test::eventually;
using serval::test::nowMillis;
using serval::test::readFile;
using serval::test::sqliteOptions;
using serval::test::sqliteQuery;
using serval::test::TempDir;

namespace {

const std::string kScope = sessionScope("localhost", "/shop");

std::string writerBinary()
{
    return serval::test::env("SERVAL_BUILD", "build") + "/tests/session_writer";
}

/// Complete "ack NAME" lines only: a line cut by SIGKILL was never acknowledged.
std::vector<std::string> acknowledged(const std::string& output)
{
    std::vector<std::string> names;
    size_t start = 0;
    while (true) {
        size_t end = output.find('\n', start);
        if (end == std::string::npos) break;
        std::string line = output.substr(start, end - start);
        if (line.rfind("ack ", 0) == 0) names.push_back(line.substr(4));
        start = end + 1;
    }
    return names;
}

std::string createSession(const TempDir& dir)
{
    SqliteSessionStore store(sqliteOptions(dir));
    std::string id = SessionIdGenerator::generateBase();
    EXPECT_EQ(store.commitAndWait(kScope, {SessionOp::create(id, nowMillis(), 0)}).status, StoreStatus::Ok);
    return id;
}

} // namespace

TEST(SessionDurabilityTest, KillNineKeepsEveryAcknowledgedWrite)
{
    TempDir dir;
    const std::string db = dir.file("sessions.db");
    std::string id = createSession(dir);
    size_t total = 0;
    for (int round = 0; round < 5; ++round) {
        std::string output = dir.file("writer" + std::to_string(round) + ".out");
        ChildProcess writer;
        ASSERT_TRUE(
            writer.spawn({writerBinary(), db, kScope, id, "r" + std::to_string(round), "4", "0"}, output))
            << writer.error();
        // Kill it mid-stream: after some acknowledgements, while its threads keep committing.
        size_t target = 100 + 60 * static_cast<size_t>(round);
        ASSERT_TRUE(
            eventually([&] { return acknowledged(readFile(output)).size() >= target || !writer.running(); },
                       std::chrono::seconds(60)));
        writer.kill();
        std::vector<std::string> acks = acknowledged(readFile(output));
        ASSERT_GE(acks.size(), target) << readFile(output);
        EXPECT_EQ(readFile(output).find("error"), std::string::npos) << readFile(output);

        ASSERT_EQ(sqliteQuery(db, "PRAGMA integrity_check"), "ok");
        SqliteSessionStore reopened(sqliteOptions(dir));
        LoadResult got = reopened.load(kScope, id, nowMillis());
        ASSERT_EQ(got.status, StoreStatus::Ok) << got.error;
        size_t missing = 0;
        for (const std::string& name : acks) {
            auto it = got.session.attributes.find(name);
            if (it == got.session.attributes.end() || it->second != "value of " + name) ++missing;
        }
        EXPECT_EQ(missing, 0u) << "round " << round << ": " << missing << " of " << acks.size()
                               << " acknowledged writes lost";
        total += acks.size();
    }
    std::cout << "acknowledged writes checked after kill -9: " << total << " in 5 rounds" << std::endl;
}

TEST(SessionDurabilityTest, ProcessesSharingTheFileLoseNoneOfEachOthersWrites)
{
    TempDir dir;
    const std::string db = dir.file("sessions.db");
    std::string id = createSession(dir);
    constexpr int kProcesses = 3;
    constexpr int kThreads = 4;
    constexpr int kWrites = 50;
    std::vector<std::unique_ptr<ChildProcess>> writers;
    for (int p = 0; p < kProcesses; ++p) {
        writers.push_back(std::make_unique<ChildProcess>());
        ASSERT_TRUE(writers.back()->spawn({writerBinary(), db, kScope, id, "p" + std::to_string(p),
                                           std::to_string(kThreads), std::to_string(kWrites)},
                                          dir.file("p" + std::to_string(p) + ".out")));
    }
    for (auto& w : writers) {
        ASSERT_TRUE(eventually([&] { return !w->running(); }, std::chrono::seconds(120)));
    }
    for (int p = 0; p < kProcesses; ++p) {
        std::string output = readFile(dir.file("p" + std::to_string(p) + ".out"));
        EXPECT_EQ(acknowledged(output).size(), size_t{kThreads * kWrites}) << output;
    }
    SqliteSessionStore store(sqliteOptions(dir));
    LoadResult got = store.load(kScope, id, nowMillis());
    ASSERT_EQ(got.status, StoreStatus::Ok);
    EXPECT_EQ(got.session.attributes.size(), size_t{kProcesses * kThreads * kWrites});
    EXPECT_EQ(sqliteQuery(db, "PRAGMA integrity_check"), "ok");
}
