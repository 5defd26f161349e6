#include "StoreFixture.h"
#include "session/SessionIdGenerator.h"
#include "support/SqliteQuery.h"
#include "util/Log.h"

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <gtest/gtest.h>
#include <mutex>
#include <sqlite3.h>
#include <sys/stat.h>
#include <thread>

using namespace serval::session;
using serval::test::nowMillis;
using serval::test::sqliteOptions;
using serval::test::sqliteQuery;
using serval::test::TempDir;

namespace {

const std::string kScope = sessionScope("localhost", "/shop");

/// A second connection that holds the write lock, as another process in the middle of a
/// transaction would: the store's writer waits on it (busy timeout) while batches pile up.
class WriteLockHolder
{
public:
    explicit WriteLockHolder(const std::string& path)
    {
        sqlite3_open(path.c_str(), &_db);
        sqlite3_exec(_db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    }
    ~WriteLockHolder()
    {
        release();
        sqlite3_close(_db);
    }
    void release()
    {
        if (!_held) return;
        sqlite3_exec(_db, "COMMIT", nullptr, nullptr, nullptr);
        _held = false;
    }

private:
    sqlite3* _db = nullptr;
    bool _held = true;
};

/// Counts callbacks; wait() returns once `expected` arrived (or a 30 s deadline passed).
class Answers
{
public:
    SessionStore::CommitCallback callback(size_t slot)
    {
        {
            std::lock_guard<std::mutex> lock(_mutex);
            if (_results.size() <= slot) _results.resize(slot + 1);
        }
        return [this, slot](const CommitResult& r) {
            std::lock_guard<std::mutex> lock(_mutex);
            _results[slot] = r;
            ++_count;
            _cv.notify_all();
        };
    }
    bool wait(size_t expected)
    {
        std::unique_lock<std::mutex> lock(_mutex);
        return _cv.wait_for(lock, std::chrono::seconds(30), [&] { return _count >= expected; });
    }
    CommitResult at(size_t slot)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return _results[slot];
    }

private:
    std::mutex _mutex;
    std::condition_variable _cv;
    std::vector<CommitResult> _results;
    size_t _count = 0;
};

} // namespace

TEST(SqliteSessionStoreTest, FileIsWalWithTheCurrentSchema)
{
    TempDir dir;
    {
        SqliteSessionStore store(sqliteOptions(dir));
        EXPECT_EQ(store.describe(), "sqlite " + dir.file("sessions.db"));
    }
    EXPECT_EQ(sqliteQuery(dir.file("sessions.db"), "PRAGMA journal_mode"), "wal");
    EXPECT_EQ(sqliteQuery(dir.file("sessions.db"), "PRAGMA user_version"),
              std::to_string(SqliteSessionStore::kSchemaVersion));
    SqliteSessionStore again(sqliteOptions(dir)); // reopening migrates nothing twice
    EXPECT_EQ(sqliteQuery(dir.file("sessions.db"), "PRAGMA integrity_check"), "ok");
}

TEST(SqliteSessionStoreTest, BatchesQueuedTogetherShareOneTransaction)
{
    TempDir dir;
    SqliteSessionStore store(sqliteOptions(dir));
    std::string id = SessionIdGenerator::generateBase();
    ASSERT_EQ(store.commitAndWait(kScope, {SessionOp::create(id, nowMillis(), 60)}).status, StoreStatus::Ok);
    uint64_t before = store.stats().transactions;

    constexpr size_t kBatches = 100;
    Answers answers;
    {
        WriteLockHolder lock(dir.file("sessions.db"));
        for (size_t i = 0; i < kBatches; ++i)
            store.commit(kScope, {SessionOp::setAttribute(id, "a" + std::to_string(i), "v")},
                         answers.callback(i));
    }
    ASSERT_TRUE(answers.wait(kBatches));
    for (size_t i = 0; i < kBatches; ++i)
        EXPECT_EQ(answers.at(i).status, StoreStatus::Ok) << answers.at(i).error;
    // The writer took the first batch before the others arrived and then waited on the lock;
    // everything queued meanwhile went into the next transaction: two fsyncs for 100 requests.
    EXPECT_LE(store.stats().transactions - before, 2u);
    EXPECT_EQ(store.load(kScope, id, nowMillis()).session.attributes.size(), kBatches);
}

