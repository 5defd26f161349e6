#pragma once

#include "session/RedisConnectionPool.h"
#include "session/SessionStore.h"

#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace serval::session {

/// Sessions this process read from Redis, kept while Redis says they are unchanged: the read
/// side of RedisSessionStore's batched lookups (loadMany, the worker's prefetch).
///
/// Redis's client-side caching in its RESP2 form: the loader connection runs
/// `CLIENT TRACKING on REDIRECT <id>`, so Redis tells the subscriber connection (subscribed to
/// `__redis__:invalidate`) of every change to a key the loader read: a write from any node or
/// process, an expiry, a flush. The barrier that makes a cached answer safe: every batch first
/// sends PING on the subscriber and reads up to its PONG. Redis appends an invalidation to the
/// subscriber's output while it executes the write, and answers the PING later on the same
/// connection, so once the PONG is read, every write Redis executed before the PING has been
/// seen. A client that saw a write acknowledged (on any node) and then sent a request here
/// reaches this batch after that write executed: its session's stale snapshot is gone before it
/// is looked up. One round trip per batch, as before, but no HGETALL (and no parsing) for a
/// session nobody changed since.
///
/// Any failure on either connection empties the cache (an invalidation may have been lost)
/// and gives both connections up; the next batch starts over through the pool (whose back-off
/// answers at once while Redis is down). A Redis that refuses CLIENT TRACKING (before 6.0, or an
/// ACL without it) turns the cache off for good: every lookup reads Redis. The cache holds two
/// of the pool's connections while it works (off with a pool of fewer than four).
///
/// THREADS: fetch() from any thread, one batch at a time (a mutex).
class RedisReadCache
{
public:
    /// `maxEntries`: past it the cache is emptied (sessions are re-read, nothing is wrong).
    RedisReadCache(RedisConnectionPool& pool, std::string description, size_t maxEntries = 16384);
    ~RedisReadCache();
    RedisReadCache(const RedisReadCache&) = delete;
    RedisReadCache& operator=(const RedisReadCache&) = delete;

    /// Builds a record from an HGETALL reply (nullopt: no such session).
    using Parse = std::function<std::optional<SessionRecord>(const FlatReply& reply, const std::string& id)>;

    /// The stored sessions under `keys` (result i for keys[i], ids[i] its session id): cached
    /// ones after the barrier, the others read with HGETALL in one pipeline and kept. False
    /// when the cache is off (CLIENT TRACKING refused): the caller reads Redis itself. Throws
    /// RedisError when Redis failed (the cache is then empty).
    bool fetch(const std::vector<std::string>& keys, const std::vector<std::string>& ids, const Parse& parse,
               std::vector<std::optional<SessionRecord>>& out);

    /// Statistics (tests, /metrics): answers served from the cache, and batches that found it
    /// emptied by a failure.
    uint64_t hits() const noexcept;
    bool enabled() const noexcept;

private:
    void connect();
    /// PING the subscriber and apply every invalidation before its PONG.
    void barrier();
    void reset() noexcept; ///< empties the cache, gives both connections up

    RedisConnectionPool& _pool;
    std::string _description;
    size_t _maxEntries;
    bool _disabled;

    mutable std::mutex _mutex;
    std::optional<RedisConnectionPool::Lease> _subscriber;   ///< subscribed to __redis__:invalidate
    std::optional<RedisConnectionPool::Lease> _loader;       ///< CLIENT TRACKING on REDIRECT
    std::unordered_map<std::string, SessionRecord> _entries; ///< session key -> stored record
    FlatReply _reply;                                        ///< reused for every reply read
    uint64_t _hits = 0;
};

} // namespace serval::session
