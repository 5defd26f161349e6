// The behaviour every SessionStore promises, run against SQLite and a real Redis alike.
#include "StoreFixture.h"
#include "session/SessionIdGenerator.h"

#include <atomic>
#include <condition_variable>
#include <gtest/gtest.h>
#include <mutex>
#include <thread>

using namespace serval::session;
using serval::test::nowMillis;
using serval::test::SharedRedis;
using serval::test::TempDir;

namespace {

const std::string kScope = sessionScope("localhost", "/shop");

class SessionStoreContractTest : public ::testing::TestWithParam<std::string>
{
protected:
    void SetUp() override { _store = open(); }

    /// Another store on the same data: another process of the app, or another node.
    std::unique_ptr<SessionStore> open()
    {
        if (GetParam() == "sqlite")
            return std::make_unique<SqliteSessionStore>(serval::test::sqliteOptions(_dir));
        return std::make_unique<RedisSessionStore>(
            serval::test::redisOptions(SharedRedis::server().url(), _prefix));
    }

    std::string created(int32_t maxInactive = 1800, int64_t at = 0)
    {
        std::string id = SessionIdGenerator::generateBase();
        CommitResult r = _store->commitAndWait(kScope, {SessionOp::create(id, at ? at : _t0, maxInactive)});
        EXPECT_EQ(r.status, StoreStatus::Ok) << r.error;
        return id;
    }

    void commitOk(std::vector<SessionOp> ops, const std::string& scope = kScope)
    {
        CommitResult r = _store->commitAndWait(scope, std::move(ops));
        ASSERT_EQ(r.status, StoreStatus::Ok) << r.error;
    }

