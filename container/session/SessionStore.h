#pragma once

#include "session/PendingTouches.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace serval::session {

/// Where a session belongs: one Host and one context path, never one version of an app, so a
/// session survives redeploy. Every store call names its scope; ids are unique per scope.
/// Built by sessionScope(): "localhost/shop", "localhost/" for ROOT (a host name holds no '/').
std::string sessionScope(std::string_view host, std::string_view contextPath);

/// Wall-clock milliseconds since the Unix epoch: the `now` every store call takes outside tests
/// (the sweep thread, request sessions, the manager's view).
int64_t wallClockMillis() noexcept;

/// The persistent state of one session as a store returns it. Times are milliseconds since the
/// Unix epoch; maxInactiveInterval is in seconds, <= 0 meaning the session never expires (as
/// HttpSession.setMaxInactiveInterval).
struct SessionRecord
{
    std::string id;
    int64_t creationTime = 0;
    int64_t lastAccessedTime = 0;
    int32_t maxInactiveInterval = 0;
    std::map<std::string, std::string, std::less<>> attributes; ///< name -> value bytes

    /// The instant the session expires (INT64_MAX when it never does).
    int64_t expiresAt() const noexcept;
};

/// One row of the manager's session list: what an operator sees, never attribute values.
struct SessionSummary
{
    std::string id;
    int64_t creationTime = 0;
    int64_t lastAccessedTime = 0;
    int32_t maxInactiveInterval = 0;
    size_t attributeCount = 0;
    size_t size = 0; ///< bytes of attribute names and values
};

/// A session a sweep removed (for HttpSessionListener.sessionDestroyed and /metrics).
struct ExpiredSession
{
    std::string scope;
    std::string id;
};

/// One write. A request's writes travel as one batch (SessionStore::commit), applied atomically
/// and in order. Writes name single attributes: a store never rewrites a whole session, so two
/// requests that set different attributes of one session never lose each other's writes.
/// A write to a session that no longer exists (invalidated, expired, id changed) is dropped; it
/// never brings the session back.
struct SessionOp
{
    enum class Type
    {
        Create,          ///< id, time (creation = last access), maxInactive
        SetAttribute,    ///< id, name, value
        RemoveAttribute, ///< id, name
        SetMaxInactive,  ///< id, maxInactive, time (now, for a TTL relative to the writer's clock)
        Invalidate,      ///< id
        ChangeId,        ///< id (old), newId: keeps the attributes, retires the old id atomically
        /// id: ends the session now (every process finds it gone at once) but leaves its removal
        /// to the sweep of its scope, which reports it to the app's listeners exactly once: the
        /// manager's invalidation of an isolated app's session, whose listeners live in its
        /// workers (SessionService::invalidate).
        Expire
    };

    Type type = Type::SetAttribute;
    std::string id;
    std::string name;
    std::string value;
    std::string newId;
    int64_t time = 0;
    int32_t maxInactive = 0;

    static SessionOp create(std::string id, int64_t now, int32_t maxInactive);
    static SessionOp setAttribute(std::string id, std::string name, std::string value);
    static SessionOp removeAttribute(std::string id, std::string name);
    static SessionOp setMaxInactive(std::string id, int32_t maxInactive, int64_t now);
    static SessionOp invalidate(std::string id);
    static SessionOp expire(std::string id);
    static SessionOp changeId(std::string oldId, std::string newId);
};

/// Data-plane outcome. Unavailable means the store could not answer (Redis down, the SQLite file
/// locked past the busy timeout, disk full): a request that needs its session gets 503.
enum class StoreStatus
{
    Ok,
    NotFound,
    Unavailable
};

struct LoadResult
{
    StoreStatus status = StoreStatus::NotFound;
    SessionRecord session; ///< valid when status == Ok
    std::string error;     ///< one line when status == Unavailable
};

struct CommitResult
{
    StoreStatus status = StoreStatus::Ok; ///< Ok or Unavailable
    std::string error;
};