TEST(SqliteSessionStoreTest, AFailingBatchIsRolledBackAloneInItsGroup)
{
    TempDir dir;
    SqliteSessionStore store(sqliteOptions(dir));
    std::string id = SessionIdGenerator::generateBase();
    int64_t now = nowMillis();
    ASSERT_EQ(store.commitAndWait(kScope, {SessionOp::create(id, now, 60)}).status, StoreStatus::Ok);

    Answers answers;
    {
        WriteLockHolder lock(dir.file("sessions.db"));
        store.commit(kScope, {SessionOp::setAttribute(id, "first", "1")}, answers.callback(0));
        // Creating an id that exists violates the primary key: this whole batch is undone.
        store.commit(kScope, {SessionOp::setAttribute(id, "doomed", "x"), SessionOp::create(id, now, 60)},
                     answers.callback(1));
        store.commit(kScope, {SessionOp::setAttribute(id, "after", "2")}, answers.callback(2));
    }
    ASSERT_TRUE(answers.wait(3));
    EXPECT_EQ(answers.at(0).status, StoreStatus::Ok);
    EXPECT_EQ(answers.at(1).status, StoreStatus::Unavailable);
    EXPECT_NE(answers.at(1).error.find("UNIQUE"), std::string::npos) << answers.at(1).error;
    EXPECT_EQ(answers.at(2).status, StoreStatus::Ok);
    auto attributes = store.load(kScope, id, now).session.attributes;
    EXPECT_EQ(attributes.count("first"), 1u);
    EXPECT_EQ(attributes.count("doomed"), 0u);
    EXPECT_EQ(attributes.count("after"), 1u);
    EXPECT_EQ(store.stats().failedCommits, 1u);
}

TEST(SqliteSessionStoreTest, ALockHeldPastTheBusyTimeoutIsUnavailableWhileReadsGoOn)
{
    TempDir dir;
    auto options = sqliteOptions(dir);
    options.busyTimeout = std::chrono::milliseconds(50);
    SqliteSessionStore store(options);
    std::string id = SessionIdGenerator::generateBase();
    int64_t now = nowMillis();
    ASSERT_EQ(store.commitAndWait(kScope, {SessionOp::create(id, now, 60)}).status, StoreStatus::Ok);

    WriteLockHolder lock(dir.file("sessions.db"));
    CommitResult r = store.commitAndWait(kScope, {SessionOp::setAttribute(id, "a", "1")});
    EXPECT_EQ(r.status, StoreStatus::Unavailable);
    EXPECT_NE(r.error.find("locked"), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("sessions.db"), std::string::npos) << r.error;
    EXPECT_EQ(store.load(kScope, id, now).status, StoreStatus::Ok); // WAL: readers never wait
    lock.release();
    EXPECT_EQ(store.commitAndWait(kScope, {SessionOp::setAttribute(id, "a", "1")}).status, StoreStatus::Ok);
}

TEST(SqliteSessionStoreTest, AnOutageIsOneLineWhenItStartsAndOneWhenItEnds)
{
    TempDir dir;
    auto options = sqliteOptions(dir);
    options.busyTimeout = std::chrono::milliseconds(20);
    std::string id = SessionIdGenerator::generateBase();
    std::string logPath = dir.file("store.log");
    ASSERT_TRUE(serval::util::Log::openFile(logPath, false));
    {
        SqliteSessionStore store(options);
        ASSERT_EQ(store.commitAndWait(kScope, {SessionOp::create(id, nowMillis(), 60)}).status,
                  StoreStatus::Ok);
        {
            WriteLockHolder lock(dir.file("sessions.db"));
            for (int i = 0; i < 5; ++i)
                EXPECT_EQ(store.commitAndWait(kScope, {SessionOp::setAttribute(id, "a", "1")}).status,
                          StoreStatus::Unavailable);
        }
        EXPECT_EQ(store.commitAndWait(kScope, {SessionOp::setAttribute(id, "a", "2")}).status,
                  StoreStatus::Ok);
    }
    serval::util::Log::closeFile();
    std::ifstream in(logPath);
    std::string line;
    int failed = 0, recovered = 0;
    while (std::getline(in, line)) {
        failed += line.find("group commit of 1 request(s) failed") != std::string::npos;
        recovered += line.find("commits succeed again, after 5 failed group commit(s) (5 request(s)") !=
                     std::string::npos;
    }
    EXPECT_EQ(failed, 1) << "one line per outage, not per commit";
    EXPECT_EQ(recovered, 1);
}