    TempDir _dir;
    std::string _prefix = SharedRedis::uniquePrefix();
    int64_t _t0 = nowMillis();
    std::unique_ptr<SessionStore> _store;
};

TEST_P(SessionStoreContractTest, CreatedSessionLoadsWithItsTimesAndAttributes)
{
    std::string id = created(600);
    const std::string binary("a\0b\xff", 4);
    commitOk({SessionOp::setAttribute(id, "user", "alice"), SessionOp::setAttribute(id, "blob", binary)});

    LoadResult got = _store->load(kScope, id, _t0 + 1);
    ASSERT_EQ(got.status, StoreStatus::Ok) << got.error;
    EXPECT_EQ(got.session.id, id);
    EXPECT_EQ(got.session.creationTime, _t0);
    EXPECT_EQ(got.session.lastAccessedTime, _t0);
    EXPECT_EQ(got.session.maxInactiveInterval, 600);
    ASSERT_EQ(got.session.attributes.size(), 2u);
    EXPECT_EQ(got.session.attributes.at("user"), "alice");
    EXPECT_EQ(got.session.attributes.at("blob"), binary);

    EXPECT_EQ(open()->load(kScope, id, _t0 + 1).session.attributes.at("user"), "alice");
}

TEST_P(SessionStoreContractTest, UnknownIdIsNotFound)
{
    EXPECT_EQ(_store->load(kScope, SessionIdGenerator::generateBase(), _t0).status, StoreStatus::NotFound);
}

TEST_P(SessionStoreContractTest, LoadManyAnswersEachIdInOrderAsLoadWould)
{
    std::string a = created(600);
    std::string expired = created(1, _t0 - 5000);
    std::string b = created(600);
    commitOk({SessionOp::setAttribute(a, "user", "alice"), SessionOp::setAttribute(b, "user", "bob")});
    _store->touch(kScope, b, _t0 + 700); // this process's pending touch counts, as in load()
    std::string unknown = SessionIdGenerator::generateBase();

    uint64_t loadsBefore = _store->stats().loads;
    std::vector<LoadResult> got = _store->loadMany(kScope, {b, unknown, a, expired, a}, _t0 + 1000);
    ASSERT_EQ(got.size(), 5u);
    ASSERT_EQ(got[0].status, StoreStatus::Ok) << got[0].error;
    EXPECT_EQ(got[0].session.id, b);
    EXPECT_EQ(got[0].session.attributes.at("user"), "bob");
    EXPECT_EQ(got[0].session.lastAccessedTime, _t0 + 700);
    EXPECT_EQ(got[1].status, StoreStatus::NotFound);
    ASSERT_EQ(got[2].status, StoreStatus::Ok);
    EXPECT_EQ(got[2].session.attributes.at("user"), "alice");
    EXPECT_EQ(got[3].status, StoreStatus::NotFound); // stored, but expired by `now`
    ASSERT_EQ(got[4].status, StoreStatus::Ok);       // an id twice: answered twice
    EXPECT_EQ(got[4].session.id, a);
    EXPECT_EQ(_store->stats().loads - loadsBefore, 5u);
    EXPECT_TRUE(_store->loadMany(kScope, {}, _t0).empty());
}

TEST_P(SessionStoreContractTest, SetOverwritesAndRemoveDeletesOneAttribute)
{
    std::string id = created();
    commitOk({SessionOp::setAttribute(id, "a", "1"), SessionOp::setAttribute(id, "b", "2")});
    commitOk({SessionOp::setAttribute(id, "a", "3"), SessionOp::removeAttribute(id, "b"),
              SessionOp::removeAttribute(id, "never-set")});
    LoadResult got = _store->load(kScope, id, _t0);
    ASSERT_EQ(got.status, StoreStatus::Ok);
    EXPECT_EQ(got.session.attributes, (std::map<std::string, std::string, std::less<>>{{"a", "3"}}));
}

TEST_P(SessionStoreContractTest, WritesToAMissingSessionAreDropped)
{
    std::string ghost = SessionIdGenerator::generateBase();
    commitOk({SessionOp::setAttribute(ghost, "a", "1"), SessionOp::setMaxInactive(ghost, 60, _t0)});
    EXPECT_EQ(_store->load(kScope, ghost, _t0).status, StoreStatus::NotFound);
    EXPECT_EQ(_store->count(kScope, _t0), 0u);
}

TEST_P(SessionStoreContractTest, InvalidateRemovesTheSessionAndLaterWritesDoNotResurrectIt)
{
    std::string id = created();
    commitOk({SessionOp::setAttribute(id, "a", "1")});
    commitOk({SessionOp::invalidate(id)});
    EXPECT_EQ(_store->load(kScope, id, _t0).status, StoreStatus::NotFound);
    commitOk({SessionOp::setAttribute(id, "late", "write")}); // a slower request of the same session
    EXPECT_EQ(_store->load(kScope, id, _t0).status, StoreStatus::NotFound);
    EXPECT_EQ(_store->count(kScope, _t0), 0u);
}

TEST_P(SessionStoreContractTest, ChangeIdKeepsAttributesAndRetiresTheOldId)
{
    std::string oldId = created(900);
    commitOk({SessionOp::setAttribute(oldId, "cart", "3 items")});
    std::string newId = SessionIdGenerator::generateBase();
    commitOk({SessionOp::changeId(oldId, newId), SessionOp::setAttribute(newId, "user", "bob")});

    EXPECT_EQ(_store->load(kScope, oldId, _t0).status, StoreStatus::NotFound);
    LoadResult got = open()->load(kScope, newId, _t0);
    ASSERT_EQ(got.status, StoreStatus::Ok) << got.error;
    EXPECT_EQ(got.session.creationTime, _t0);
    EXPECT_EQ(got.session.maxInactiveInterval, 900);
    EXPECT_EQ(got.session.attributes.at("cart"), "3 items");
    EXPECT_EQ(got.session.attributes.at("user"), "bob");

    commitOk({SessionOp::setAttribute(oldId, "stale", "x")}); // the attacker's pre-login id stays dead
    EXPECT_EQ(_store->load(kScope, oldId, _t0).status, StoreStatus::NotFound);
    EXPECT_EQ(_store->count(kScope, _t0), 1u);
}

TEST_P(SessionStoreContractTest, ExpiredSessionIsNotFoundAndSweptExactlyOnce)
{
    std::string shortLived = created(1);
    std::string longLived = created(3600);
    std::string forever = created(0);
    EXPECT_EQ(_store->load(kScope, shortLived, _t0 + 999).status, StoreStatus::Ok);
    EXPECT_EQ(_store->load(kScope, shortLived, _t0 + 1000).status, StoreStatus::NotFound);
    EXPECT_EQ(_store->count(kScope, _t0 + 1000), 2u);

    EXPECT_TRUE(_store->sweepExpired(_t0 + 999).empty());
    auto other = open();
    std::vector<ExpiredSession> swept = _store->sweepExpired(_t0 + 1000);
    ASSERT_EQ(swept.size(), 1u);
    EXPECT_EQ(swept[0].scope, kScope);
    EXPECT_EQ(swept[0].id, shortLived);
    EXPECT_TRUE(other->sweepExpired(_t0 + 1000).empty()); // a second sweeper finds nothing left
    EXPECT_EQ(_store->stats().expired, 1u);

    EXPECT_EQ(_store->load(kScope, forever, _t0 + 1000LL * 3600 * 24 * 365).status, StoreStatus::Ok);
    EXPECT_EQ(_store->load(kScope, longLived, _t0 + 1000).status, StoreStatus::Ok);
}

TEST_P(SessionStoreContractTest, AnExpiredNowSessionIsGoneAtOnceAndSweptOnceByItsScopesSweeper)
{
    // The manager (in the server) ends an isolated app's session; the app's worker sweeps it.
    std::string id = created(3600);
    std::string kept = created(3600);
    _store->touch(kScope, id, _t0 + 10); // the worker's pending touch must not bring it back
    auto server = open();
    CommitResult r = server->commitAndWait(kScope, {SessionOp::expire(id)});
    ASSERT_EQ(r.status, StoreStatus::Ok) << r.error;
    EXPECT_EQ(_store->load(kScope, id, _t0 + 20).status, StoreStatus::NotFound);
    EXPECT_EQ(server->load(kScope, id, _t0 + 20).status, StoreStatus::NotFound);
    EXPECT_EQ(server->count(kScope, _t0 + 20), 1u);
    _store->flushTouches();
    commitOk({SessionOp::setMaxInactive(id, 60, _t0 + 30), SessionOp::setAttribute(id, "late", "x")});
    EXPECT_EQ(_store->load(kScope, id, _t0 + 40).status, StoreStatus::NotFound);

    auto notThisScope = [](std::string_view scope) { return scope != kScope; };
    EXPECT_TRUE(server->sweepExpired(_t0 + 40, 1000, notThisScope).empty());
    std::vector<ExpiredSession> swept = _store->sweepExpired(_t0 + 40);
    ASSERT_EQ(swept.size(), 1u);
    EXPECT_EQ(swept[0].id, id);
    EXPECT_TRUE(open()->sweepExpired(_t0 + 40).empty()); // reported exactly once
    EXPECT_EQ(_store->load(kScope, kept, _t0 + 40).status, StoreStatus::Ok);
}

TEST_P(SessionStoreContractTest, AFilteredSweepLeavesTheScopesItDoesNotAccept)
{
    // The server skips an isolated app's scope; that app's worker sweeps only its own.
    const std::string isolated = sessionScope("localhost", "/isolated");
    std::string mine = created(1);
    std::string theirs = SessionIdGenerator::generateBase();
    commitOk({SessionOp::create(theirs, _t0, 1)}, isolated);

    auto server = [&](std::string_view scope) { return scope != isolated; };
    std::vector<ExpiredSession> swept = _store->sweepExpired(_t0 + 1000, 1000, server);
    ASSERT_EQ(swept.size(), 1u);
    EXPECT_EQ(swept[0].id, mine);
    EXPECT_EQ(_store->count(isolated, _t0), 1u) << "the other scope's session was left alone";

    auto worker = [&](std::string_view scope) { return scope == isolated; };
    swept = open()->sweepExpired(_t0 + 1000, 1000, worker);
    ASSERT_EQ(swept.size(), 1u);
    EXPECT_EQ(swept[0].scope, isolated);
    EXPECT_EQ(swept[0].id, theirs);
}

TEST_P(SessionStoreContractTest, TouchesAreCoalescedAndMoveTheExpiry)
{
    std::string id = created(10);
    for (int i = 1; i <= 100; ++i)
        _store->touch(kScope, id, _t0 + i * 50); // last touch: _t0 + 5000
    // Seen by this process at once, before it is written.
    LoadResult mine = _store->load(kScope, id, _t0 + 14000);
    ASSERT_EQ(mine.status, StoreStatus::Ok);
    EXPECT_EQ(mine.session.lastAccessedTime, _t0 + 5000);

    auto other = open();
    EXPECT_EQ(other->load(kScope, id, _t0 + 14000).status, StoreStatus::NotFound); // not written yet
    uint64_t before = _store->stats().touchesWritten;
    _store->flushTouches();
    EXPECT_EQ(_store->stats().touchesWritten - before, 1u); // a hundred touches, one write
    LoadResult theirs = other->load(kScope, id, _t0 + 14000);
    ASSERT_EQ(theirs.status, StoreStatus::Ok);
    EXPECT_EQ(theirs.session.lastAccessedTime, _t0 + 5000);
    EXPECT_EQ(other->load(kScope, id, _t0 + 15000).status, StoreStatus::NotFound);

    // An older touch never moves the time back.
    _store->touch(kScope, id, _t0 + 10);
    _store->flushTouches();
    EXPECT_EQ(open()->load(kScope, id, _t0 + 14000).session.lastAccessedTime, _t0 + 5000);
}

TEST_P(SessionStoreContractTest, SetMaxInactiveRestartsTheExpiryFromTheLastAccess)
{
    std::string id = created(1);
    commitOk({SessionOp::setMaxInactive(id, 60, _t0 + 500)});
    EXPECT_EQ(_store->load(kScope, id, _t0 + 59999).status, StoreStatus::Ok);
    EXPECT_EQ(_store->load(kScope, id, _t0 + 60000).status, StoreStatus::NotFound);
    commitOk({SessionOp::setMaxInactive(id, 0, _t0 + 500)});
    EXPECT_EQ(_store->load(kScope, id, _t0 + 1000LL * 86400 * 30).status, StoreStatus::Ok);
    EXPECT_TRUE(_store->sweepExpired(_t0 + 1000LL * 86400 * 30).empty());
}

TEST_P(SessionStoreContractTest, ScopesAreSeparate)
{
    const std::string other = sessionScope("localhost", "/blog");
    std::string id = created();
    commitOk({SessionOp::setAttribute(id, "a", "shop")});
    EXPECT_EQ(_store->load(other, id, _t0).status, StoreStatus::NotFound);
    commitOk({SessionOp::create(id, _t0, 60), SessionOp::setAttribute(id, "a", "blog")}, other);
    EXPECT_EQ(_store->load(kScope, id, _t0).session.attributes.at("a"), "shop");
    EXPECT_EQ(_store->load(other, id, _t0).session.attributes.at("a"), "blog");
    commitOk({SessionOp::invalidate(id)}, other);
    EXPECT_EQ(_store->load(kScope, id, _t0).status, StoreStatus::Ok);
}

TEST_P(SessionStoreContractTest, CountListAndInvalidateAllForTheManager)
{
    const std::string blog = sessionScope("localhost", "/blog");
    std::string a = created(60, _t0);
    std::string b = created(60, _t0 + 10);
    std::string c = created(1, _t0 + 20);
    commitOk({SessionOp::setAttribute(a, "user", "alice"), SessionOp::setAttribute(a, "n", "12345")});
    commitOk({SessionOp::create(SessionIdGenerator::generateBase(), _t0, 60)}, blog);

    EXPECT_EQ(_store->count(kScope, _t0 + 100), 3u);
    EXPECT_EQ(_store->count(kScope, _t0 + 1020), 2u); // c expired
    auto perScope = _store->countByScope(_t0 + 100);
    EXPECT_EQ(perScope[kScope], 3u);
    EXPECT_EQ(perScope[blog], 1u);

    std::vector<SessionSummary> rows = _store->list(kScope, _t0 + 100, 10);
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].id, c); // most recently accessed first
    EXPECT_EQ(rows[1].id, b);
    EXPECT_EQ(rows[2].id, a);
    EXPECT_EQ(rows[2].attributeCount, 2u);
    EXPECT_EQ(rows[2].size, std::string("useralicen12345").size());
    EXPECT_EQ(rows[2].creationTime, _t0);
    EXPECT_EQ(rows[2].maxInactiveInterval, 60);
    EXPECT_EQ(_store->list(kScope, _t0 + 100, 1).size(), 1u);

    EXPECT_EQ(_store->invalidateAll(kScope), 3u);
    EXPECT_EQ(_store->count(kScope, _t0), 0u);
    EXPECT_EQ(_store->load(kScope, a, _t0).status, StoreStatus::NotFound);
    EXPECT_EQ(_store->count(blog, _t0 + 100), 1u);
}

