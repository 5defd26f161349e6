#include "session/RedisSessionStore.h"

#include "util/Log.h"

#include <Poco/SHA1Engine.h>
#include <algorithm>
#include <array>
#include <hiredis/hiredis.h>
#include <iterator>
#include <optional>

namespace serval::session {

namespace {

// Lua 5.1 inside Redis: numbers are doubles, exact for millisecond times; int() prints one
// without an exponent for commands that need an integer argument.
constexpr std::string_view kApplyScript = R"lua(
local index, scopes, scope, slack = KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2])
local function int(x) return string.format('%.0f', x) end
-- The TTL is relative to the writer's own clock (`now`), so clock skew between a node and
-- Redis never shortens a session.
local function expire(key, id, last, maxInactive, now)
  if maxInactive > 0 then
    local at = last + maxInactive * 1000
    redis.call('PEXPIRE', key, int(at + slack - now))
    redis.call('ZADD', index, int(at), id)
  else
    redis.call('PERSIST', key)
    redis.call('ZADD', index, '+inf', id)
  end
end
local k, a = 3, 3
while a <= #ARGV do
  local op, key, id = ARGV[a], KEYS[k], ARGV[a + 1]
  if op == 'C' then
    redis.call('HSET', key, 'meta:created', ARGV[a + 2], 'meta:lastAccessed', ARGV[a + 2],
               'meta:maxInactive', ARGV[a + 3])
    expire(key, id, tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 2]))
    redis.call('SADD', scopes, scope)
    a = a + 4
  elseif op == 'S' then
    if redis.call('EXISTS', key) == 1 then redis.call('HSET', key, 'attr:' .. ARGV[a + 2], ARGV[a + 3]) end
    a = a + 4
  elseif op == 'R' then
    redis.call('HDEL', key, 'attr:' .. ARGV[a + 2])
    a = a + 3
  elseif op == 'M' then
    local last = redis.call('HGET', key, 'meta:lastAccessed')
    if last then
      redis.call('HSET', key, 'meta:maxInactive', ARGV[a + 2])
      expire(key, id, tonumber(last), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]))
    end
    a = a + 4
  elseif op == 'T' then
    local meta = redis.call('HMGET', key, 'meta:lastAccessed', 'meta:maxInactive')
    local t = tonumber(ARGV[a + 2])
    if meta[1] and tonumber(meta[1]) < t then
      redis.call('HSET', key, 'meta:lastAccessed', ARGV[a + 2])
      expire(key, id, t, tonumber(meta[2]), t)
    end
    a = a + 3
  elseif op == 'I' then
    redis.call('DEL', key)
    redis.call('ZREM', index, id)
    a = a + 2
  elseif op == 'E' then
    -- Gone for every reader now; the sweep of the scope removes the index entry and reports it.
    if redis.call('DEL', key) == 1 then redis.call('ZADD', index, 'XX', 0, id) end
    a = a + 2
  elseif op == 'X' then
    local newKey, newId = KEYS[k + 1], ARGV[a + 2]
    if redis.call('EXISTS', key) == 1 and redis.call('EXISTS', newKey) == 0 then
      local score = redis.call('ZSCORE', index, id)
      redis.call('RENAME', key, newKey)
      redis.call('ZREM', index, id)
      redis.call('ZADD', index, score or '+inf', newId)
    end
    a = a + 3
    k = k + 1
  else
    return redis.error_reply('serval: unknown session op ' .. tostring(op))
  end
  k = k + 1
end
return 1
)lua";

constexpr std::string_view kSweepScript = R"lua(
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  redis.call('DEL', ARGV[3] .. id)
  redis.call('ZREM', KEYS[1], id)
end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[4]) end
return ids
)lua";

constexpr std::string_view kListScript = R"lua(
local ids = redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(ids) do
  local h = redis.call('HGETALL', ARGV[3] .. id)
  if #h > 0 then
    local row = {id, '0', '0', '0', 0, 0}
    for i = 1, #h, 2 do
      local f, v = h[i], h[i + 1]
      if f == 'meta:created' then row[2] = v
      elseif f == 'meta:lastAccessed' then row[3] = v
      elseif f == 'meta:maxInactive' then row[4] = v
      elseif string.sub(f, 1, 5) == 'attr:' then
        row[5] = row[5] + 1
        row[6] = row[6] + #f - 5 + #v
      end
    end
    out[#out + 1] = row
  end
end
return out
)lua";

