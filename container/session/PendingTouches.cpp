#include "session/PendingTouches.h"

namespace serval::session {

void PendingTouches::touch(std::string_view scope, std::string_view id, int64_t time)
{
    std::lock_guard<std::mutex> lock(_mutex);
    auto inScope = _pending.find(scope);
    if (inScope == _pending.end()) inScope = _pending.emplace(std::string(scope), Ids()).first;
    Ids& ids = inScope->second;
    auto it = ids.find(id);
    if (it == ids.end()) {
        auto owned = std::make_unique<const std::string>(id);
        std::string_view key = *owned;
        ids.emplace(key, Entry{std::move(owned), time});
    } else if (time > it->second.time) {
        it->second.time = time;
    }
}

std::optional<int64_t> PendingTouches::latest(std::string_view scope, std::string_view id) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    auto inScope = _pending.find(scope);
    if (inScope == _pending.end()) return std::nullopt;
    auto it = inScope->second.find(id);
    if (it == inScope->second.end()) return std::nullopt;
    return it->second.time;
}

std::vector<PendingTouches::Touch> PendingTouches::take()
{
    std::map<std::string, Ids, std::less<>> taken;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        taken.swap(_pending);
    }
    std::vector<Touch> out;
    for (auto& [scope, ids] : taken)
        for (auto& [id, entry] : ids)
            out.push_back(Touch{scope, *entry.id, entry.time});
    return out;
}

void PendingTouches::restore(std::vector<Touch> touches)
{
    for (Touch& t : touches)
        touch(t.scope, t.id, t.time);
}

bool PendingTouches::empty() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _pending.empty();
}

} // namespace serval::session
