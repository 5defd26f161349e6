#include "session/SessionStore.h"

#include <chrono>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <optional>

namespace serval::session {

int64_t wallClockMillis() noexcept
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string sessionScope(std::string_view host, std::string_view contextPath)
{
    std::string scope(host);
    scope += contextPath.empty() ? std::string_view("/") : contextPath;
    return scope;
}

int64_t SessionRecord::expiresAt() const noexcept
{
    if (maxInactiveInterval <= 0) return std::numeric_limits<int64_t>::max();
    return lastAccessedTime + int64_t{maxInactiveInterval} * 1000;
}

SessionOp SessionOp::create(std::string id, int64_t now, int32_t maxInactive)
{
    SessionOp op;
    op.type = Type::Create;
    op.id = std::move(id);
    op.time = now;
    op.maxInactive = maxInactive;
    return op;
}

SessionOp SessionOp::setAttribute(std::string id, std::string name, std::string value)
{
    SessionOp op;
    op.type = Type::SetAttribute;
    op.id = std::move(id);
    op.name = std::move(name);
    op.value = std::move(value);
    return op;
}

SessionOp SessionOp::removeAttribute(std::string id, std::string name)
{
    SessionOp op;
    op.type = Type::RemoveAttribute;
    op.id = std::move(id);
    op.name = std::move(name);
    return op;
}

SessionOp SessionOp::setMaxInactive(std::string id, int32_t maxInactive, int64_t now)
{
    SessionOp op;
    op.type = Type::SetMaxInactive;
    op.id = std::move(id);
    op.maxInactive = maxInactive;
    op.time = now;
    return op;
}

SessionOp SessionOp::invalidate(std::string id)
{
    SessionOp op;
    op.type = Type::Invalidate;
    op.id = std::move(id);
    return op;
}

SessionOp SessionOp::expire(std::string id)
{
    SessionOp op;
    op.type = Type::Expire;
    op.id = std::move(id);
    return op;
}

SessionOp SessionOp::changeId(std::string oldId, std::string newId)
{
    SessionOp op;
    op.type = Type::ChangeId;
    op.id = std::move(oldId);
    op.newId = std::move(newId);
    return op;
}

CommitResult SessionStore::commitAndWait(std::string_view scope, std::vector<SessionOp> ops) noexcept
{
    // The callback runs on the store's thread (or inline); it only touches `waiter` under its
    // mutex, and this frame waits for `finished`, so `waiter` outlives every use.
    struct Waiter
    {
        std::mutex mutex;
        std::condition_variable done;
        bool finished = false;
        CommitResult result;
    } waiter;
    commit(scope, std::move(ops), [&waiter](const CommitResult& result) {
        std::lock_guard<std::mutex> lock(waiter.mutex);
        waiter.result = result;
        waiter.finished = true;
        waiter.done.notify_one();
    });
    std::unique_lock<std::mutex> lock(waiter.mutex);
    waiter.done.wait(lock, [&waiter] { return waiter.finished; });
    return waiter.result;
}

SessionStoreStats SessionStore::stats() const noexcept
{
    SessionStoreStats s;
    s.commits = _counters.commits.load(std::memory_order_relaxed);
    s.failedCommits = _counters.failedCommits.load(std::memory_order_relaxed);
    s.transactions = _counters.transactions.load(std::memory_order_relaxed);
    s.commitMicrosSum = _counters.commitMicrosSum.load(std::memory_order_relaxed);
    s.commitMicrosMax = _counters.commitMicrosMax.load(std::memory_order_relaxed);
    s.loads = _counters.loads.load(std::memory_order_relaxed);
    s.loadMicrosSum = _counters.loadMicrosSum.load(std::memory_order_relaxed);
    s.created = _counters.created.load(std::memory_order_relaxed);
    s.invalidated = _counters.invalidated.load(std::memory_order_relaxed);
    s.expired = _counters.expired.load(std::memory_order_relaxed);
    s.touchesWritten = _counters.touchesWritten.load(std::memory_order_relaxed);
    return s;
}

void SessionStore::countCommit(const std::vector<SessionOp>& ops, const CommitResult& result,
                               uint64_t queuedAtMicros) noexcept
{
    if (result.status != StoreStatus::Ok) {
        _counters.failedCommits.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    uint64_t micros = steadyMicros() - queuedAtMicros;
    _counters.commits.fetch_add(1, std::memory_order_relaxed);
    _counters.commitMicrosSum.fetch_add(micros, std::memory_order_relaxed);
    uint64_t max = _counters.commitMicrosMax.load(std::memory_order_relaxed);
    while (micros > max && !_counters.commitMicrosMax.compare_exchange_weak(max, micros)) {
    }
    for (const SessionOp& op : ops) {
        if (op.type == SessionOp::Type::Create) _counters.created.fetch_add(1, std::memory_order_relaxed);
        if (op.type == SessionOp::Type::Invalidate)
            _counters.invalidated.fetch_add(1, std::memory_order_relaxed);
    }
}

void SessionStore::touch(std::string_view scope, std::string_view id, int64_t now) noexcept
{
    try {
        _touches.touch(scope, id, now);
    } catch (...) {
        // Out of memory for one map entry: the last-access time is advisory; the next touch
        // of this session records it again.
    }
}

LoadResult SessionStore::loaded(std::string_view scope, std::string_view id,
                                std::optional<SessionRecord> stored, int64_t now) const
{
    LoadResult result;
    if (!stored) return result;
    // This process's coalesced touch counts at once, before it is written.
    std::optional<int64_t> touched = _touches.latest(scope, id);
    if (touched && *touched > stored->lastAccessedTime) stored->lastAccessedTime = *touched;
    if (stored->expiresAt() > now) {
        result.status = StoreStatus::Ok;
        result.session = std::move(*stored);
    }
    return result;
}

LoadResult SessionStore::load(std::string_view scope, std::string_view id, int64_t now) noexcept
{
    uint64_t started = steadyMicros();
    LoadResult result;
    try {
        result = loaded(scope, id, fetch(scope, id), now);
    } catch (const std::exception& e) {
        result = LoadResult();
        result.status = StoreStatus::Unavailable;
        result.error = e.what();
    }
    _counters.loads.fetch_add(1, std::memory_order_relaxed);
    _counters.loadMicrosSum.fetch_add(steadyMicros() - started, std::memory_order_relaxed);
    return result;
}

std::vector<LoadResult> SessionStore::loadMany(std::string_view scope, const std::vector<std::string>& ids,
                                               int64_t now) noexcept
{
    uint64_t started = steadyMicros();
    std::vector<LoadResult> results;
    try {
        std::vector<std::optional<SessionRecord>> stored = fetchMany(scope, ids);
        results.reserve(ids.size());
        for (size_t i = 0; i < ids.size(); ++i)
            results.push_back(
                loaded(scope, ids[i], i < stored.size() ? std::move(stored[i]) : std::nullopt, now));
    } catch (const std::exception& e) {
        results.clear();
        try {
            results.resize(ids.size());
            for (LoadResult& r : results) {
                r.status = StoreStatus::Unavailable;
                r.error = e.what();
            }
        } catch (...) {
            results.clear(); // out of memory: the caller finds no answer and loads one by one
        }
    }
    _counters.loads.fetch_add(ids.size(), std::memory_order_relaxed);
    _counters.loadMicrosSum.fetch_add(steadyMicros() - started, std::memory_order_relaxed);
    return results;
}

std::vector<std::optional<SessionRecord>> SessionStore::fetchMany(std::string_view scope,
                                                                  const std::vector<std::string>& ids)
{
    std::vector<std::optional<SessionRecord>> out;
    out.reserve(ids.size());
    for (const std::string& id : ids)
        out.push_back(fetch(scope, id));
    return out;
}

void SessionStore::commit(std::string_view scope, std::vector<SessionOp> ops, CommitCallback done) noexcept
{
    uint64_t queued = steadyMicros();
    if (ops.empty()) {
        done(CommitResult());
        return;
    }
    if (enqueue(scope, ops, done, queued)) return;
    CommitResult refused{StoreStatus::Unavailable, describe() + " is closing"};
    countCommit(ops, refused, queued);
    done(refused);
}

uint64_t SessionStore::steadyMicros() noexcept
{
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
}

} // namespace serval::session