constexpr std::string_view kInvalidateScript = R"lua(
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local removed = 0
for _, id in ipairs(ids) do removed = removed + redis.call('DEL', ARGV[1] .. id) end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
return removed
)lua";

constexpr std::array<std::string_view, 4> kScripts = {kApplyScript, kSweepScript, kListScript,
                                                      kInvalidateScript};

const std::array<std::string, 4>& scriptShas()
{
    static const std::array<std::string, 4> shas = [] {
        std::array<std::string, 4> out;
        for (size_t i = 0; i < kScripts.size(); ++i) {
            Poco::SHA1Engine sha1;
            sha1.update(kScripts[i].data(), static_cast<unsigned>(kScripts[i].size()));
            out[i] = Poco::DigestEngine::digestToHex(sha1.digest());
        }
        return out;
    }();
    return shas;
}

std::string_view replyString(const redisReply* r)
{
    if (r == nullptr || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)) return {};
    return std::string_view(r->str, r->len);
}

/// The leading integer of a decimal text ("-12", "1700000000000"); 0 when there is none.
int64_t parseInt(std::string_view text)
{
    int64_t value = 0;
    bool negative = !text.empty() && text.front() == '-';
    for (char c : text.substr(negative ? 1 : 0)) {
        if (c < '0' || c > '9') break;
        value = value * 10 + (c - '0');
    }
    return negative ? -value : value;
}

int64_t replyInt(const redisReply* r)
{
    if (r == nullptr) return 0;
    if (r->type == REDIS_REPLY_INTEGER) return r->integer;
    return parseInt(replyString(r));
}

std::string opCode(SessionOp::Type type)
{
    switch (type) {
    case SessionOp::Type::Create:
        return "C";
    case SessionOp::Type::SetAttribute:
        return "S";
    case SessionOp::Type::RemoveAttribute:
        return "R";
    case SessionOp::Type::SetMaxInactive:
        return "M";
    case SessionOp::Type::Invalidate:
        return "I";
    case SessionOp::Type::ChangeId:
        return "X";
    case SessionOp::Type::Expire:
        return "E";
    }
    return "?";
}

} // namespace

RedisSessionStore::RedisSessionStore(Options options)
    : _options(std::move(options)), _pool(
                                        [&] {
                                            try {
                                                return RedisAddress::parse(_options.url);
                                            } catch (const std::invalid_argument& e) {
                                                throw SessionStoreError(e.what());
                                            }
                                        }(),
                                        _options.pool)
{
    _description = "redis " + _pool.address().describe();
    if (_options.readCache) _cache = std::make_unique<RedisReadCache>(_pool, _description);
    // The key outlives the session's logical expiry by two touch intervals and a second, so a
    // touch still coalescing on some node lands before Redis drops the hash.
    _ttlSlackMillis = 2 * _options.touchInterval.count() + 1000;
    size_t threads = std::max<size_t>(1, _options.committers);
    for (size_t i = 0; i < threads; ++i)
        _committers.emplace_back([this, i] { committerLoop(i == 0); });
}

RedisSessionStore::~RedisSessionStore()
{
    _queue.close();
    for (std::thread& t : _committers)
        t.join();
    _queue.finished();
}

std::string RedisSessionStore::describe() const
{
    return _description;
}

std::string RedisSessionStore::sessionKey(std::string_view scope, std::string_view id) const
{
    std::string key = _options.keyPrefix;
    key.append("session:").append(scope).append(1, ':').append(id);
    return key;
}

std::string RedisSessionStore::indexKey(std::string_view scope) const
{
    return _options.keyPrefix + "sessions:" + std::string(scope);
}

std::string RedisSessionStore::scopesKey() const
{
    return _options.keyPrefix + "scopes";
}

