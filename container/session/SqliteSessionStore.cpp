#include "session/SqliteSessionStore.h"

#include "registry/Database.h"
#include "util/Log.h"

#include <array>
#include <iterator>
#include <limits>
#include <optional>
#include <sqlite3.h>
#include <thread>
#include <unordered_map>

namespace serval::session {

using registry::Database;
using registry::DatabaseError;
using registry::Statement;
using registry::Transaction;

namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

/// Each entry migrates from user_version == index to index + 1. Append only.
///
/// Attributes hang off their session by a foreign key: deleting a session (invalidate, sweep)
/// deletes its attributes, and changing its id moves them, in the same statement. expires_at is
/// kept with every write that moves it, so the sweep and the counts use one index.
constexpr std::string_view kMigrations[] = {
    R"sql(
CREATE TABLE sessions (
    scope TEXT NOT NULL,
    id TEXT NOT NULL,
    created INTEGER NOT NULL,
    last_accessed INTEGER NOT NULL,
    max_inactive INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (scope, id)
) WITHOUT ROWID;
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE TABLE attributes (
    scope TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (scope, id, name),
    FOREIGN KEY (scope, id) REFERENCES sessions (scope, id) ON DELETE CASCADE ON UPDATE CASCADE
);
)sql",
};

enum Sql : size_t
{
    Load,
    Create,
    SetAttribute,
    RemoveAttribute,
    SetMaxInactive,
    Invalidate,
    ChangeId,
    Touch,
    Savepoint,
    Release,
    RollbackTo,
    Sweep,
    ExpiredScopes,
    SweepScope,
    Count,
    CountByScope,
    List,
    InvalidateAll,
    Expire,
    DataVersion,
    SqlCount
};

/// Statements that only read: any other one run on a reader connection (the sweep,
/// invalidateAll) is a write its own data_version never reports, so it drops that cache.
constexpr bool readsOnly(Sql which) noexcept
{
    return which == Load || which == Count || which == CountByScope || which == List || which == DataVersion;
}

// Indexed by Sql. expires_at: last_accessed + max_inactive seconds, or "never" when <= 0.
constexpr std::array<std::string_view, SqlCount> kSql = {
    // Load: one statement, so the session row and its attributes are one snapshot.
    "SELECT s.created, s.last_accessed, s.max_inactive, a.name, a.value FROM sessions s "
    "LEFT JOIN attributes a ON a.scope = s.scope AND a.id = s.id "
    "WHERE s.scope = ?1 AND s.id = ?2 AND s.expires_at > 0",
    "INSERT INTO sessions (scope, id, created, last_accessed, max_inactive, expires_at) "
    "VALUES (?1, ?2, ?3, ?3, ?4, ?5)",
    // A write to a session that is gone is dropped, never an orphan row.
    "INSERT INTO attributes (scope, id, name, value) SELECT ?1, ?2, ?3, ?4 "
    "WHERE EXISTS (SELECT 1 FROM sessions WHERE scope = ?1 AND id = ?2) "
    "ON CONFLICT (scope, id, name) DO UPDATE SET value = excluded.value",
    "DELETE FROM attributes WHERE scope = ?1 AND id = ?2 AND name = ?3",
    "UPDATE sessions SET max_inactive = ?3, "
    "expires_at = CASE WHEN ?3 > 0 THEN last_accessed + ?3 * 1000 ELSE 9223372036854775807 END "
    "WHERE scope = ?1 AND id = ?2 AND expires_at > 0",
    "DELETE FROM sessions WHERE scope = ?1 AND id = ?2",
    "UPDATE sessions SET id = ?3 WHERE scope = ?1 AND id = ?2",
    "UPDATE sessions SET last_accessed = ?3, "
    "expires_at = CASE WHEN max_inactive > 0 THEN ?3 + max_inactive * 1000 ELSE expires_at END "
    "WHERE scope = ?1 AND id = ?2 AND last_accessed < ?3 AND expires_at > 0",
    "SAVEPOINT batch",
    "RELEASE batch",
    "ROLLBACK TO batch",
    "DELETE FROM sessions WHERE (scope, id) IN "
    "(SELECT scope, id FROM sessions WHERE expires_at <= ?1 LIMIT ?2) RETURNING scope, id",
    "SELECT DISTINCT scope FROM sessions WHERE expires_at <= ?1",
    "DELETE FROM sessions WHERE (scope, id) IN "
    "(SELECT scope, id FROM sessions WHERE scope = ?3 AND expires_at <= ?1 LIMIT ?2) RETURNING scope, id",
    "SELECT count(*) FROM sessions WHERE scope = ?1 AND expires_at > ?2",
    "SELECT scope, count(*) FROM sessions WHERE expires_at > ?1 GROUP BY scope",
    "SELECT s.id, s.created, s.last_accessed, s.max_inactive, count(a.name), "
    "coalesce(sum(length(CAST(a.name AS BLOB)) + length(a.value)), 0) FROM sessions s "
    "LEFT JOIN attributes a ON a.scope = s.scope AND a.id = s.id "
    "WHERE s.scope = ?1 AND s.expires_at > ?2 GROUP BY s.id ORDER BY s.last_accessed DESC LIMIT ?3",
    "DELETE FROM sessions WHERE scope = ?1",
    // Expired now, removed (and reported) by the next sweep of its scope. expires_at 0 marks it:
    // a load, a touch or a new max-inactive never bring it back.
    "UPDATE sessions SET expires_at = 0 WHERE scope = ?1 AND id = ?2",
    "PRAGMA data_version",
};

