#include "session/PendingTouches.h"

namespace serval::session {

std::string PendingTouches::key(std::string_view scope, std::string_view id)
{
    // A scope never holds '\n' (host name + path), so the key is unambiguous.
    std::string k;
    k.reserve(scope.size() + 1 + id.size());
    k.append(scope).append(1, '\n').append(id);
    return k;
}

void PendingTouches::touch(std::string_view scope, std::string_view id, int64_t time)
{
    std::string k = key(scope, id);
    std::lock_guard<std::mutex> lock(_mutex);
    auto it = _pending.find(k);
    if (it == _pending.end()) {
        _pending.emplace(std::move(k), Touch{std::string(scope), std::string(id), time});
    } else if (time > it->second.time) {
        it->second.time = time;
    }
}

std::optional<int64_t> PendingTouches::latest(std::string_view scope, std::string_view id) const
{
    std::string k = key(scope, id);
    std::lock_guard<std::mutex> lock(_mutex);
    auto it = _pending.find(k);
    if (it == _pending.end()) return std::nullopt;
    return it->second.time;
}

std::vector<PendingTouches::Touch> PendingTouches::take()
{
    std::unordered_map<std::string, Touch> taken;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        taken.swap(_pending);
    }
    std::vector<Touch> out;
    out.reserve(taken.size());
    for (auto& entry : taken)
        out.push_back(std::move(entry.second));
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