RedisSessionStore::Call RedisSessionStore::applyCall(std::string_view scope,
                                                     const std::vector<SessionOp>& ops) const
{
    Call call;
    call.script = Script::Apply;
    call.keys = {indexKey(scope), scopesKey()};
    call.args = {std::string(scope), std::to_string(_ttlSlackMillis)};
    for (const SessionOp& op : ops) {
        call.keys.push_back(sessionKey(scope, op.id));
        call.args.push_back(opCode(op.type));
        call.args.push_back(op.id);
        switch (op.type) {
        case SessionOp::Type::Create:
            call.args.push_back(std::to_string(op.time));
            call.args.push_back(std::to_string(op.maxInactive));
            break;
        case SessionOp::Type::SetAttribute:
            call.args.push_back(op.name);
            call.args.push_back(op.value);
            break;
        case SessionOp::Type::RemoveAttribute:
            call.args.push_back(op.name);
            break;
        case SessionOp::Type::SetMaxInactive:
            call.args.push_back(std::to_string(op.maxInactive));
            call.args.push_back(std::to_string(op.time));
            break;
        case SessionOp::Type::Invalidate:
        case SessionOp::Type::Expire:
            break;
        case SessionOp::Type::ChangeId:
            call.keys.push_back(sessionKey(scope, op.newId));
            call.args.push_back(op.newId);
            break;
        }
    }
    return call;
}

RedisSessionStore::Call RedisSessionStore::touchCall(const PendingTouches::Touch& touch) const
{
    Call call;
    call.script = Script::Apply;
    call.keys = {indexKey(touch.scope), scopesKey(), sessionKey(touch.scope, touch.id)};
    call.args = {touch.scope, std::to_string(_ttlSlackMillis), "T", touch.id, std::to_string(touch.time)};
    return call;
}

std::vector<RedisReply> RedisSessionStore::pipeline(RedisConnection& connection,
                                                    const std::vector<const Call*>& calls)
{
    auto send = [&](const Call& call, bool bySha) {
        std::string keyCount = std::to_string(call.keys.size());
        std::vector<std::string_view> argv;
        argv.reserve(3 + call.keys.size() + call.args.size());
        argv.push_back(bySha ? "EVALSHA" : "EVAL");
        argv.push_back(bySha ? std::string_view(scriptShas()[call.script]) : kScripts[call.script]);
        argv.push_back(keyCount);
        argv.insert(argv.end(), call.keys.begin(), call.keys.end());
        argv.insert(argv.end(), call.args.begin(), call.args.end());
        connection.append(argv);
    };
    for (const Call* call : calls)
        send(*call, true);
    std::vector<RedisReply> replies;
    replies.reserve(calls.size());
    for (size_t i = 0; i < calls.size(); ++i)
        replies.push_back(connection.reply());
    // A restarted (or SCRIPT FLUSHed) Redis has forgotten the scripts: EVAL sends the body and
    // caches it again. A script is read-only or idempotent up to its first write, and NOSCRIPT
    // means it never ran, so sending it again is safe.
    std::vector<size_t> resend;
    for (size_t i = 0; i < replies.size(); ++i)
        if (replies[i].isError() && replies[i].error().rfind("NOSCRIPT", 0) == 0) resend.push_back(i);
    for (size_t i : resend)
        send(*calls[i], false);
    for (size_t i : resend)
        replies[i] = connection.reply();
    return replies;
}

template <typename F> auto RedisSessionStore::controlPlane(F work) -> decltype(work())
{
    try {
        return work();
    } catch (const RedisError& e) {
        throw SessionStoreError(e.what());
    }
}

template <typename F>
auto RedisSessionStore::withConnection(F work) -> decltype(work(std::declval<RedisConnection&>()))
{
    {
        RedisConnectionPool::Lease lease = _pool.acquire();
        try {
            auto result = work(*lease);
            _pool.commandAnswered();
            return result;
        } catch (const RedisTimeout& e) {
            _pool.commandTimedOut(e.what()); // stalled: another connection would wait again
            throw;
        } catch (const RedisError&) {
            if (!lease.reused()) throw;
        }
    }
    // The idle connection had gone stale (Redis restarted or dropped it): once more on a new one.
    // Every command and script here may run twice safely: a replayed batch sets the same values.
    _pool.connectionBroke();
    RedisConnectionPool::Lease fresh = _pool.acquire(true);
    try {
        auto result = work(*fresh);
        _pool.commandAnswered();
        return result;
    } catch (const RedisTimeout& e) {
        _pool.commandTimedOut(e.what());
        throw;
    }
}

std::vector<RedisReply> RedisSessionStore::run(const std::vector<const Call*>& calls)
{
    return withConnection([&](RedisConnection& connection) { return pipeline(connection, calls); });
}

