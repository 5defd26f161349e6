#include "session/RedisReadCache.h"

#include "util/Log.h"

#include <hiredis/hiredis.h>

namespace serval::session {

namespace {

constexpr std::string_view kChannel = "__redis__:invalidate";

} // namespace

RedisReadCache::RedisReadCache(RedisConnectionPool& pool, std::string description, size_t maxEntries)
    : _pool(pool), _description(std::move(description)), _maxEntries(maxEntries),
      // It holds two of the pool's connections for good: with fewer than four, the committers
      // and the lookups outside batches would wait for each other.
      _disabled(pool.maxConnections() < 4)
{}

RedisReadCache::~RedisReadCache()
{
    std::lock_guard<std::mutex> lock(_mutex);
    reset();
}

uint64_t RedisReadCache::hits() const noexcept
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _hits;
}

bool RedisReadCache::enabled() const noexcept
{
    std::lock_guard<std::mutex> lock(_mutex);
    return !_disabled;
}

void RedisReadCache::reset() noexcept
{
    _entries.clear();
    if (_subscriber) (*_subscriber)->retire(); // subscribed: useless to anyone else
    if (_loader) (*_loader)->retire();         // tracking for a subscriber that is gone
    _subscriber.reset();
    _loader.reset();
}

void RedisReadCache::connect()
{
    RedisConnectionPool::Lease subscriber = _pool.acquire(true);
    RedisReply id = subscriber->command({"CLIENT", "ID"});
    RedisConnectionPool::Lease loader = _pool.acquire(true);
    RedisReply on;
    if (!id.isError() && id.get()->type == REDIS_REPLY_INTEGER)
        on = loader->command({"CLIENT", "TRACKING", "on", "REDIRECT", std::to_string(id.get()->integer)});
    if (id.isError() || id.get()->type != REDIS_REPLY_INTEGER || on.isError()) {
        std::string why = id.isError() ? id.error() : on.isError() ? on.error() : "CLIENT ID gave no number";
        LOG_WARN("session", _description + " refuses client-side caching (" + why +
                                "): every session lookup reads Redis");
        subscriber->retire(); // back in the pool, they would be plain connections again; but
        loader->retire();     // the loader asked for tracking: drop both to be sure
        _disabled = true;
        return;
    }
    subscriber->append({"SUBSCRIBE", kChannel});
    subscriber->flatReply(_reply); // ["subscribe", channel, 1]
    if (_reply.type != FlatReply::Type::Array) {
        subscriber->retire();
        loader->retire();
        throw RedisError(_description + ": SUBSCRIBE " + std::string(kChannel) +
                         " was refused: " + _reply.error);
    }
    _subscriber.emplace(std::move(subscriber));
    _loader.emplace(std::move(loader));
}

void RedisReadCache::barrier()
{
    RedisConnection& subscriber = **_subscriber;
    subscriber.append({"PING"});
    for (;;) {
        subscriber.flatReply(_reply);
        if (_reply.type != FlatReply::Type::Array || _reply.size() == 0) {
            subscriber.retire();
            throw RedisError(_description + ": unexpected reply on the invalidation connection");
        }
        std::string_view kind = _reply.at(0);
        if (kind == "pong") return; // every invalidation before it has been applied
        if (kind != "message") continue;
        // ["message", channel, key...]: the keys changed. A nil list (a flush) reads as one
        // empty key: everything goes.
        if (_reply.size() <= 2) _entries.clear();
        for (size_t i = 2; i < _reply.size(); ++i) {
            std::string_view key = _reply.at(i);
            if (key.empty()) {
                _entries.clear();
                break;
            }
            _entries.erase(std::string(key));
        }
    }
}

bool RedisReadCache::fetch(const std::vector<std::string>& keys, const std::vector<std::string>& ids,
                           const Parse& parse, std::vector<std::optional<SessionRecord>>& out)
{
    std::lock_guard<std::mutex> lock(_mutex);
    std::string failure;
    for (int attempt = 0;; ++attempt) {
        if (_disabled) return false;
        bool established = _subscriber.has_value();
        try {
            if (!established) {
                connect();
                if (_disabled) return false;
            }
            barrier();
            out.clear();
            out.resize(keys.size());
            std::vector<size_t> misses;
            for (size_t i = 0; i < keys.size(); ++i) {
                auto cached = _entries.find(keys[i]);
                if (cached != _entries.end()) {
                    out[i] = cached->second;
                    ++_hits;
                } else {
                    (*_loader)->append({"HGETALL", keys[i]});
                    misses.push_back(i);
                }
            }
            for (size_t i : misses) { // every reply is read, so the connection stays in step
                (*_loader)->flatReply(_reply);
                if (_reply.type == FlatReply::Type::Error) {
                    if (failure.empty()) failure = "HGETALL " + keys[i] + ": " + _reply.error;
                    continue;
                }
                out[i] = parse(_reply, ids[i]);
                if (!out[i]) continue; // a missing session is not kept: it may be created later
                if (_entries.size() >= _maxEntries) _entries.clear();
                _entries[keys[i]] = *out[i];
            }
            _pool.commandAnswered();
            break;
        } catch (const RedisTimeout& e) {
            // Stalled: a fresh connection would wait again. The pool backs off for everyone.
            reset();
            _pool.commandTimedOut(e.what());
            throw;
        } catch (const RedisError&) {
            // An invalidation may have been lost with the connection: forget everything. A
            // connection that had been working may just have gone stale (Redis restarted):
            // once more on fresh ones.
            reset();
            if (!established || attempt > 0) throw;
        }
    }
    if (!failure.empty()) throw RedisError(_description + ": " + failure);
    return true;
}

} // namespace serval::session