/// Control-plane failure (list, count, sweep, invalidateAll, opening the store): one line that
/// names the store and the reason.
class SessionStoreError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

/// Counters since the store opened, for /metrics and the manager page (this process only).
struct SessionStoreStats
{
    uint64_t commits = 0;         ///< batches acknowledged durable
    uint64_t failedCommits = 0;   ///< batches answered Unavailable
    uint64_t transactions = 0;    ///< SQLite transactions / Redis pipelines that carried them
    uint64_t commitMicrosSum = 0; ///< commit() to callback, summed over acknowledged batches
    uint64_t commitMicrosMax = 0;
    uint64_t loads = 0;
    uint64_t loadMicrosSum = 0;
    uint64_t created = 0;        ///< Create ops committed
    uint64_t invalidated = 0;    ///< Invalidate ops committed
    uint64_t expired = 0;        ///< sessions removed by sweepExpired()
    uint64_t touchesWritten = 0; ///< coalesced last-access updates written

    /// Sums another process's counters into these (the server adds its isolated apps' workers,
    /// ProcessManager::addSessionStoreStats); the max stays a max.
    void add(const SessionStoreStats& other) noexcept
    {
        commits += other.commits;
        failedCommits += other.failedCommits;
        transactions += other.transactions;
        commitMicrosSum += other.commitMicrosSum;
        commitMicrosMax = commitMicrosMax > other.commitMicrosMax ? commitMicrosMax : other.commitMicrosMax;
        loads += other.loads;
        loadMicrosSum += other.loadMicrosSum;
        created += other.created;
        invalidated += other.invalidated;
        expired += other.expired;
        touchesWritten += other.touchesWritten;
    }
};

/// Where sessions live: SqliteSessionStore (one machine; every process of an app opens the same
/// file) or RedisSessionStore (several nodes). One store serves any number of scopes.
///
/// Threads: every member is thread-safe. The data plane (load, commit, touch) never throws; it
/// answers with StoreStatus. The control plane (list, count, sweep, invalidateAll) throws
/// SessionStoreError. Times come from the caller (`now`, ms since the epoch), so tests drive
/// the clock.
class SessionStore
{
public:
    /// Runs exactly once per commit(): on the store's own thread once the batch is durable or has
    /// failed, or on the caller's thread before commit() returns when the store refuses it at
    /// once (closed, empty batch). It must be quick and must not call back into commit()
    /// synchronously (post to a loop or wake a waiter instead).
    using CommitCallback = std::function<void(const CommitResult&)>;

    virtual ~SessionStore() = default;

    /// The session with its attributes, as one consistent snapshot; NotFound when it does not
    /// exist or has expired by `now`. Includes this process's coalesced last-access time.
    LoadResult load(std::string_view scope, std::string_view id, int64_t now) noexcept;
    /// load() of several sessions of one scope; result i answers ids[i]. One round trip where
    /// the store pipelines (Redis), else one load() each. All Unavailable if the store failed.
    std::vector<LoadResult> loadMany(std::string_view scope, const std::vector<std::string>& ids,
                                     int64_t now) noexcept;
    /// A load is a round trip to another process (Redis): worth batching the loads of requests
    /// read together (SessionAccess::prefetch). False for SQLite, whose loads are served from
    /// this process's cache of the file.
    virtual bool remoteLoads() const noexcept { return false; }

    /// Queues a request's writes; `done` reports when they are durable (SQLite: committed with
    /// synchronous=FULL; Redis: acknowledged by the server). Several callers' batches share one
    /// SQLite transaction (group commit), each still atomic on its own.
    void commit(std::string_view scope, std::vector<SessionOp> ops, CommitCallback done) noexcept;

    /// commit() for a caller that may hold its thread (control plane, tests, a worker thread
    /// before the connector can suspend an exchange).
    CommitResult commitAndWait(std::string_view scope, std::vector<SessionOp> ops) noexcept;