RedisReply RedisSessionStore::runOne(const Call& call)
{
    std::vector<RedisReply> replies = run({&call});
    RedisReply reply = std::move(replies.front());
    if (reply.isError()) throw RedisError(_description + ": " + reply.error());
    return reply;
}

namespace {

/// The session an HGETALL reply holds, or nullopt when the hash is missing or is not a session
/// this store wrote (no meta fields).
std::optional<SessionRecord> recordFrom(const FlatReply& r, std::string_view id)
{
    if (r.type != FlatReply::Type::Array || r.size() < 2) return std::nullopt;
    SessionRecord s;
    s.id = std::string(id);
    bool hasMeta = false;
    for (size_t i = 0; i + 1 < r.size(); i += 2) {
        std::string_view field = r.at(i);
        std::string_view value = r.at(i + 1);
        if (field.rfind("attr:", 0) == 0) {
            s.attributes.emplace(std::string(field.substr(5)), std::string(value));
        } else if (field == "meta:created") {
            s.creationTime = parseInt(value);
            hasMeta = true;
        } else if (field == "meta:lastAccessed") {
            s.lastAccessedTime = parseInt(value);
        } else if (field == "meta:maxInactive") {
            s.maxInactiveInterval = static_cast<int32_t>(parseInt(value));
        }
    }
    if (!hasMeta) return std::nullopt;
    return s;
}

} // namespace

std::optional<SessionRecord> RedisSessionStore::fetch(std::string_view scope, std::string_view id)
{
    // A lookup of its own (not prefetched): straight from Redis, as it always did.
    std::vector<std::optional<SessionRecord>> one = fetchUncached(scope, {std::string(id)});
    return std::move(one.front());
}

std::vector<std::optional<SessionRecord>> RedisSessionStore::fetchMany(std::string_view scope,
                                                                       const std::vector<std::string>& ids)
{
    if (_cache) {
        std::vector<std::string> keys;
        keys.reserve(ids.size());
        for (const std::string& id : ids)
            keys.push_back(sessionKey(scope, id));
        std::vector<std::optional<SessionRecord>> out;
        if (_cache->fetch(keys, ids, recordFrom, out)) return out;
    }
    return fetchUncached(scope, ids);
}

std::vector<std::optional<SessionRecord>>
RedisSessionStore::fetchUncached(std::string_view scope, const std::vector<std::string>& ids)
{
    // One HGETALL per id (one command: a consistent snapshot of each hash; no script, so no
    // script cache), pipelined: one write, one wake-up of Redis, the replies in order, read
    // into one reused buffer rather than a hiredis object per field.
    std::vector<std::optional<SessionRecord>> out;
    std::string failure;
    withConnection([&](RedisConnection& connection) {
        out.clear();
        failure.clear();
        std::string key;
        for (const std::string& id : ids) {
            key = sessionKey(scope, id);
            connection.append({"HGETALL", key});
        }
        FlatReply reply;
        for (const std::string& id : ids) {
            connection.flatReply(reply); // every reply is read, so the connection stays in step
            if (reply.type == FlatReply::Type::Error && failure.empty())
                failure = "HGETALL " + sessionKey(scope, id) + ": " + reply.error;
            out.push_back(recordFrom(reply, id));
        }
        return 0;
    });
    if (!failure.empty()) throw RedisError(_description + ": " + failure);
    return out;
}

bool RedisSessionStore::enqueue(std::string_view scope, std::vector<SessionOp>& ops, CommitCallback& done,
                                uint64_t queuedAtMicros) noexcept
{
    Batch batch{applyCall(scope, ops), std::move(ops), std::move(done), queuedAtMicros};
    if (_queue.push(batch)) return true;
    ops = std::move(batch.ops);
    done = std::move(batch.done);
    return false;
}

void RedisSessionStore::flushTouches()
{
    _queue.requestFlushAndWait();
}

void RedisSessionStore::committerLoop(bool flushesTouches)
{
    using Clock = CommitQueue<Batch>::Clock;
    Clock::time_point nextTouchFlush = Clock::now() + _options.touchInterval;
    while (true) {
        // Only the first committer writes touches; the others sleep until batches arrive.
        Clock::time_point wakeAt = flushesTouches ? nextTouchFlush : Clock::now() + std::chrono::hours(1);
        CommitQueue<Batch>::Work work = _queue.take(_options.maxBatchesPerPipeline, wakeAt, flushesTouches);
        if (!work.batches.empty()) sendGroup(work.batches);
        if (flushesTouches && (work.last || work.flushWanted || Clock::now() >= nextTouchFlush)) {
            writeTouches();
            nextTouchFlush = Clock::now() + _options.touchInterval;
            _queue.served(work.flushTicket);
        }
        if (work.last) return;
    }
}

