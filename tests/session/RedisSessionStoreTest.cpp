#include "StoreFixture.h"
#include "session/SessionIdGenerator.h"

#include <atomic>
#include <condition_variable>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <mutex>
#include <thread>

using namespace serval::session;
using serval::test::nowMillis;
using serval::test::redisOptions;
using serval::test::RedisServer;
using serval::test::SharedRedis;
using serval::test::TempDir;

namespace {

const std::string kScope = sessionScope("localhost", "/shop");

RedisConnection rawConnection(const std::string& url)
{
    return RedisConnection(RedisAddress::parse(url), std::chrono::seconds(2), std::chrono::seconds(2));
}

int64_t integerReply(RedisConnection& c, const std::vector<std::string_view>& command)
{
    RedisReply reply = c.command(command);
    return reply.get()->type == REDIS_REPLY_INTEGER ? reply.get()->integer : -999;
}

} // namespace

TEST(RedisSessionStoreTest, OneHashPerSessionWithAttributeFieldsAndAKeyTtl)
{
    RedisSessionStore store(redisOptions(SharedRedis::server().url(), SharedRedis::uniquePrefix()));
    std::string id = SessionIdGenerator::generateBase();
    int64_t now = nowMillis();
    ASSERT_EQ(store
                  .commitAndWait(kScope,
                                 {SessionOp::create(id, now, 60), SessionOp::setAttribute(id, "user", "ann")})
                  .status,
              StoreStatus::Ok);
    RedisConnection redis = rawConnection(SharedRedis::server().url());
    std::string key = store.sessionKey(kScope, id);
    EXPECT_EQ(integerReply(redis, {"HLEN", key}), 4); // three meta fields, one attribute
    RedisReply user = redis.command({"HGET", key, "attr:user"});
    EXPECT_EQ(std::string(user.get()->str, user.get()->len), "ann");
    // The key expires with the session, plus the slack for touches still coalescing
    // (2 x touchInterval + 1 s; the fixture's interval is one hour).
    int64_t ttl = integerReply(redis, {"PTTL", key});
    int64_t slack = 2 * 3600 * 1000 + 1000;
    EXPECT_GT(ttl, 60 * 1000 + slack - 5000);
    EXPECT_LE(ttl, 60 * 1000 + slack);

    ASSERT_EQ(store.commitAndWait(kScope, {SessionOp::setMaxInactive(id, 0, now)}).status, StoreStatus::Ok);
    EXPECT_EQ(integerReply(redis, {"PTTL", key}), -1); // never expires: no TTL
}

TEST(RedisSessionStoreTest, ScriptsAreSentAgainAfterRedisForgetsThem)
{
    RedisSessionStore store(redisOptions(SharedRedis::server().url(), SharedRedis::uniquePrefix()));
    std::string id = SessionIdGenerator::generateBase();
    int64_t now = nowMillis();
    ASSERT_EQ(store.commitAndWait(kScope, {SessionOp::create(id, now, 60)}).status, StoreStatus::Ok);
    RedisConnection redis = rawConnection(SharedRedis::server().url());
    redis.command({"SCRIPT", "FLUSH"});
    CommitResult r = store.commitAndWait(kScope, {SessionOp::setAttribute(id, "a", "1")});
    EXPECT_EQ(r.status, StoreStatus::Ok) << r.error;
    EXPECT_EQ(store.load(kScope, id, now).session.attributes.at("a"), "1");
}

