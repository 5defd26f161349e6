#include "session/SessionService.h"

#include "config/ServerConfig.h"
#include "core/Context.h"
#include "session/ContextSessions.h"
#include "session/RedisSessionStore.h"
#include "session/SqliteSessionStore.h"
#include "util/Log.h"

#include <chrono>
#include <sys/stat.h>

namespace serval::session {

namespace {

/// mkdir -p of the directory holding `file` (data/ on a fresh install); a real problem surfaces
/// when SQLite opens the file, with its own message.
void makeParentDirectories(const std::string& file)
{
    size_t slash = file.rfind('/');
    if (slash == std::string::npos || slash == 0) return;
    std::string dir = file.substr(0, slash);
    for (size_t i = 1; i <= dir.size(); ++i) {
        if (i == dir.size() || dir[i] == '/') ::mkdir(dir.substr(0, i).c_str(), 0755);
    }
}

std::string storeKey(const config::SessionStoreConfig& c)
{
    if (c.store == config::SessionStoreConfig::Store::Sqlite) return "sqlite " + c.path;
    return "redis " + c.url + " " + c.keyPrefix;
}

std::unique_ptr<SessionStore> openStore(const config::SessionStoreConfig& c)
{
    if (c.store == config::SessionStoreConfig::Store::Sqlite) {
        SqliteSessionStore::Options options;
        options.path = c.path;
        options.synchronous = c.synchronousFull ? SqliteSessionStore::Synchronous::Full
                                                : SqliteSessionStore::Synchronous::Normal;
        options.touchInterval = std::chrono::milliseconds(c.touchIntervalMs);
        options.busyTimeout = std::chrono::milliseconds(c.busyTimeoutMs);
        makeParentDirectories(c.path);
        return std::make_unique<SqliteSessionStore>(options);
    }
    RedisSessionStore::Options options;
    options.url = c.url;
    options.keyPrefix = c.keyPrefix;
    options.pool.connectTimeout = std::chrono::milliseconds(c.connectTimeoutMs);
    options.pool.commandTimeout = std::chrono::milliseconds(c.commandTimeoutMs);
    options.pool.maxConnections = c.maxConnections;
    options.touchInterval = std::chrono::milliseconds(c.touchIntervalMs);
    options.readCache = c.readCache;
    return std::make_unique<RedisSessionStore>(options);
}

} // namespace

SessionService::SessionService(const config::ServerConfig& config, SweepScopes sweep)
    : _sweep(sweep), _ids(config.engine.jvmRoute)
{
    for (const config::HostConfig& host : config.engine.hosts) {
        std::string key = storeKey(host.sessions);
        StoreEntry* entry = nullptr;
        for (StoreEntry& e : _stores)
            if (e.key == key) entry = &e;
        if (entry == nullptr) {
            StoreEntry fresh;
            fresh.key = key;
            fresh.store = openStore(host.sessions);
            fresh.sweeper = std::make_unique<SessionSweeper>(
                *fresh.store, host.sessions.sweepIntervalMs,
                [this](const std::vector<ExpiredSession>& sessions) { expired(sessions); },
                [this](std::string_view scope) { return sweepsScope(scope); });
            LOG_INFO("session", "sessions of host " + host.name + " in " + fresh.store->describe());
            _stores.push_back(std::move(fresh));
            entry = &_stores.back();
        }
        _byHost[host.name] = entry->store.get();
    }
}

SessionService::~SessionService()
{
    stop();
}

core::SessionAccessFactory SessionService::factory()
{
    return [this](core::Context& context) -> std::shared_ptr<core::SessionAccess> {
        SessionStore* store = storeFor(context.spec().host);
        if (store == nullptr) return nullptr;
        auto sessions = std::make_shared<ContextSessions>(
            context, *store, _ids,
            ContextSessions::settingsFor(context.spec().host, context.path(), context.webXml()));
        std::lock_guard<std::mutex> lock(_contextsMutex);
        // The version that starts last gets the notices: during a redeploy it is the new one.
        _contexts[sessions->manager().settings().scope] = sessions;
        return sessions;
    };
}

SessionStore* SessionService::storeFor(const std::string& host) const noexcept
{
    auto it = _byHost.find(host);
    return it == _byHost.end() ? nullptr : it->second;
}

std::vector<SessionStore*> SessionService::stores() const
{
    std::vector<SessionStore*> out;
    for (const StoreEntry& e : _stores)
        out.push_back(e.store.get());
    return out;
}

std::optional<std::map<std::string, uint64_t>> SessionService::countByScope(int64_t now) noexcept
{
    std::map<std::string, uint64_t> out;
    try {
        for (const StoreEntry& e : _stores)
            for (const auto& [scope, n] : e.store->countByScope(now))
                out[scope] += n;
    } catch (const std::exception&) {
        return std::nullopt;
    }
    return out;
}

std::vector<SessionSummary> SessionService::list(const std::string& host, const std::string& contextPath,
                                                 size_t limit, int64_t now)
{
    SessionStore* store = storeFor(host);
    if (store == nullptr) return {};
    return store->list(sessionScope(host, contextPath == "/" ? "" : contextPath), now, limit);
}

uint64_t SessionService::invalidate(const std::string& host, const std::string& contextPath,
                                    const std::string& idPrefix, int64_t now)
{
    SessionStore* store = storeFor(host);
    if (store == nullptr) return 0;
    const std::string scope = sessionScope(host, contextPath == "/" ? "" : contextPath);
    // The manager sees id prefixes only; matching them needs the live list (an admin action,
    // not the request path). Sessions beyond this many are left to invalidateAll's scope delete.
    constexpr size_t kScan = 1000000;
    std::vector<ExpiredSession> ended;
    for (const SessionSummary& s : store->list(scope, now, kScan))
        if (s.id.compare(0, idPrefix.size(), idPrefix) == 0) ended.push_back(ExpiredSession{scope, s.id});
    if (!idPrefix.empty() && ended.size() > 1) {
        throw std::invalid_argument("the id prefix " + idPrefix + " matches " + std::to_string(ended.size()) +
                                    " sessions; give more of its digits");
    }
    std::shared_ptr<ContextSessions> sessions = owner(scope);
    if (sessions && sessions->running() && sessions->isolated()) {
        // The app's listeners live in its workers: the sessions end now for every process, and
        // the sweep of the workers (which alone sweep this scope) removes each and runs
        // sessionDestroyed exactly once, as for a session that timed out.
        std::vector<SessionOp> ops;
        for (const ExpiredSession& s : ended)
            ops.push_back(SessionOp::expire(s.id));
        if (!ops.empty()) {
            CommitResult r = store->commitAndWait(scope, std::move(ops));
            if (r.status != StoreStatus::Ok) throw SessionStoreError(r.error);
        }
        return ended.size();
    }
    if (idPrefix.empty()) {
        store->invalidateAll(scope);
    } else if (!ended.empty()) {
        CommitResult r = store->commitAndWait(scope, {SessionOp::invalidate(ended.front().id)});
        if (r.status != StoreStatus::Ok) throw SessionStoreError(r.error);
    }
    expired(ended); // the listeners hear sessionDestroyed, as for the sweep
    return ended.size();
}

void SessionService::expired(const std::vector<ExpiredSession>& sessions) noexcept
{
    std::map<std::string, std::vector<ExpiredSession>> byScope;
    try {
        for (const ExpiredSession& s : sessions)
            byScope[s.scope].push_back(s);
    } catch (...) {
        return; // out of memory: the listeners miss these notices; the sessions are gone anyway
    }
    for (const auto& [scope, list] : byScope) {
        if (std::shared_ptr<ContextSessions> sessions = owner(scope)) sessions->expired(list);
    }
}

std::shared_ptr<ContextSessions> SessionService::owner(std::string_view scope) noexcept
{
    try {
        std::lock_guard<std::mutex> lock(_contextsMutex);
        auto it = _contexts.find(std::string(scope));
        return it == _contexts.end() ? nullptr : it->second.lock();
    } catch (...) {
        return nullptr; // out of memory for the key: treated as no running owner
    }
}

bool SessionService::sweepsScope(std::string_view scope) noexcept
{
    std::shared_ptr<ContextSessions> sessions = owner(scope);
    // A running Context decides: in-process, this sweep reaches its listeners; isolated, only
    // its worker does. A scope nobody runs here is the server's (an undeployed app's sessions
    // still expire), never a worker's (it would sweep every app's).
    if (sessions && sessions->running()) return !sessions->isolated();
    return _sweep == SweepScopes::AllButIsolated;
}

void SessionService::sweep(int64_t now) noexcept
{
    for (StoreEntry& e : _stores)
        e.sweeper->tick(now);
}

void SessionService::start()
{
    std::lock_guard<std::mutex> lock(_sweepMutex);
    if (_sweepThread.joinable()) return;
    _stopping = false;
    _sweepThread = std::thread([this] { sweepLoop(); });
}

void SessionService::stop() noexcept
{
    {
        std::lock_guard<std::mutex> lock(_sweepMutex);
        _stopping = true;
    }
    _sweepWake.notify_all();
    if (_sweepThread.joinable()) _sweepThread.join();
}

void SessionService::sweepLoop()
{
    std::unique_lock<std::mutex> lock(_sweepMutex);
    while (!_stopping) {
        lock.unlock();
        sweep(wallClockMillis());
        lock.lock();
        _sweepWake.wait_for(lock, std::chrono::seconds(1), [&] { return _stopping; });
    }
}

} // namespace serval::session