std::vector<RedisSessionStore::Call> RedisSessionStore::mergeApplies(std::vector<Call*>& calls,
                                                                     std::vector<size_t>& counts)
{
    // An Apply call is KEYS = index, scopes, then one or two per op; ARGV = scope, slack, then
    // the ops. Calls of one scope in a row become one: the ops in order, each batch still
    // atomic (the script runs as a whole), and Redis runs one script for all of them instead of
    // one per request (the per-call cost of a script is most of a small write's).
    constexpr size_t kMaxArgs = 8192;
    std::vector<Call> out;
    counts.clear();
    for (Call* call : calls) {
        bool joins = !out.empty() && call->script == Script::Apply && out.back().script == Script::Apply &&
                     call->keys.size() >= 2 && call->args.size() >= 2 &&
                     out.back().args[0] == call->args[0] &&
                     out.back().args.size() + call->args.size() <= kMaxArgs;
        if (!joins) {
            out.push_back(std::move(*call));
            counts.push_back(1);
            continue;
        }
        Call& into = out.back();
        std::move(call->keys.begin() + 2, call->keys.end(), std::back_inserter(into.keys));
        std::move(call->args.begin() + 2, call->args.end(), std::back_inserter(into.args));
        ++counts.back();
    }
    return out;
}

void RedisSessionStore::sendGroup(std::vector<Batch>& group)
{
    std::vector<Call*> own;
    own.reserve(group.size());
    for (Batch& b : group)
        own.push_back(&b.call);
    std::vector<size_t> counts; // merged call j answers the next counts[j] batches
    std::vector<Call> merged = mergeApplies(own, counts);
    std::vector<const Call*> calls;
    calls.reserve(merged.size());
    for (const Call& c : merged)
        calls.push_back(&c);
    std::vector<CommitResult> results(group.size());
    try {
        std::vector<RedisReply> replies = run(calls);
        for (size_t j = 0, first = 0; j < merged.size(); first += counts[j], ++j) {
            if (!replies[j].isError()) continue;
            // A script stops at its first failing command (what ran before it stays): every batch
            // of the call is answered as failed, as a batch of its own would be.
            CommitResult failed{StoreStatus::Unavailable, _description + ": " + replies[j].error()};
            LOG_ERROR("session", failed.error);
            for (size_t i = first; i < first + counts[j]; ++i)
                results[i] = failed;
        }
    } catch (const std::exception& e) {
        for (CommitResult& r : results)
            r = CommitResult{StoreStatus::Unavailable, e.what()};
    }
    _counters.transactions.fetch_add(1, std::memory_order_relaxed);
    for (size_t i = 0; i < group.size(); ++i) {
        countCommit(group[i].ops, results[i], group[i].queuedAtMicros);
        group[i].done(results[i]);
    }
}

void RedisSessionStore::writeTouches()
{
    std::vector<PendingTouches::Touch> touches = _touches.take();
    for (size_t start = 0; start < touches.size(); start += _options.maxBatchesPerPipeline) {
        size_t end = std::min(touches.size(), start + _options.maxBatchesPerPipeline);
        std::vector<Call> calls;
        calls.reserve(end - start);
        for (size_t i = start; i < end; ++i)
            calls.push_back(touchCall(touches[i]));
        std::vector<Call*> own;
        for (Call& c : calls)
            own.push_back(&c);
        std::vector<size_t> counts;
        std::vector<Call> merged = mergeApplies(own, counts);
        std::vector<const Call*> pointers;
        for (const Call& c : merged)
            pointers.push_back(&c);
        try {
            run(pointers);
            _counters.touchesWritten.fetch_add(end - start, std::memory_order_relaxed);
        } catch (const std::exception&) {
            // Redis is down (the pool logged it): keep the touches for the next interval.
            _touches.restore(std::vector<PendingTouches::Touch>(
                touches.begin() + static_cast<ptrdiff_t>(start), touches.end()));
            return;
        }
    }
}