int64_t expiresAt(int64_t lastAccessed, int32_t maxInactive)
{
    return maxInactive > 0 ? lastAccessed + int64_t{maxInactive} * 1000 : kNever;
}

Sql sqlFor(SessionOp::Type type)
{
    switch (type) {
    case SessionOp::Type::Create:
        return Sql::Create;
    case SessionOp::Type::SetAttribute:
        return Sql::SetAttribute;
    case SessionOp::Type::RemoveAttribute:
        return Sql::RemoveAttribute;
    case SessionOp::Type::SetMaxInactive:
        return Sql::SetMaxInactive;
    case SessionOp::Type::Invalidate:
        return Sql::Invalidate;
    case SessionOp::Type::ChangeId:
        return Sql::ChangeId;
    case SessionOp::Type::Expire:
        return Sql::Expire;
    }
    return Sql::SetAttribute;
}

/// Resets a statement when the scope ends, so an exception mid-iteration never leaves a read
/// transaction open on a pooled connection.
class ResetOnExit
{
public:
    explicit ResetOnExit(Statement& statement) : _statement(statement) {}
    ~ResetOnExit() { _statement.reset(); }
    ResetOnExit(const ResetOnExit&) = delete;
    ResetOnExit& operator=(const ResetOnExit&) = delete;

private:
    Statement& _statement;
};

