#include "session/Session.h"

#include <algorithm>

namespace serval::session {

Session::Session(const SessionManager& manager, std::vector<std::string> cookieValues,
                 std::vector<std::pair<std::string, LoadResult>> prefetched)
    : _manager(manager), _cookieValues(std::move(cookieValues)), _prefetched(std::move(prefetched))
{}

void Session::lookUp()
{
    const SessionSettings& settings = _manager.settings();
    int64_t now = _manager.now();
    _state = State::None;
    // A browser may send several cookies of this name (paths above and below): the first one
    // the store knows wins, as in Tomcat. Ids this server could not have issued are not even
    // looked up.
    size_t lookups = 0;
    for (const std::string& value : _cookieValues) {
        std::optional<SessionId> parsed = SessionIdGenerator::parse(value);
        if (!parsed) continue;
        if (++lookups > kMaxLookups) break;
        LoadResult found;
        auto ahead = std::find_if(_prefetched.begin(), _prefetched.end(),
                                  [&](const auto& answer) { return answer.first == parsed->base; });
        if (ahead != _prefetched.end()) {
            found = std::move(ahead->second);
            _prefetched.erase(ahead); // once: a second lookUp (after Unavailable) asks the store
        } else {
            found = _manager.store().load(settings.scope, parsed->base, now);
        }
        if (found.status == StoreStatus::Unavailable) {
            _state = State::Unresolved; // try again if the app asks again
            _error = found.error;
            return;
        }
        if (found.status == StoreStatus::Ok) {
            _record = std::move(found.session);
            _state = State::Active;
            _manager.store().touch(settings.scope, _record.id, now);
            return;
        }
    }
}

StoreStatus Session::resolve(bool create)
{
    if (_state == State::Unresolved) {
        _error.clear();
        lookUp();
        if (_state == State::Unresolved) return StoreStatus::Unavailable;
    }
    if (_state == State::Active) return StoreStatus::Ok;
    if (!create) return StoreStatus::NotFound;

    const SessionSettings& settings = _manager.settings();
    std::string id;
    try {
        id = SessionIdGenerator::generateBase();
    } catch (const std::exception& e) {
        _error = e.what();
        return StoreStatus::Unavailable;
    }
    int64_t now = _manager.now();
    _record = SessionRecord();
    _record.id = id;
    _record.creationTime = now;
    _record.lastAccessedTime = now;
    _record.maxInactiveInterval = settings.maxInactiveInterval;
    record(SessionOp::create(std::move(id), now, settings.maxInactiveInterval));
    _state = State::Active;
    _isNew = true;
    _cookieToSet = true;
    _cookieToDelete = false;
    return StoreStatus::Ok;
}

std::string Session::id() const
{
    return _manager.ids().withRoute(_record.id);
}

void Session::record(SessionOp op)
{
    _ops.push_back(std::move(op));
}

void Session::setMaxInactiveInterval(int32_t seconds)
{
    if (!valid()) return;
    _record.maxInactiveInterval = seconds;
    record(SessionOp::setMaxInactive(_record.id, seconds, _manager.now()));
}

const std::string* Session::attribute(std::string_view name) const
{
    if (!valid()) return nullptr;
    auto it = _record.attributes.find(name);
    return it == _record.attributes.end() ? nullptr : &it->second;
}

std::vector<std::string_view> Session::attributeNames() const
{
    std::vector<std::string_view> names;
    if (!valid()) return names;
    names.reserve(_record.attributes.size());
    for (const auto& entry : _record.attributes)
        names.push_back(entry.first);
    return names;
}

void Session::setAttribute(std::string name, std::string value)
{
    if (!valid()) return;
    record(SessionOp::setAttribute(_record.id, name, value));
    _record.attributes.insert_or_assign(std::move(name), std::move(value));
}

void Session::removeAttribute(std::string_view name)
{
    if (!valid()) return;
    auto it = _record.attributes.find(name);
    if (it != _record.attributes.end()) _record.attributes.erase(it);
    record(SessionOp::removeAttribute(_record.id, std::string(name)));
}

void Session::invalidate()
{
    if (!valid()) return;
    record(SessionOp::invalidate(_record.id));
    _record = SessionRecord();
    _state = State::Invalidated;
    _isNew = false;
    _cookieToSet = false;
    _cookieToDelete = true;
}

void Session::changeId()
{
    if (!valid()) return;
    std::string fresh = SessionIdGenerator::generateBase();
    record(SessionOp::changeId(_record.id, fresh));
    _record.id = std::move(fresh);
    _cookieToSet = true;
}

Session::Flush Session::prepareFlush(bool requestSecure)
{
    Flush flush;
    flush.ops = std::move(_ops);
    _ops.clear();
    if (!_cookieToSet && !_cookieToDelete) return flush;

    const SessionSettings& settings = _manager.settings();
    SessionCookie cookie;
    cookie.name = settings.cookieName;
    cookie.path = settings.cookiePath;
    cookie.httpOnly = settings.httpOnly;
    cookie.secure = settings.secure.value_or(requestSecure);
    cookie.sameSite = settings.sameSite;
    if (_cookieToSet) {
        cookie.value = id();
    } else {
        cookie.maxAge = 0;
    }
    flush.cookie = std::move(cookie);
    _cookieToSet = false;
    _cookieToDelete = false;
    return flush;
}

} // namespace serval::session