    /// Records that a request used the session at `now`. Coalesced: written in the background at
    /// most once per touch interval per session, so a read-only request costs no write.
    void touch(std::string_view scope, std::string_view id, int64_t now) noexcept;

    /// Writes every pending touch now (clean stop, tests).
    virtual void flushTouches() = 0;

    /// Which scopes a sweep removes sessions from (true: this one); empty: every scope.
    using ScopeFilter = std::function<bool(std::string_view scope)>;
    /// Removes up to `limit` sessions that expired by `now` (in the scopes `filter` accepts) and
    /// returns them. Safe to run from several processes or nodes at once: each expired session is
    /// returned by exactly one.
    virtual std::vector<ExpiredSession> sweepExpired(int64_t now, size_t limit = 1000,
                                                     const ScopeFilter& filter = {}) = 0;

    /// Live sessions of one scope at `now`.
    virtual uint64_t count(std::string_view scope, int64_t now) = 0;
    /// Live sessions per scope (every scope that has one).
    virtual std::map<std::string, uint64_t> countByScope(int64_t now) = 0;
    /// Up to `limit` live sessions of one scope, most recently accessed first.
    virtual std::vector<SessionSummary> list(std::string_view scope, int64_t now, size_t limit) = 0;
    /// Removes every session of one scope; returns how many there were.
    virtual uint64_t invalidateAll(std::string_view scope) = 0;

    /// "sqlite data/sessions.db", "redis 127.0.0.1:6379/0": names the store in logs and errors.
    virtual std::string describe() const = 0;

    SessionStoreStats stats() const noexcept;

protected:
    /// Counters the implementations update (relaxed atomics: statistics, not synchronisation).
    struct Counters
    {
        std::atomic<uint64_t> commits{0};
        std::atomic<uint64_t> failedCommits{0};
        std::atomic<uint64_t> transactions{0};
        std::atomic<uint64_t> commitMicrosSum{0};
        std::atomic<uint64_t> commitMicrosMax{0};
        std::atomic<uint64_t> loads{0};
        std::atomic<uint64_t> loadMicrosSum{0};
        std::atomic<uint64_t> created{0};
        std::atomic<uint64_t> invalidated{0};
        std::atomic<uint64_t> expired{0};
        std::atomic<uint64_t> touchesWritten{0};
    };

    /// Counts one answered batch: its latency since `queuedAtMicros` (steadyMicros()) and, when
    /// it succeeded, the sessions it created and invalidated.
    void countCommit(const std::vector<SessionOp>& ops, const CommitResult& result,
                     uint64_t queuedAtMicros) noexcept;
    /// load() without the bookkeeping: the stored session (any expiry), or nullopt when the
    /// store has none. Throws (any std::exception) when the store cannot answer.
    virtual std::optional<SessionRecord> fetch(std::string_view scope, std::string_view id) = 0;
    /// fetch() of several ids (result i answers ids[i]); by default one fetch() each. Throws as
    /// fetch() does.
    virtual std::vector<std::optional<SessionRecord>> fetchMany(std::string_view scope,
                                                                const std::vector<std::string>& ids);
    /// Hands a non-empty batch to the store's thread, which answers `done` later. Returns false,
    /// leaving `ops` and `done` as they were, when the store is closing.
    virtual bool enqueue(std::string_view scope, std::vector<SessionOp>& ops, CommitCallback& done,
                         uint64_t queuedAtMicros) noexcept = 0;
    static uint64_t steadyMicros() noexcept;

private:
    /// What load() answers for a fetched session: this process's pending touch applied, an
    /// expired one NotFound.
    LoadResult loaded(std::string_view scope, std::string_view id, std::optional<SessionRecord> stored,
                      int64_t now) const;

protected:
    Counters _counters;
    PendingTouches _touches; ///< written by the store's own thread once per touch interval
};

} // namespace serval::session