std::vector<std::string> RedisSessionStore::scopes()
{
    RedisReply members = withConnection([&](RedisConnection& connection) {
        return connection.command({"SMEMBERS", scopesKey()});
    });
    std::vector<std::string> out;
    const redisReply* r = members.get();
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; ++i)
        out.emplace_back(replyString(r->element[i]));
    return out;
}

std::vector<ExpiredSession> RedisSessionStore::sweepExpired(int64_t now, size_t limit,
                                                            const ScopeFilter& filter)
{
    std::vector<ExpiredSession> expired = controlPlane([&] {
        std::vector<ExpiredSession> out;
        for (const std::string& scope : scopes()) {
            if (out.size() >= limit) break;
            if (filter && !filter(scope)) continue;
            Call call;
            call.script = Script::SweepScope;
            call.keys = {indexKey(scope), scopesKey()};
            call.args = {std::to_string(now), std::to_string(limit - out.size()), sessionKey(scope, ""),
                         scope};
            RedisReply reply = runOne(call);
            const redisReply* r = reply.get();
            for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; ++i)
                out.push_back(ExpiredSession{scope, std::string(replyString(r->element[i]))});
        }
        return out;
    });
    _counters.expired.fetch_add(expired.size(), std::memory_order_relaxed);
    return expired;
}

uint64_t RedisSessionStore::count(std::string_view scope, int64_t now)
{
    return controlPlane([&] {
        std::string min = "(" + std::to_string(now);
        RedisReply reply = withConnection([&](RedisConnection& connection) {
            return connection.command({"ZCOUNT", indexKey(scope), min, "+inf"});
        });
        if (reply.isError()) throw RedisError(_description + ": ZCOUNT: " + reply.error());
        return static_cast<uint64_t>(replyInt(reply.get()));
    });
}

std::map<std::string, uint64_t> RedisSessionStore::countByScope(int64_t now)
{
    return controlPlane([&] {
        std::vector<std::string> names = scopes();
        std::string min = "(" + std::to_string(now);
        return withConnection([&](RedisConnection& connection) {
            std::map<std::string, uint64_t> out;
            for (const std::string& scope : names)
                connection.append({"ZCOUNT", indexKey(scope), min, "+inf"});
            for (const std::string& scope : names) {
                uint64_t n = static_cast<uint64_t>(replyInt(connection.reply().get()));
                if (n > 0) out[scope] = n;
            }
            return out;
        });
    });
}

std::vector<SessionSummary> RedisSessionStore::list(std::string_view scope, int64_t now, size_t limit)
{
    return controlPlane([&] {
        Call call;
        call.script = Script::ListScope;
        call.keys = {indexKey(scope)};
        call.args = {std::to_string(now), std::to_string(limit), sessionKey(scope, "")};
        RedisReply reply = runOne(call);
        std::vector<SessionSummary> out;
        const redisReply* r = reply.get();
        for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; ++i) {
            const redisReply* row = r->element[i];
            if (row->type != REDIS_REPLY_ARRAY || row->elements < 6) continue;
            SessionSummary s;
            s.id = std::string(replyString(row->element[0]));
            s.creationTime = replyInt(row->element[1]);
            s.lastAccessedTime = replyInt(row->element[2]);
            s.maxInactiveInterval = static_cast<int32_t>(replyInt(row->element[3]));
            s.attributeCount = static_cast<size_t>(replyInt(row->element[4]));
            s.size = static_cast<size_t>(replyInt(row->element[5]));
            out.push_back(std::move(s));
        }
        std::stable_sort(out.begin(), out.end(), [](const SessionSummary& a, const SessionSummary& b) {
            return a.lastAccessedTime > b.lastAccessedTime;
        });
        return out;
    });
}

uint64_t RedisSessionStore::invalidateAll(std::string_view scope)
{
    uint64_t removed = controlPlane([&] {
        Call call;
        call.script = Script::InvalidateScope;
        call.keys = {indexKey(scope), scopesKey()};
        call.args = {sessionKey(scope, ""), std::string(scope)};
        return static_cast<uint64_t>(replyInt(runOne(call).get()));
    });
    _counters.invalidated.fetch_add(removed, std::memory_order_relaxed);
    return removed;
}

} // namespace serval::session