TEST_P(SessionStoreContractTest, ConcurrentWritersOfDifferentAttributesLoseNothing)
{
    // The promise Tomcat's and Spring's Redis managers break: two requests of one session that set
    // different attributes never overwrite each other. Two stores = two processes (or nodes).
    std::string id = created();
    auto second = open();
    constexpr int kThreads = 8;
    constexpr int kWrites = 100;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            SessionStore& store = t % 2 ? *second : *_store;
            for (int i = 0; i < kWrites; ++i) {
                std::string name = "t" + std::to_string(t) + "-" + std::to_string(i);
                CommitResult r =
                    store.commitAndWait(kScope, {SessionOp::setAttribute(id, name, name + "=v")});
                if (r.status != StoreStatus::Ok) ++failures;
            }
        });
    }
    for (auto& t : threads)
        t.join();
    EXPECT_EQ(failures.load(), 0);
    LoadResult got = open()->load(kScope, id, _t0);
    ASSERT_EQ(got.status, StoreStatus::Ok);
    ASSERT_EQ(got.session.attributes.size(), size_t{kThreads * kWrites});
    for (int t = 0; t < kThreads; ++t)
        for (int i = 0; i < kWrites; ++i) {
            std::string name = "t" + std::to_string(t) + "-" + std::to_string(i);
            EXPECT_EQ(got.session.attributes.at(name), name + "=v");
        }
}