// Batches of one scope queued together run as one script: while Redis holds the first pipeline
// (CLIENT PAUSE WRITE), fifty more commits queue up; then they go out as one Apply script, each
// still answered and applied in order.
TEST(RedisSessionStoreTest, QueuedBatchesOfOneScopeRunAsOneScriptEachAnsweredAndApplied)
{
    TempDir dir;
    RedisServer redis(dir.path());
    ASSERT_TRUE(redis.start()) << redis.error();
    auto options = redisOptions(redis.url(), "merge:");
    options.committers = 1;
    RedisSessionStore store(options);
    int64_t now = nowMillis();
    constexpr int kBatches = 50;
    std::vector<std::string> ids;
    for (int i = 0; i < kBatches; ++i) {
        ids.push_back(SessionIdGenerator::generateBase());
        ASSERT_EQ(store.commitAndWait(kScope, {SessionOp::create(ids.back(), now, 60)}).status,
                  StoreStatus::Ok);
    }
    auto scripts = [&] { return std::max<int64_t>(0, redis.infoNumber("cmdstat_evalsha")); };
    int64_t before = scripts();

    ASSERT_EQ(redis.command("CLIENT PAUSE 500 WRITE"), "+OK"); // Redis ends the pause itself
    std::mutex mutex;
    std::condition_variable answered;
    int pending = kBatches + 1;
    std::vector<StoreStatus> statuses(kBatches + 1, StoreStatus::NotFound);
    auto done = [&](size_t i) {
        return [&, i](const CommitResult& r) {
            std::lock_guard<std::mutex> lock(mutex);
            statuses[i] = r.status;
            --pending;
            answered.notify_all();
        };
    };
    store.commit(kScope, {SessionOp::setAttribute(ids[0], "n", "first")}, done(kBatches)); // held
    for (int i = 0; i < kBatches; ++i) // the same attribute of ids[0] too: the last one wins
        store.commit(kScope,
                     {SessionOp::setAttribute(ids[static_cast<size_t>(i)], "n", std::to_string(i)),
                      SessionOp::setAttribute(ids[0], "last", std::to_string(i))},
                     done(static_cast<size_t>(i)));
    {
        std::unique_lock<std::mutex> lock(mutex);
        ASSERT_TRUE(answered.wait_for(lock, std::chrono::seconds(10), [&] { return pending == 0; }));
    }
    for (StoreStatus status : statuses)
        EXPECT_EQ(status, StoreStatus::Ok);
    for (int i = 1; i < kBatches; ++i)
        EXPECT_EQ(store.load(kScope, ids[static_cast<size_t>(i)], now).session.attributes.at("n"),
                  std::to_string(i));
    LoadResult first = store.load(kScope, ids[0], now);
    EXPECT_EQ(first.session.attributes.at("n"), "0");
    EXPECT_EQ(first.session.attributes.at("last"), std::to_string(kBatches - 1));
    // A few scripts for 51 batches: the held one and the rest (or all in one, if the committer
    // woke only after they were queued).
    int64_t ran = scripts() - before;
    EXPECT_GE(ran, 1);
    EXPECT_LE(ran, 10) << "queued batches each ran their own script";
}

// A key that is not a hash (someone else's data under the prefix) makes its HGETALL an error
// reply: the lookups of that pipeline answer Unavailable naming it, every reply is still read,
// and the connection serves the next lookup in step.
TEST(RedisSessionStoreTest, AnErrorReplyInALookupPipelineFailsItAndLeavesTheConnectionInStep)
{
    RedisSessionStore store(redisOptions(SharedRedis::server().url(), SharedRedis::uniquePrefix()));
    int64_t now = nowMillis();
    std::string good = SessionIdGenerator::generateBase();
    ASSERT_EQ(store
                  .commitAndWait(kScope,
                                 {SessionOp::create(good, now, 60), SessionOp::setAttribute(good, "a", "1")})
                  .status,
              StoreStatus::Ok);
    std::string bad = SessionIdGenerator::generateBase();
    RedisConnection redis = rawConnection(SharedRedis::server().url());
    redis.command({"SET", store.sessionKey(kScope, bad), "not a hash"});

    std::vector<LoadResult> got = store.loadMany(kScope, {good, bad, good}, now);
    ASSERT_EQ(got.size(), 3u);
    for (const LoadResult& r : got) {
        EXPECT_EQ(r.status, StoreStatus::Unavailable);
        EXPECT_NE(r.error.find("WRONGTYPE"), std::string::npos) << r.error;
    }
    for (int i = 0; i < 3; ++i) { // the pool's connection was not left with unread replies
        LoadResult again = store.load(kScope, good, now);
        ASSERT_EQ(again.status, StoreStatus::Ok) << again.error;
        EXPECT_EQ(again.session.attributes.at("a"), "1");
    }
}