TEST(SqliteSessionStoreTest, ClosingCommitsWhatIsQueuedAndWritesPendingTouches)
{
    TempDir dir;
    std::string id = SessionIdGenerator::generateBase();
    int64_t now = nowMillis();
    Answers answers;
    {
        SqliteSessionStore store(sqliteOptions(dir));
        ASSERT_EQ(store.commitAndWait(kScope, {SessionOp::create(id, now, 60)}).status, StoreStatus::Ok);
        for (size_t i = 0; i < 50; ++i)
            store.commit(kScope, {SessionOp::setAttribute(id, "k" + std::to_string(i), "v")},
                         answers.callback(i));
        store.touch(kScope, id, now + 777);
    }
    ASSERT_TRUE(answers.wait(50));
    SqliteSessionStore reopened(sqliteOptions(dir));
    LoadResult got = reopened.load(kScope, id, now);
    EXPECT_EQ(got.session.attributes.size(), 50u);
    EXPECT_EQ(got.session.lastAccessedTime, now + 777);
}

TEST(SqliteSessionStoreTest, RefusesAFileFromANewerServal)
{
    TempDir dir;
    {
        SqliteSessionStore store(sqliteOptions(dir));
    }
    sqliteQuery(dir.file("sessions.db"), "PRAGMA user_version = 99");
    try {
        SqliteSessionStore store(sqliteOptions(dir));
        FAIL() << "opened a newer schema";
    } catch (const SessionStoreError& e) {
        EXPECT_NE(std::string(e.what()).find("newer than this serval knows"), std::string::npos) << e.what();
    }
}

TEST(SqliteSessionStoreTest, AnUnwritableDirectorySaysWhatToCheck)
{
    TempDir dir;
    auto options = sqliteOptions(dir);
    options.path = dir.file("missing/sessions.db");
    try {
        SqliteSessionStore store(options);
        FAIL() << "opened a file in a missing directory";
    } catch (const SessionStoreError& e) {
        std::string what = e.what();
        EXPECT_NE(what.find("cannot open the session store"), std::string::npos) << what;
        EXPECT_NE(what.find("missing/sessions.db"), std::string::npos) << what;
    }
}

TEST(SqliteSessionStoreTest, ProcessesOpeningAFreshFileAtOnceAllSucceed)
{
    // The server and its worker processes start together: every one of them may be the first to
    // open data/sessions.db, switch it to WAL and migrate it.
    for (int round = 0; round < 20; ++round) {
        TempDir dir;
        std::atomic<int> failures{0};
        std::string firstError;
        std::mutex mutex;
        std::vector<std::thread> openers;
        for (int i = 0; i < 8; ++i) {
            openers.emplace_back([&] {
                try {
                    SqliteSessionStore store(sqliteOptions(dir));
                } catch (const std::exception& e) {
                    std::lock_guard<std::mutex> lock(mutex);
                    if (failures++ == 0) firstError = e.what();
                }
            });
        }
        for (auto& t : openers)
            t.join();
        ASSERT_EQ(failures.load(), 0) << "round " << round << ": " << firstError;
        EXPECT_EQ(sqliteQuery(dir.file("sessions.db"), "PRAGMA journal_mode"), "wal");
    }
}

TEST(SqliteSessionStoreTest, ReadsFromItsCacheNeverHideAnotherConnectionsCommit)
{
    // Two stores on one file, as two worker processes of an app: each reader caches what it
    // loaded while SQLite's data_version says nobody committed since.
    TempDir dir;
    SqliteSessionStore mine(sqliteOptions(dir));
    SqliteSessionStore other(sqliteOptions(dir));
    std::string id = SessionIdGenerator::generateBase();
    ASSERT_EQ(mine.commitAndWait(kScope, {SessionOp::create(id, nowMillis(), 60)}).status, StoreStatus::Ok);
    for (int round = 0; round < 20; ++round) {
        std::string value = "v" + std::to_string(round);
        ASSERT_EQ(mine.load(kScope, id, nowMillis()).status, StoreStatus::Ok); // cached now
        SqliteSessionStore& writer = round % 2 == 0 ? other : mine;
        ASSERT_EQ(writer.commitAndWait(kScope, {SessionOp::setAttribute(id, "a", value)}).status,
                  StoreStatus::Ok);
        LoadResult seen = mine.load(kScope, id, nowMillis());
        ASSERT_EQ(seen.status, StoreStatus::Ok);
        EXPECT_EQ(seen.session.attributes["a"], value) << "round " << round;
    }
    // A write on a reader connection (invalidateAll, the sweep) is one its own data_version
    // never reports: the cache goes with it.
    ASSERT_EQ(mine.load(kScope, id, nowMillis()).status, StoreStatus::Ok);
    EXPECT_EQ(mine.invalidateAll(kScope), 1u);
    EXPECT_EQ(mine.load(kScope, id, nowMillis()).status, StoreStatus::NotFound);
    EXPECT_EQ(other.load(kScope, id, nowMillis()).status, StoreStatus::NotFound);
}
