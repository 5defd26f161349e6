#pragma once

#include "session/CommitQueue.h"
#include "session/RedisConnectionPool.h"
#include "session/RedisReadCache.h"
#include "session/SessionStore.h"

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace serval::session {

/// Sessions in Redis, shared by every node (server.xml `<Manager store="redis" url=...>`).
///
/// Layout (every key under `keyPrefix`, "serval:" by default):
///   session:<scope>:<id>   a hash: meta:created, meta:lastAccessed, meta:maxInactive (numbers)
///                          and one field attr:<name> per attribute; the key's TTL is the
///                          session's expiry plus a slack, so Redis drops abandoned sessions
///   sessions:<scope>       a sorted set: id -> expiry (ms), for counts, lists and the sweep
///   scopes                 a set of the scopes that have sessions
///
/// Every batch runs as ONE Lua script (atomic in Redis, one round trip): per-attribute HSET and
/// HDEL, never a rewrite of the hash; writes to a missing session are dropped (no resurrected
/// half-sessions); change-id RENAMEs the hash and moves the index entry in the same script.
/// Committer threads pipeline all queued batches on one connection each, so commit() never
/// holds the caller's thread; the callback runs on a committer thread once Redis answered.
///
/// Durability is Redis's: a batch is acknowledged when Redis applied it; with `appendonly yes`
/// and `appendfsync always` that is on disk (docs/sessions.md). Redis down: load() and commit()
/// answer Unavailable at once while the pool backs off (a request that needs its session gets
/// 503), everything else is unaffected.
///
/// Standalone Redis (or Sentinel-managed) only: the sweep and list scripts build key names from
/// the scope, which Redis Cluster would refuse.
class RedisSessionStore : public SessionStore
{
public:
    struct Options
    {
        std::string url = "redis://127.0.0.1:6379/0";
        std::string keyPrefix = "serval:";
        RedisConnectionPool::Options pool;
        size_t committers = 2; ///< threads pipelining batches (each holds one connection while busy)
        size_t maxBatchesPerPipeline = 256;
        std::chrono::milliseconds touchInterval{1000};
        /// Batched lookups keep what they read while Redis says it is unchanged
        /// (RedisReadCache; server.xml `<Manager readCache="false">` turns it off).
        bool readCache = true;
    };

    /// Parses the url (throws SessionStoreError when it is malformed) and starts the committers.
    /// Does not connect: a server whose Redis is down still starts, and sessions work once it is up.
    explicit RedisSessionStore(Options options);
    ~RedisSessionStore() override;
    RedisSessionStore(const RedisSessionStore&) = delete;
    RedisSessionStore& operator=(const RedisSessionStore&) = delete;

    void flushTouches() override;
    std::vector<ExpiredSession> sweepExpired(int64_t now, size_t limit = 1000,
                                             const ScopeFilter& filter = {}) override;
    uint64_t count(std::string_view scope, int64_t now) override;
    std::map<std::string, uint64_t> countByScope(int64_t now) override;
    std::vector<SessionSummary> list(std::string_view scope, int64_t now, size_t limit) override;
    uint64_t invalidateAll(std::string_view scope) override;
    std::string describe() const override;
    bool remoteLoads() const noexcept override { return true; }

    /// The key of one session's hash (tests inspect TTLs and fields with it).
    std::string sessionKey(std::string_view scope, std::string_view id) const;
    /// Batched lookups answered from the read cache (0 when it is off).
    uint64_t readCacheHits() const noexcept { return _cache ? _cache->hits() : 0; }

private:
    std::optional<SessionRecord> fetch(std::string_view scope, std::string_view id) override;
    std::vector<std::optional<SessionRecord>> fetchMany(std::string_view scope,
                                                        const std::vector<std::string>& ids) override;
    /// fetchMany() straight from Redis (pooled connection, no cache).
    std::vector<std::optional<SessionRecord>> fetchUncached(std::string_view scope,
                                                            const std::vector<std::string>& ids);
    bool enqueue(std::string_view scope, std::vector<SessionOp>& ops, CommitCallback& done,
                 uint64_t queuedAtMicros) noexcept override;

    enum Script : size_t
    {
        Apply,
        SweepScope,
        ListScope,
        InvalidateScope,
        ScriptCount
    };

    /// One EVALSHA (EVAL when Redis lost the script) as argument vector storage.
    struct Call
    {
        Script script = Apply;
        std::vector<std::string> keys;
        std::vector<std::string> args;
    };

    struct Batch
    {
        Call call;
        std::vector<SessionOp> ops; ///< kept for the statistics
        CommitCallback done;
        uint64_t queuedAtMicros = 0;
    };

    Call applyCall(std::string_view scope, const std::vector<SessionOp>& ops) const;
    Call touchCall(const PendingTouches::Touch& touch) const;
    std::string indexKey(std::string_view scope) const;
    std::string scopesKey() const;

    /// Runs calls pipelined on one connection; retries once on a fresh connection when a reused
    /// one turns out broken (Redis restarted). One reply per call, in order. Throws RedisError.
    std::vector<RedisReply> run(const std::vector<const Call*>& calls);
    /// Pipelines the calls on `connection`, re-sending with EVAL any that Redis answered NOSCRIPT.
    std::vector<RedisReply> pipeline(RedisConnection& connection, const std::vector<const Call*>& calls);
    RedisReply runOne(const Call& call);
    /// Runs `work` on a pooled connection; when a reused one fails with an I/O error, once more
    /// on a fresh one. Throws RedisError.
    template <typename F> auto withConnection(F work) -> decltype(work(std::declval<RedisConnection&>()));
    /// The scopes that have sessions (SMEMBERS). Throws RedisError.
    std::vector<std::string> scopes();
    template <typename F> auto controlPlane(F work) -> decltype(work());

    /// Consecutive Apply calls of one scope joined into one (their keys and ops moved out of
    /// `calls`); counts[j] says how many of `calls` result j carries, in order.
    static std::vector<Call> mergeApplies(std::vector<Call*>& calls, std::vector<size_t>& counts);

    void committerLoop(bool flushesTouches);
    /// Pipelines one group of batches and answers each.
    void sendGroup(std::vector<Batch>& group);
    void writeTouches();

    Options _options;
    std::string _description;
    RedisConnectionPool _pool;
    std::unique_ptr<RedisReadCache> _cache; ///< before _pool goes: it holds two of its connections
    int64_t _ttlSlackMillis = 0;
    CommitQueue<Batch> _queue;

    std::vector<std::thread> _committers; ///< last: started once everything above exists
};

} // namespace serval::session