// The read cache of batched lookups (RedisReadCache), as two nodes see it: node B keeps what it
// read, and every change Redis makes to a session B cached (another node's write, a delete, a
// flush, this node's own write) is seen by B's next batch, never a stale snapshot.
TEST(RedisSessionStoreTest, TheReadCacheNeverAnswersASnapshotRedisChangedBeforeTheBatch)
{
    TempDir dir;
    RedisServer redis(dir.path());
    ASSERT_TRUE(redis.start()) << redis.error();
    RedisSessionStore a(redisOptions(redis.url(), "cache:"));
    RedisSessionStore b(redisOptions(redis.url(), "cache:"));
    int64_t now = nowMillis();
    std::string id = SessionIdGenerator::generateBase();
    ASSERT_EQ(a.commitAndWait(kScope, {SessionOp::create(id, now, 60), SessionOp::setAttribute(id, "x", "1")})
                  .status,
              StoreStatus::Ok);
    auto readX = [&](RedisSessionStore& store) -> std::string {
        std::vector<LoadResult> got = store.loadMany(kScope, {id}, now);
        if (got.size() != 1 || got[0].status != StoreStatus::Ok)
            return "(" + (got.empty() ? "" : got[0].error) + ")";
        auto x = got[0].session.attributes.find("x");
        return x == got[0].session.attributes.end() ? "(none)" : x->second;
    };
    EXPECT_EQ(readX(b), "1");
    uint64_t hits = b.readCacheHits();
    EXPECT_EQ(readX(b), "1");
    EXPECT_EQ(b.readCacheHits(), hits + 1) << "an unchanged session was read from Redis again";

    // Another node's acknowledged write: B's next batch has the new value.
    ASSERT_EQ(a.commitAndWait(kScope, {SessionOp::setAttribute(id, "x", "2")}).status, StoreStatus::Ok);
    EXPECT_EQ(readX(b), "2");
    // B's own write (its committer's connection, not the loader's).
    ASSERT_EQ(b.commitAndWait(kScope, {SessionOp::setAttribute(id, "x", "3")}).status, StoreStatus::Ok);
    EXPECT_EQ(readX(b), "3");
    EXPECT_EQ(readX(b), "3");

    // Changed behind the stores' backs, then gone.
    RedisConnection raw = rawConnection(redis.url());
    raw.command({"HSET", b.sessionKey(kScope, id), "attr:x", "4"});
    EXPECT_EQ(readX(b), "4");
    raw.command({"DEL", b.sessionKey(kScope, id)});
    EXPECT_EQ(b.loadMany(kScope, {id}, now)[0].status, StoreStatus::NotFound);

    // A flush empties the cache too.
    ASSERT_EQ(a.commitAndWait(kScope, {SessionOp::create(id, now, 60), SessionOp::setAttribute(id, "x", "5")})
                  .status,
              StoreStatus::Ok);
    EXPECT_EQ(readX(b), "5");
    EXPECT_EQ(readX(b), "5");
    raw.command({"FLUSHALL"});
    EXPECT_EQ(b.loadMany(kScope, {id}, now)[0].status, StoreStatus::NotFound);
}