/// WAL: the readers of every process run beside the one writer. The mode is stored in the file,
/// so whichever process opens it first switches it. Switching needs a moment of exclusive access
/// and SQLite answers "database is locked" at once, without its busy handler, while another
/// process (the server and its workers start together) holds the fresh file: retry until the
/// busy timeout.
void switchToWal(Database& db, std::chrono::milliseconds busyTimeout)
{
    auto deadline = std::chrono::steady_clock::now() + busyTimeout;
    while (true) {
        try {
            Statement st(db, "PRAGMA journal_mode=WAL");
            if (st.step() && st.textAt(0) == "wal") return;
            if (std::chrono::steady_clock::now() >= deadline) db.fail("cannot switch to WAL");
        } catch (const DatabaseError&) {
            if (std::chrono::steady_clock::now() >= deadline) throw;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
}

template <typename F> auto controlPlane(const std::string& store, F work) -> decltype(work())
{
    try {
        return work();
    } catch (const SessionStoreError&) {
        throw;
    } catch (const DatabaseError& e) {
        throw SessionStoreError(e.what());
    } catch (const std::exception& e) {
        throw SessionStoreError(store + ": " + e.what());
    }
}

} // namespace

/// One sqlite3 connection with its statements prepared on first use. Used by one thread at a
/// time: the writer's by the writer thread, a reader's by whoever holds its ReaderLease.
class SqliteSessionStore::Connection
{
public:
    Connection(const std::string& path, const Options& options, WalIndexWatch& wal)
        : _db(path, "session store"), _wal(wal)
    {
        sqlite3_busy_timeout(_db.handle(), static_cast<int>(options.busyTimeout.count()));
        // Per connection: cascades need foreign_keys; synchronous decides what COMMIT waits for.
        _db.exec("PRAGMA foreign_keys=ON");
        _db.exec(options.synchronous == Synchronous::Full ? "PRAGMA synchronous=FULL"
                                                          : "PRAGMA synchronous=NORMAL");
    }

    Database& db() noexcept { return _db; }

    Statement& statement(Sql which)
    {
        std::optional<Statement>& slot = _statements[which];
        if (!slot) slot.emplace(_db, kSql[which]);
        if (!readsOnly(which)) dropCache();
        return *slot;
    }

    /// A reader's cache of the sessions it loaded, valid while SQLite's data_version says no
    /// other connection (the writer, another process's) committed since: a read-only request
    /// then costs that check, not the join. Any commit anywhere empties it, so a write whose
    /// response went out is never hidden (its commit came first). Bounded by kCacheBytes.
    /// In front of data_version (a read transaction, its file locks included) the wal-index
    /// header: unchanged since the last data_version, nothing was committed since either.
    const SessionRecord* cached(std::string_view scope, std::string_view id)
    {
        WalIndexWatch::Header header = _wal.current(); // before data_version: never newer
        if (_cacheVersion < 0 || !header.sameAs(_checkedHeader)) {
            Statement& st = statement(DataVersion);
            ResetOnExit reset(st);
            int64_t version = st.step() ? st.int64At(0) : -1;
            _checkedHeader = header;
            if (version != _cacheVersion || version < 0) {
                dropCache();
                _cacheVersion = version;
                return nullptr;
            }
        }
        key(scope, id);
        auto it = _cache.find(_key);
        return it == _cache.end() ? nullptr : &it->second;
    }

    void remember(std::string_view scope, std::string_view id, const SessionRecord& record)
    {
        if (_cacheVersion < 0) return;
        size_t bytes = scope.size() + id.size() + 128;
        for (const auto& [name, value] : record.attributes)
            bytes += name.size() + value.size() + 64;
        if (bytes > kCacheBytes / 8) return;
        if (_cacheBytes + bytes > kCacheBytes) dropCache(); // the next reads fill it again
        key(scope, id);
        if (_cache.try_emplace(_key, record).second) _cacheBytes += bytes;
    }

private:
    static constexpr size_t kCacheBytes = 4 * 1024 * 1024;

    void dropCache() noexcept
    {
        _cache.clear();
        _cacheBytes = 0;
        _cacheVersion = -1;
    }

    void key(std::string_view scope, std::string_view id)
    {
        _key.assign(scope);
        _key.push_back('\0');
        _key.append(id);
    }

    Database _db;
    WalIndexWatch& _wal;
    WalIndexWatch::Header _checkedHeader; ///< the header before the last data_version
    std::array<std::optional<Statement>, SqlCount> _statements;
    std::unordered_map<std::string, SessionRecord> _cache;
    size_t _cacheBytes = 0;
    int64_t _cacheVersion = -1;
    std::string _key;
};

/// A read connection borrowed from the pool for one call; returned on destruction.
class SqliteSessionStore::ReaderLease
{
public:
    explicit ReaderLease(SqliteSessionStore& store) : _store(store)
    {
        std::unique_lock<std::mutex> lock(store._readersMutex);
        store._readerReturned.wait(lock, [&] {
            return !store._idleReaders.empty() || store._openReaders < store._options.maxReaders;
        });
        if (!store._idleReaders.empty()) {
            _connection = std::move(store._idleReaders.back());
            store._idleReaders.pop_back();
            return;
        }
        ++store._openReaders;
        lock.unlock();
        try {
            _connection = store.openConnection();
        } catch (...) {
            lock.lock();
            --store._openReaders;
            store._readerReturned.notify_one();
            throw;
        }
    }

    ~ReaderLease()
    {
        std::lock_guard<std::mutex> lock(_store._readersMutex);
        _store._idleReaders.push_back(std::move(_connection));
        _store._readerReturned.notify_one();
    }

    ReaderLease(const ReaderLease&) = delete;
    ReaderLease& operator=(const ReaderLease&) = delete;

    Connection& operator*() noexcept { return *_connection; }
    Connection* operator->() noexcept { return _connection.get(); }

private:
    SqliteSessionStore& _store;
    std::unique_ptr<Connection> _connection;
};

SqliteSessionStore::SqliteSessionStore(Options options) : _options(std::move(options)), _wal(_options.path)
{
    controlPlane(describe(), [&] {
        _writer = openConnection();
        Database& db = _writer->db();
        switchToWal(db, _options.busyTimeout);
        // Several processes may open a fresh file at once: the version is read inside the
        // write transaction, so exactly one of them migrates each step.
        constexpr int64_t known = static_cast<int64_t>(std::size(kMigrations));
        while (true) {
            Transaction tx(db);
            int64_t version = db.queryInt("PRAGMA user_version");
            if (version > known) {
                throw SessionStoreError("session store " + _options.path + " has schema version " +
                                        std::to_string(version) + ", newer than this serval knows (" +
                                        std::to_string(known) +
                                        "); run the newer serval or move the file away");
            }
            if (version == known) break;
            db.exec(kMigrations[version]);
            db.exec("PRAGMA user_version = " + std::to_string(version + 1));
            tx.commit();
        }
        return 0;
    });
    _writerThread = std::thread([this] { writerLoop(); });
}

SqliteSessionStore::~SqliteSessionStore()
{
    _queue.close();
    _writerThread.join();
    _queue.finished();
}

std::string SqliteSessionStore::describe() const
{
    return "sqlite " + _options.path;
}

std::unique_ptr<SqliteSessionStore::Connection> SqliteSessionStore::openConnection() const
{
    return std::make_unique<Connection>(_options.path, _options, _wal);
}

std::optional<SessionRecord> SqliteSessionStore::fetch(std::string_view scope, std::string_view id)
{
    ReaderLease connection(*this);
    if (const SessionRecord* hit = connection->cached(scope, id)) return *hit;
    Statement& st = connection->statement(Sql::Load);
    ResetOnExit reset(st);
    st.bind(1, scope).bind(2, id);
    std::optional<SessionRecord> session;
    while (st.step()) {
        if (!session) {
            session.emplace();
            session->id = std::string(id);
            session->creationTime = st.int64At(0);
            session->lastAccessedTime = st.int64At(1);
            session->maxInactiveInterval = static_cast<int32_t>(st.int64At(2));
        }
        if (!st.isNullAt(3)) session->attributes.emplace(st.textAt(3), st.blobAt(4));
    }
    if (session) connection->remember(scope, id, *session); // an unknown id is never kept
    return session;
}

bool SqliteSessionStore::enqueue(std::string_view scope, std::vector<SessionOp>& ops, CommitCallback& done,
                                 uint64_t queuedAtMicros) noexcept
{
    Batch batch{std::string(scope), std::move(ops), std::move(done), queuedAtMicros};
    if (_queue.push(batch)) return true;
    ops = std::move(batch.ops);
    done = std::move(batch.done);
    return false;
}

void SqliteSessionStore::flushTouches()
{
    _queue.requestFlushAndWait();
}

void SqliteSessionStore::writerLoop()
{
    using Clock = CommitQueue<Batch>::Clock;
    Clock::time_point nextTouchFlush = Clock::now() + _options.touchInterval;
    while (true) {
        CommitQueue<Batch>::Work work = _queue.take(_options.maxBatchesPerTransaction, nextTouchFlush, true);
        const bool touchesDue = work.last || work.flushWanted || Clock::now() >= nextTouchFlush;
        std::vector<PendingTouches::Touch> touches;
        if (touchesDue) {
            touches = _touches.take();
            nextTouchFlush = Clock::now() + _options.touchInterval;
        }
        if (!work.batches.empty() || !touches.empty()) writeGroup(work.batches, std::move(touches));
        if (touchesDue) _queue.served(work.flushTicket);
        if (work.last) return;
    }
}

void SqliteSessionStore::writeGroup(std::vector<Batch>& group, std::vector<PendingTouches::Touch> touches)
{
    std::vector<CommitResult> results(group.size());
    uint64_t touched = 0;
    try {
        Database& db = _writer->db();
        Transaction tx(db);
        for (size_t i = 0; i < group.size(); ++i) {
            const Batch& batch = group[i];
            _writer->statement(Sql::Savepoint).run();
            try {
                for (const SessionOp& op : batch.ops) {
                    Statement& st = _writer->statement(sqlFor(op.type));
                    ResetOnExit reset(st);
                    st.bind(1, batch.scope).bind(2, op.id);
                    switch (op.type) {
                    case SessionOp::Type::Create:
                        st.bind(3, op.time)
                            .bind(4, int64_t{op.maxInactive})
                            .bind(5, expiresAt(op.time, op.maxInactive));
                        break;
                    case SessionOp::Type::SetAttribute:
                        st.bind(3, op.name).bindBlob(4, op.value);
                        break;
                    case SessionOp::Type::RemoveAttribute:
                        st.bind(3, op.name);
                        break;
                    case SessionOp::Type::SetMaxInactive:
                        st.bind(3, int64_t{op.maxInactive});
                        break;
                    case SessionOp::Type::Invalidate:
                    case SessionOp::Type::Expire:
                        break;
                    case SessionOp::Type::ChangeId:
                        st.bind(3, op.newId);
                        break;
                    }
                    while (st.step()) {
                    }
                }
                _writer->statement(Sql::Release).run();
            } catch (const DatabaseError& e) {
                // This batch alone is undone; the transaction (and the other batches) go on.
                results[i] = CommitResult{StoreStatus::Unavailable, e.what()};
                _writer->statement(Sql::RollbackTo).run();
                _writer->statement(Sql::Release).run();
            }
        }
        for (const PendingTouches::Touch& t : touches) {
            Statement& st = _writer->statement(Sql::Touch);
            ResetOnExit reset(st);
            st.bind(1, t.scope).bind(2, t.id).bind(3, t.time);
            while (st.step()) {
            }
            touched += static_cast<uint64_t>(db.changes());
        }
        tx.commit();
        if (_failedGroups > 0) {
            LOG_INFO("session", describe() + ": commits succeed again, after " +
                                    std::to_string(_failedGroups) + " failed group commit(s) (" +
                                    std::to_string(_failedRequests) + " request(s) answered 503)");
            _failure.clear();
            _failedGroups = _failedRequests = 0;
        }
    } catch (const std::exception& e) {
        for (CommitResult& r : results)
            r = CommitResult{StoreStatus::Unavailable, e.what()};
        touched = 0;
        _touches.restore(std::move(touches));
        ++_failedGroups;
        _failedRequests += group.size();
        if (_failure != e.what()) { // once per outage (the touches retry every interval)
            _failure = e.what();
            LOG_ERROR("session", describe() + ": a group commit of " + std::to_string(group.size()) +
                                     " request(s) failed: " + e.what() +
                                     "; requests that write a session get 503 until a commit succeeds");
        }
    }
    _counters.transactions.fetch_add(1, std::memory_order_relaxed);
    _counters.touchesWritten.fetch_add(touched, std::memory_order_relaxed);
    for (size_t i = 0; i < group.size(); ++i) {
        countCommit(group[i].ops, results[i], group[i].queuedAtMicros);
        group[i].done(results[i]);
    }
}

std::vector<ExpiredSession> SqliteSessionStore::sweepExpired(int64_t now, size_t limit,
                                                             const ScopeFilter& filter)
{
    std::vector<ExpiredSession> expired = controlPlane(describe(), [&] {
        std::vector<ExpiredSession> out;
        ReaderLease connection(*this);
        Transaction tx(connection->db());
        auto sweep = [&](Statement& st) {
            ResetOnExit reset(st);
            st.bind(1, now).bind(2, static_cast<int64_t>(limit - out.size()));
            while (st.step())
                out.push_back(ExpiredSession{st.textAt(0), st.textAt(1)});
        };
        if (!filter) {
            sweep(connection->statement(Sql::Sweep));
        } else {
            // The scopes first (a range of the expiry index), then each accepted one: the
            // sessions of scopes another process sweeps never take this sweep's batch.
            std::vector<std::string> scopes;
            {
                Statement& st = connection->statement(Sql::ExpiredScopes);
                ResetOnExit reset(st);
                st.bind(1, now);
                while (st.step())
                    scopes.push_back(st.textAt(0));
            }
            for (const std::string& scope : scopes) {
                if (out.size() >= limit) break;
                if (!filter(scope)) continue;
                Statement& st = connection->statement(Sql::SweepScope);
                st.bind(3, scope);
                sweep(st);
            }
        }
        tx.commit();
        return out;
    });
    _counters.expired.fetch_add(expired.size(), std::memory_order_relaxed);
    return expired;
}

uint64_t SqliteSessionStore::count(std::string_view scope, int64_t now)
{
    return controlPlane(describe(), [&] {
        ReaderLease connection(*this);
        Statement& st = connection->statement(Sql::Count);
        ResetOnExit reset(st);
        st.bind(1, scope).bind(2, now);
        return st.step() ? static_cast<uint64_t>(st.int64At(0)) : uint64_t{0};
    });
}

std::map<std::string, uint64_t> SqliteSessionStore::countByScope(int64_t now)
{
    return controlPlane(describe(), [&] {
        std::map<std::string, uint64_t> out;
        ReaderLease connection(*this);
        Statement& st = connection->statement(Sql::CountByScope);
        ResetOnExit reset(st);
        st.bind(1, now);
        while (st.step())
            out[st.textAt(0)] = static_cast<uint64_t>(st.int64At(1));
        return out;
    });
}

std::vector<SessionSummary> SqliteSessionStore::list(std::string_view scope, int64_t now, size_t limit)
{
    return controlPlane(describe(), [&] {
        std::vector<SessionSummary> out;
        ReaderLease connection(*this);
        Statement& st = connection->statement(Sql::List);
        ResetOnExit reset(st);
        st.bind(1, scope).bind(2, now).bind(3, static_cast<int64_t>(limit));
        while (st.step()) {
            SessionSummary s;
            s.id = st.textAt(0);
            s.creationTime = st.int64At(1);
            s.lastAccessedTime = st.int64At(2);
            s.maxInactiveInterval = static_cast<int32_t>(st.int64At(3));
            s.attributeCount = static_cast<size_t>(st.int64At(4));
            s.size = static_cast<size_t>(st.int64At(5));
            out.push_back(std::move(s));
        }
        return out;
    });
}

uint64_t SqliteSessionStore::invalidateAll(std::string_view scope)
{
    uint64_t removed = controlPlane(describe(), [&] {
        ReaderLease connection(*this);
        Statement& st = connection->statement(Sql::InvalidateAll);
        ResetOnExit reset(st);
        st.bind(1, scope);
        while (st.step()) {
        }
        return static_cast<uint64_t>(connection->db().changes());
    });
    _counters.invalidated.fetch_add(removed, std::memory_order_relaxed);
    return removed;
}

} // namespace serval::session
