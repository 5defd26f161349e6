#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace serval::manager {

/// One session as the admin page lists it: never the whole id (it is a credential), never an
/// attribute value.
struct SessionRow
{
    std::string idPrefix; ///< the first SessionDirectory::kIdPrefixLength characters
    int64_t created = 0;  ///< ms since the epoch
    int64_t lastAccessed = 0;
    int32_t maxInactive = 0; ///< seconds; <= 0: never expires
    uint64_t attributes = 0;
    uint64_t bytes = 0; ///< attribute names and values
};

/// One session store's counters since it was opened, by the server and by the workers of its
/// isolated apps, summed (for /metrics).
struct SessionStoreMetrics
{
    std::string store; ///< "sqlite /srv/serval/data/sessions.db", "redis 10.0.0.5:6379/0"
    uint64_t created = 0;
    uint64_t expired = 0;
    uint64_t invalidated = 0;
    uint64_t commits = 0;
    uint64_t failedCommits = 0;
    uint64_t transactions =
        0; ///< SQLite transactions / Redis pipelines (commits / transactions = group size)
    uint64_t commitMicrosSum = 0;
    uint64_t loads = 0;
    uint64_t loadMicrosSum = 0;
};

/// What the manager needs of the session stores (the manager room does not link session/;
/// startup implements this over session::SessionService). Sessions belong to host + path.
///
/// THREADS: any worker thread. Errors (a store that is down) throw std::runtime_error with one
/// line the API passes on.
class SessionDirectory
{
public:
    static constexpr size_t kIdPrefixLength = 12;

    virtual ~SessionDirectory() = default;
    /// Live sessions of every application ({host, path "/shop"} -> count); an app without an
    /// entry has none. nullopt when a store cannot answer (the page shows "–").
    virtual std::optional<std::map<std::pair<std::string, std::string>, uint64_t>>
    activeCounts() noexcept = 0;
    /// Up to `limit` live sessions of one application, most recently used first.
    virtual std::vector<SessionRow> list(const std::string& host, const std::string& path, size_t limit) = 0;
    /// Invalidates the one session whose id starts with `idPrefix` (at least 8 characters; an
    /// ambiguous prefix invalidates nothing and throws), or every session of the application
    /// when `idPrefix` is empty. Returns how many ended.
    virtual uint64_t invalidate(const std::string& host, const std::string& path,
                                const std::string& idPrefix) = 0;
    /// Counters of every store: the server's and its isolated apps' workers'.
    virtual std::vector<SessionStoreMetrics> storeMetrics() noexcept = 0;
};

} // namespace serval::manager
