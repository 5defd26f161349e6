#include "session/ContextSessions.h"

#include "config/WebAppConfig.h"
#include "core/Context.h"
#include "core/Request.h"
#include "http/HttpRequest.h"
#include "session/RequestSession.h"

namespace serval::session {

namespace {

/// What an HttpSessionListener sees of a session the sweep removed: its id, nothing else (the
/// store deleted the attributes with it).
class ExpiredHttpSession : public core::HttpSession
{
public:
    explicit ExpiredHttpSession(std::string id) : _id(std::move(id)) {}
    Status resolve(bool) override { return Status::Ok; }
    bool valid() const noexcept override { return true; }
    const std::string& error() const noexcept override { return _none; }
    bool isNew() const noexcept override { return false; }
    std::string id() const override { return _id; }
    int64_t creationTime() const noexcept override { return 0; }
    int64_t lastAccessedTime() const noexcept override { return 0; }
    int32_t maxInactiveInterval() const noexcept override { return 0; }
    void setMaxInactiveInterval(int32_t) override {}
    const std::string* attribute(std::string_view) const override { return nullptr; }
    std::vector<std::string_view> attributeNames() const override { return {}; }
    void setAttribute(std::string, std::string) override {}
    void removeAttribute(std::string_view) override {}
    void invalidate() override {}
    void changeId() override {}
    bool commit(core::Response&, bool, bool) noexcept override { return true; }

private:
    std::string _id;
    std::string _none;
};

} // namespace

ContextSessions::ContextSessions(core::Context& context, SessionStore& store, const SessionIdGenerator& ids,
                                 SessionSettings settings)
    : _manager(store, ids, std::move(settings)), _isolated(context.isolated()), _context(&context)
{}

bool ContextSessions::running() const noexcept
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _context != nullptr;
}

void ContextSessions::warnStoreFailure(const http::HttpRequest& request,
                                       std::string_view error) const noexcept
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_context != nullptr) _context->warnSessionStoreFailure(request.method, request.path, error);
}

SessionSettings ContextSessions::settingsFor(const std::string& host, const std::string& contextPath,
                                             const config::WebAppConfig& webXml)
{
    SessionSettings s;
    s.scope = sessionScope(host, contextPath);
    // <session-timeout> is in minutes, 30 by default; 0 (or less) means never.
    int minutes = webXml.sessionTimeoutMinutes.value_or(30);
    s.maxInactiveInterval = minutes > 0 ? minutes * 60 : 0;
    const config::SessionCookieDef& cookie = webXml.sessionCookie;
    s.cookieName = cookie.name.value_or("SERVALSESSION");
    s.cookiePath = cookie.path.value_or(contextPath.empty() ? std::string("/") : contextPath);
    s.httpOnly = cookie.httpOnly.value_or(true);
    s.secure = cookie.secure;
    s.sameSite = cookie.sameSite.value_or("Lax");
    return s;
}

std::unique_ptr<core::HttpSession> ContextSessions::open(core::Request& request)
{
    std::vector<std::string> values;
    for (const auto& [name, value] : request.cookies())
        if (name == _manager.settings().cookieName) values.push_back(value);
    return std::make_unique<RequestSession>(shared_from_this(), std::move(values));
}

void ContextSessions::close() noexcept
{
    std::lock_guard<std::mutex> lock(_mutex);
    _context = nullptr;
}

void ContextSessions::expired(const std::vector<ExpiredSession>& sessions) noexcept
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (_context == nullptr) return;
    for (const ExpiredSession& s : sessions) {
        if (s.scope != _manager.settings().scope) continue;
        try {
            ExpiredHttpSession view(_manager.ids().withRoute(s.id));
            _context->sessionDestroyed(view);
        } catch (...) {
            // Out of memory for one id: the listener misses one notice; the session is gone anyway.
        }
    }
}

} // namespace serval::session
