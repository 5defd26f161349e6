#include "startup/ManagerSessions.h"

namespace serval::startup {

std::optional<std::map<std::pair<std::string, std::string>, uint64_t>>
ManagerSessions::activeCounts() noexcept
{
    std::optional<std::map<std::string, uint64_t>> byScope =
        _sessions.countByScope(session::wallClockMillis());
    if (!byScope) return std::nullopt;
    std::map<std::pair<std::string, std::string>, uint64_t> out;
    try {
        // A scope is host + context path ("localhost/shop", "localhost/" for ROOT); host names
        // hold no '/'.
        for (const auto& [scope, count] : *byScope) {
            size_t slash = scope.find('/');
            if (slash == std::string::npos) continue;
            out[{scope.substr(0, slash), scope.substr(slash)}] = count;
        }
    } catch (...) {
        return std::nullopt;
    }
    return out;
}

std::vector<manager::SessionRow> ManagerSessions::list(const std::string& host, const std::string& path,
                                                       size_t limit)
{
    std::vector<manager::SessionRow> rows;
    for (const session::SessionSummary& s : _sessions.list(host, path, limit, session::wallClockMillis())) {
        manager::SessionRow row;
        row.idPrefix = s.id.substr(0, kIdPrefixLength);
        row.created = s.creationTime;
        row.lastAccessed = s.lastAccessedTime;
        row.maxInactive = s.maxInactiveInterval;
        row.attributes = s.attributeCount;
        row.bytes = s.size;
        rows.push_back(std::move(row));
    }
    return rows;
}

uint64_t ManagerSessions::invalidate(const std::string& host, const std::string& path,
                                     const std::string& idPrefix)
{
    return _sessions.invalidate(host, path, idPrefix, session::wallClockMillis());
}

std::vector<manager::SessionStoreMetrics> ManagerSessions::storeMetrics() noexcept
{
    std::vector<manager::SessionStoreMetrics> out;
    try {
        // The server's stores first, then stores only workers open; one series per store, the
        // server's counters and its isolated apps' workers' summed (they share the store).
        std::vector<std::string> order;
        std::map<std::string, session::SessionStoreStats> byStore;
        for (session::SessionStore* store : _sessions.stores()) {
            std::string name = store->describe();
            if (byStore.count(name) == 0) order.push_back(name);
            byStore[name].add(store->stats());
        }
        if (_workerStats) {
            std::map<std::string, session::SessionStoreStats> workers;
            _workerStats(workers);
            for (const auto& [name, stats] : workers) {
                if (byStore.count(name) == 0) order.push_back(name);
                byStore[name].add(stats);
            }
        }
        for (const std::string& name : order) {
            const session::SessionStoreStats& s = byStore[name];
            manager::SessionStoreMetrics m;
            m.store = name;
            m.created = s.created;
            m.expired = s.expired;
            m.invalidated = s.invalidated;
            m.commits = s.commits;
            m.failedCommits = s.failedCommits;
            m.transactions = s.transactions;
            m.commitMicrosSum = s.commitMicrosSum;
            m.loads = s.loads;
            m.loadMicrosSum = s.loadMicrosSum;
            out.push_back(std::move(m));
        }
    } catch (...) {
        // Out of memory while listing counters (or a worker's answer): /metrics goes without
        // them this time.
    }
    return out;
}

} // namespace serval::startup