TEST_P(SessionStoreContractTest, AsyncCommitCallsBackOnceAfterTheWriteIsVisible)
{
    std::string id = created();
    constexpr int kBatches = 200;
    std::mutex mutex;
    std::condition_variable cv;
    int answered = 0;
    int visibleWhenAnswered = 0;
    for (int i = 0; i < kBatches; ++i) {
        std::string name = "k" + std::to_string(i);
        _store->commit(kScope, {SessionOp::setAttribute(id, name, "v")}, [&, name](const CommitResult& r) {
            // Durable by now: a load on another store (another process) already sees it.
            bool visible = r.status == StoreStatus::Ok &&
                           _store->load(kScope, id, _t0).session.attributes.count(name) == 1;
            std::lock_guard<std::mutex> lock(mutex);
            ++answered;
            visibleWhenAnswered += visible ? 1 : 0;
            cv.notify_all();
        });
    }
    std::unique_lock<std::mutex> lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return answered == kBatches; }));
    EXPECT_EQ(visibleWhenAnswered, kBatches);
    SessionStoreStats stats = _store->stats();
    EXPECT_EQ(stats.commits, uint64_t{kBatches} + 1);
    EXPECT_EQ(stats.failedCommits, 0u);
    EXPECT_LE(stats.transactions, stats.commits);
}

TEST_P(SessionStoreContractTest, AnEmptyBatchCompletesAtOnce)
{
    bool called = false;
    _store->commit(kScope, {}, [&](const CommitResult& r) {
        called = true;
        EXPECT_EQ(r.status, StoreStatus::Ok);
    });
    EXPECT_TRUE(called);
}

TEST_P(SessionStoreContractTest, CountsCreatedAndInvalidatedSessions)
{
    std::string a = created();
    created();
    commitOk({SessionOp::invalidate(a)});
    SessionStoreStats stats = _store->stats();
    EXPECT_EQ(stats.created, 2u);
    EXPECT_EQ(stats.invalidated, 1u);
}

INSTANTIATE_TEST_SUITE_P(Stores, SessionStoreContractTest, ::testing::Values("sqlite", "redis"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

} // namespace
