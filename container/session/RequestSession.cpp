#include "session/RequestSession.h"

#include "core/Response.h"
#include "session/ContextSessions.h"
#include "util/Log.h"

namespace serval::session {

namespace {

core::HttpSession::Status toCore(StoreStatus status)
{
    switch (status) {
    case StoreStatus::Ok:
        return core::HttpSession::Status::Ok;
    case StoreStatus::NotFound:
        return core::HttpSession::Status::NotFound;
    case StoreStatus::Unavailable:
        return core::HttpSession::Status::Unavailable;
    }
    return core::HttpSession::Status::Unavailable;
}

} // namespace

RequestSession::RequestSession(std::shared_ptr<const ContextSessions> owner,
                               std::vector<std::string> cookieValues)
    : _owner(std::move(owner)), _session(_owner->manager(), std::move(cookieValues))
{}

core::HttpSession::Status RequestSession::resolve(bool create)
{
    return toCore(_session.resolve(create));
}

const std::string& RequestSession::error() const noexcept
{
    return _commitError.empty() ? _session.error() : _commitError;
}

std::string RequestSession::id() const
{
    return valid() ? _session.id() : std::string();
}

void RequestSession::setAttribute(std::string name, std::string value)
{
    _session.setAttribute(std::move(name), std::move(value));
}

bool RequestSession::commit(core::Response& response, bool secure) noexcept
{
    try {
        Session::Flush flush = _session.prepareFlush(secure);
        if (!flush.ops.empty()) {
            // Durable before the head leaves. The request's thread waits for the group commit;
            // once the connector can park an exchange (DESIGN-wave2 2.2) this becomes a resume.
            CommitResult result = _owner->manager().store().commitAndWait(_owner->manager().settings().scope,
                                                                          std::move(flush.ops));
            if (result.status != StoreStatus::Ok) {
                _commitError = result.error.empty() ? "the session store refused the write" : result.error;
                return false;
            }
        }
        if (flush.cookie) {
            if (response.isCommitted()) {
                // changeId() or a new session after the head left: the client cannot learn it.
                LOG_WARN("session", "the session cookie changed after the response head was sent (" +
                                        _owner->manager().settings().scope +
                                        "); create the session or change its id before flushing");
            } else {
                core::Cookie cookie;
                cookie.name = flush.cookie->name;
                cookie.value = flush.cookie->value;
                cookie.path = flush.cookie->path;
                cookie.maxAge = flush.cookie->maxAge;
                cookie.httpOnly = flush.cookie->httpOnly;
                cookie.secure = flush.cookie->secure;
                cookie.sameSite = flush.cookie->sameSite;
                response.addCookie(cookie);
            }
        }
        return true;
    } catch (const std::exception& e) {
        _commitError = e.what();
        return false;
    }
}

} // namespace serval::session
