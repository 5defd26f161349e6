#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace serval::session {

/// Last-access times not yet written to the store: the coalescing half of SessionStore::touch().
/// A hot session touched by a thousand requests in one interval costs one write.
///
/// Thread-safe (one mutex; the critical sections are a map lookup). Request threads call touch()
/// and latest(); the store's writer calls take() once per touch interval.
class PendingTouches
{
public:
    struct Touch
    {
        std::string scope;
        std::string id;
        int64_t time = 0;
    };

    /// Keeps the latest time per session.
    void touch(std::string_view scope, std::string_view id, int64_t time);
    /// The pending time for one session, if any (load() merges it so a fresh access counts
    /// before it is written).
    std::optional<int64_t> latest(std::string_view scope, std::string_view id) const;
    /// Every pending touch, leaving none.
    std::vector<Touch> take();
    /// Puts back touches a failed write could not store (a later time already pending wins).
    void restore(std::vector<Touch> touches);
    bool empty() const;

private:
    /// id -> time, keyed by a view of the id the entry owns (a node never moves), so a lookup
    /// by string_view hashes once and allocates nothing: every request touches, every load asks
    /// for the latest.
    struct Entry
    {
        std::unique_ptr<const std::string> id;
        int64_t time = 0;
    };
    using Ids = std::unordered_map<std::string_view, Entry>;

    mutable std::mutex _mutex;
    std::map<std::string, Ids, std::less<>> _pending; ///< scope -> its ids (one or a few scopes)
};

} // namespace serval::session