// Losing the invalidation connection may lose an invalidation: the cache is emptied and set up
// again on fresh connections within the same lookup, which still answers the current value.
TEST(RedisSessionStoreTest, TheReadCacheStartsOverWhenItsInvalidationConnectionIsLost)
{
    TempDir dir;
    RedisServer redis(dir.path());
    ASSERT_TRUE(redis.start()) << redis.error();
    RedisSessionStore a(redisOptions(redis.url(), "lost:"));
    RedisSessionStore b(redisOptions(redis.url(), "lost:"));
    int64_t now = nowMillis();
    std::string id = SessionIdGenerator::generateBase();
    ASSERT_EQ(a.commitAndWait(kScope, {SessionOp::create(id, now, 60), SessionOp::setAttribute(id, "x", "1")})
                  .status,
              StoreStatus::Ok);
    ASSERT_EQ(b.loadMany(kScope, {id}, now)[0].session.attributes.at("x"), "1");

    RedisConnection raw = rawConnection(redis.url());
    RedisReply killed = raw.command({"CLIENT", "KILL", "TYPE", "pubsub"});
    ASSERT_EQ(killed.get()->type, REDIS_REPLY_INTEGER);
    EXPECT_EQ(killed.get()->integer, 1); // B's invalidation connection
    // Written while nobody listens for B: the invalidation is lost with the connection.
    ASSERT_EQ(a.commitAndWait(kScope, {SessionOp::setAttribute(id, "x", "2")}).status, StoreStatus::Ok);
    LoadResult got = b.loadMany(kScope, {id}, now)[0];
    ASSERT_EQ(got.status, StoreStatus::Ok) << got.error;
    EXPECT_EQ(got.session.attributes.at("x"), "2");
    // And caching again on the new connections.
    uint64_t hits = b.readCacheHits();
    EXPECT_EQ(b.loadMany(kScope, {id}, now)[0].session.attributes.at("x"), "2");
    EXPECT_EQ(b.readCacheHits(), hits + 1);
}

// A Redis that accepts connections but does not answer (paused, SIGSTOPped) costs one command
// timeout, not one per caller or per retry: the pool backs off as for a Redis that is down, and
// the first answer after the stall ends it.
TEST(RedisSessionStoreTest, AStalledRedisCostsOneCommandTimeoutThenEveryoneFailsAtOnce)
{
    TempDir dir;
    RedisServer redis(dir.path());
    ASSERT_TRUE(redis.start()) << redis.error();
    auto options = redisOptions(redis.url(), "stall:");
    options.pool.commandTimeout = std::chrono::milliseconds(300);
    RedisSessionStore store(options);
    std::string id = SessionIdGenerator::generateBase();
    int64_t now = nowMillis();
    ASSERT_EQ(store.commitAndWait(kScope, {SessionOp::create(id, now, 60)}).status, StoreStatus::Ok);
    ASSERT_EQ(store.loadMany(kScope, {id}, now)[0].status, StoreStatus::Ok); // the read cache is set up

    ASSERT_EQ(redis.command("CLIENT PAUSE 4000 ALL"), "+OK");
    auto started = std::chrono::steady_clock::now();
    LoadResult first = store.load(kScope, id, now);
    EXPECT_EQ(first.status, StoreStatus::Unavailable);
    EXPECT_NE(first.error.find("no answer within the command timeout"), std::string::npos) << first.error;
    auto firstTook = std::chrono::steady_clock::now() - started;
    EXPECT_LT(firstTook, std::chrono::milliseconds(900)) << "more than one command timeout (300 ms) waited";

    started = std::chrono::steady_clock::now();
    for (int i = 0; i < 20; ++i) {
        EXPECT_EQ(store.load(kScope, id, now).status, StoreStatus::Unavailable);
        EXPECT_EQ(store.loadMany(kScope, {id, id}, now)[0].status, StoreStatus::Unavailable);
        EXPECT_EQ(store.commitAndWait(kScope, {SessionOp::setAttribute(id, "a", "1")}).status,
                  StoreStatus::Unavailable);
    }
    // 60 callers in the back-off: at most the odd probe waits a timeout.
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1500));

    // Redis answers again once its pause ends: a probe finds it, and everyone is served.
    EXPECT_TRUE(serval::test::eventually(
        [&] { return store.load(kScope, id, now).status == StoreStatus::Ok; }, std::chrono::seconds(15)));
    EXPECT_EQ(store.loadMany(kScope, {id}, now)[0].status, StoreStatus::Ok);
    EXPECT_EQ(store.commitAndWait(kScope, {SessionOp::setAttribute(id, "a", "2")}).status, StoreStatus::Ok);
}

