#pragma once

#include "session/CommitQueue.h"
#include "session/SessionStore.h"
#include "session/WalIndexWatch.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace serval::session {

/// The embedded default store: one SQLite file (data/sessions.db), WAL, shared by every process
/// that serves the app (the server and its workers open the same file; SQLite's locks serialise
/// their writers, WAL lets readers run beside them).
///
/// Writes: commit() queues a batch for the store's writer thread. The writer takes everything
/// queued and applies it in ONE transaction (group commit): while one transaction is being
/// made durable (fsync of the WAL with synchronous=FULL), the next requests' batches gather, so
/// the fsync cost is shared by all requests that finish in the same few milliseconds. Each
/// batch runs inside its own SAVEPOINT: a batch that fails is rolled back alone and reported,
/// the others commit. Callbacks run on the writer thread after COMMIT returned.
///
/// Reads: load() runs one SELECT on a pooled read connection (one snapshot; never waits for
/// the writer). Control-plane calls (sweep, list, count, invalidateAll) use the same pool.
///
/// Touches are coalesced (PendingTouches) and written by the writer once per touchInterval.
/// The destructor stops taking batches, commits what is queued, writes pending touches and
/// joins the writer.
class SqliteSessionStore : public SessionStore
{
public:
    enum class Synchronous
    {
        Full,  ///< every commit fsyncs the WAL: durable across power loss (the default)
        Normal ///< no fsync per commit: durable across a process crash (kill -9), not power loss
    };

    struct Options
    {
        std::string path = "data/sessions.db";
        Synchronous synchronous = Synchronous::Full;
        std::chrono::milliseconds touchInterval{1000};
        std::chrono::milliseconds busyTimeout{5000}; ///< waiting for another process's write lock
        size_t maxReaders = 16;                      ///< pooled read connections
        size_t maxBatchesPerTransaction = 1024;
    };

    /// Opens (creating) the file, switches it to WAL, migrates the schema (safe when several
    /// processes open it at once) and starts the writer. Throws SessionStoreError.
    explicit SqliteSessionStore(Options options);
    ~SqliteSessionStore() override;
    SqliteSessionStore(const SqliteSessionStore&) = delete;
    SqliteSessionStore& operator=(const SqliteSessionStore&) = delete;

    void flushTouches() override;
    std::vector<ExpiredSession> sweepExpired(int64_t now, size_t limit = 1000,
                                             const ScopeFilter& filter = {}) override;
    uint64_t count(std::string_view scope, int64_t now) override;
    std::map<std::string, uint64_t> countByScope(int64_t now) override;
    std::vector<SessionSummary> list(std::string_view scope, int64_t now, size_t limit) override;
    uint64_t invalidateAll(std::string_view scope) override;
    std::string describe() const override;

    static constexpr int kSchemaVersion = 1;

private:
    std::optional<SessionRecord> fetch(std::string_view scope, std::string_view id) override;
    bool enqueue(std::string_view scope, std::vector<SessionOp>& ops, CommitCallback& done,
                 uint64_t queuedAtMicros) noexcept override;

    class Connection;
    class ReaderLease;

    struct Batch
    {
        std::string scope;
        std::vector<SessionOp> ops;
        CommitCallback done;
        uint64_t queuedAtMicros = 0;
    };

    void writerLoop();
    /// One group: every batch in its savepoint, then the touches, then COMMIT; then callbacks.
    void writeGroup(std::vector<Batch>& group, std::vector<PendingTouches::Touch> touches);
    std::unique_ptr<Connection> openConnection() const;

    Options _options;
    /// Before every connection (they refer to it) and after them (they keep the -shm in place).
    mutable WalIndexWatch _wal;
    std::unique_ptr<Connection> _writer; ///< used by the writer thread only (after the constructor)
    /// The writer thread's outage record: one line when commits start failing (or fail for a
    /// new reason), one when they succeed again, not one per group commit in between.
    std::string _failure;
    uint64_t _failedGroups = 0;
    uint64_t _failedRequests = 0;
    CommitQueue<Batch> _queue;

    std::mutex _readersMutex;
    std::condition_variable _readerReturned;
    std::vector<std::unique_ptr<Connection>> _idleReaders;
    size_t _openReaders = 0;

    std::thread _writerThread; ///< last: started once everything above exists
};

} // namespace serval::session