TEST(RedisSessionStoreTest, RedisDownAnswersUnavailableAtOnceAndRecovers)
{
    TempDir dir;
    RedisServer redis(dir.path());
    ASSERT_TRUE(redis.start()) << redis.error();
    RedisSessionStore store(redisOptions(redis.url(), "down:"));
    std::string id = SessionIdGenerator::generateBase();
    int64_t now = nowMillis();
    ASSERT_EQ(store.commitAndWait(kScope, {SessionOp::create(id, now, 60)}).status, StoreStatus::Ok);

    redis.kill();
    LoadResult load = store.load(kScope, id, now);
    EXPECT_EQ(load.status, StoreStatus::Unavailable);
    EXPECT_NE(load.error.find("127.0.0.1:" + std::to_string(redis.port())), std::string::npos) << load.error;
    // While the pool backs off, callers fail fast instead of each waiting for a connect timeout.
    auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < 50; ++i) {
        EXPECT_EQ(store.load(kScope, id, now).status, StoreStatus::Unavailable);
        EXPECT_EQ(store.commitAndWait(kScope, {SessionOp::setAttribute(id, "a", "1")}).status,
                  StoreStatus::Unavailable);
    }
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
    EXPECT_THROW(store.count(kScope, now), SessionStoreError);

    ASSERT_TRUE(redis.start()) << redis.error(); // same port, empty (no persistence)
    std::string fresh = SessionIdGenerator::generateBase();
    EXPECT_TRUE(serval::test::eventually([&] {
        return store.commitAndWait(kScope, {SessionOp::create(fresh, now, 60)}).status == StoreStatus::Ok;
    }));
    EXPECT_EQ(store.load(kScope, fresh, now).status, StoreStatus::Ok);
}

TEST(RedisSessionStoreTest, ARestartedRedisCostsNoRequestItsStaleConnections)
{
    TempDir dir;
    RedisServer redis(dir.path(), RedisServer::Persistence::AppendFsyncAlways);
    ASSERT_TRUE(redis.start()) << redis.error();
    auto options = redisOptions(redis.url(), "restart:");
    RedisSessionStore store(options);
    std::string id = SessionIdGenerator::generateBase();
    int64_t now = nowMillis();
    ASSERT_EQ(
        store.commitAndWait(kScope, {SessionOp::create(id, now, 60), SessionOp::setAttribute(id, "a", "1")})
            .status,
        StoreStatus::Ok);
    // Several idle connections in the pool, all broken by the restart.
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&] { store.load(kScope, id, now); });
    for (auto& t : threads)
        t.join();

    redis.stop();
    ASSERT_TRUE(redis.start()) << redis.error();
    LoadResult got = store.load(kScope, id, now);
    ASSERT_EQ(got.status, StoreStatus::Ok) << got.error; // the retry on a fresh connection answered
    EXPECT_EQ(got.session.attributes.at("a"), "1");      // appendfsync always kept the write
    EXPECT_EQ(store.commitAndWait(kScope, {SessionOp::setAttribute(id, "b", "2")}).status, StoreStatus::Ok);
}

// Loads of concurrent requests share the pool's connections: each must get its own session's
// hash, and when Redis goes away mid-way every load ends (Unavailable), none waits for ever or
// gets another load's reply.
TEST(RedisSessionStoreTest, ConcurrentLoadsEachGetTheirOwnSessionAndAllEndWhenRedisDies)
{
    TempDir dir;
    RedisServer redis(dir.path());
    ASSERT_TRUE(redis.start()) << redis.error();
    RedisSessionStore store(redisOptions(redis.url(), "pipelined:"));
    int64_t now = nowMillis();
    std::vector<std::string> ids;
    for (int i = 0; i < 64; ++i) {
        ids.push_back(SessionIdGenerator::generateBase());
        ASSERT_EQ(store
                      .commitAndWait(kScope, {SessionOp::create(ids.back(), now, 60),
                                              SessionOp::setAttribute(ids.back(), "n", std::to_string(i))})
                      .status,
                  StoreStatus::Ok);
    }
    std::atomic<int> wrong{0}, ok{0}, unavailable{0}, other{0};
    std::atomic<bool> killed{false};
    auto loadAll = [&](int thread, int rounds) {
        for (int r = 0; r < rounds; ++r) {
            int i = (thread * 7 + r * 13) % 64;
            LoadResult got = store.load(kScope, ids[i], now);
            if (got.status == StoreStatus::Ok) {
                ++ok;
                auto it = got.session.attributes.find("n");
                if (it == got.session.attributes.end() || it->second != std::to_string(i) ||
                    got.session.id != ids[i])
                    ++wrong;
            } else if (got.status == StoreStatus::Unavailable && killed.load()) {
                ++unavailable;
            } else {
                ++other;
            }
        }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t)
        threads.emplace_back(loadAll, t, 300);
    for (auto& t : threads)
        t.join();
    EXPECT_EQ(ok.load(), 16 * 300);
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(other.load(), 0);

    threads.clear();
    ok = 0;
    for (int t = 0; t < 16; ++t)
        threads.emplace_back(loadAll, t, 2000);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (ok.load() < 1000 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
    killed = true;
    redis.kill();
    for (auto& t : threads)
        t.join(); // every load ended
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(other.load(), 0);
    EXPECT_GT(unavailable.load(), 0);
    EXPECT_EQ(ok.load() + unavailable.load(), 16 * 2000);
}

TEST(RedisSessionStoreTest, AMalformedUrlIsAConfigurationError)
{
    auto options = redisOptions("redis://127.0.0.1:notaport", "x:");
    EXPECT_THROW(RedisSessionStore store(options), SessionStoreError);
}

TEST(RedisSessionStoreTest, NodesSeeEachOthersChangeIdAtOnce)
{
    const std::string url = SharedRedis::server().url();
    const std::string prefix = SharedRedis::uniquePrefix();
    RedisSessionStore node1(redisOptions(url, prefix));
    RedisSessionStore node2(redisOptions(url, prefix));
    std::string id = SessionIdGenerator::generateBase();
    int64_t now = nowMillis();
    ASSERT_EQ(node1.commitAndWait(kScope, {SessionOp::create(id, now, 60)}).status, StoreStatus::Ok);
    std::string newId = SessionIdGenerator::generateBase();
    ASSERT_EQ(node2.commitAndWait(kScope, {SessionOp::changeId(id, newId)}).status, StoreStatus::Ok);
    EXPECT_EQ(node1.load(kScope, id, now).status, StoreStatus::NotFound);
    EXPECT_EQ(node1.load(kScope, newId, now).status, StoreStatus::Ok);
    EXPECT_EQ(node1.count(kScope, now), 1u);
}

TEST(RedisSessionStoreTest, WithAppendFsyncAlwaysAnAcknowledgedWriteSurvivesKillNineOfRedis)
{
    TempDir dir;
    RedisServer redis(dir.path(), RedisServer::Persistence::AppendFsyncAlways);
    ASSERT_TRUE(redis.start()) << redis.error();
    RedisSessionStore store(redisOptions(redis.url(), "crash:"));
    std::string id = SessionIdGenerator::generateBase();
    int64_t now = nowMillis();
    ASSERT_EQ(store.commitAndWait(kScope, {SessionOp::create(id, now, 600)}).status, StoreStatus::Ok);
    std::vector<std::string> acknowledged;
    for (int i = 0; i < 200; ++i) {
        std::string name = "a" + std::to_string(i);
        if (store.commitAndWait(kScope, {SessionOp::setAttribute(id, name, "v")}).status == StoreStatus::Ok)
            acknowledged.push_back(name);
    }
    ASSERT_EQ(acknowledged.size(), 200u);
    redis.kill();
    ASSERT_TRUE(redis.start()) << redis.error();
    LoadResult got;
    ASSERT_TRUE(serval::test::eventually([&] {
        got = store.load(kScope, id, now);
        return got.status != StoreStatus::Unavailable;
    }));
    ASSERT_EQ(got.status, StoreStatus::Ok) << got.error;
    for (const std::string& name : acknowledged)
        EXPECT_EQ(got.session.attributes.count(name), 1u) << name;
}
