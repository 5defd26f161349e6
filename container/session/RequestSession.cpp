#include "session/RequestSession.h"

#include "core/Response.h"
#include "core/ResponseHold.h"
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
                               std::vector<std::string> cookieValues,
                               std::vector<std::pair<std::string, LoadResult>> prefetched)
    : _owner(std::move(owner)), _session(_owner->manager(), std::move(cookieValues), std::move(prefetched))
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

bool RequestSession::commit(core::Response& response, bool secure, bool mayHold) noexcept
{
    try {
        Session::Flush flush = _session.prepareFlush(secure);
        if (!flush.ops.empty()) {
            // A worker that dies from here on may have made the write durable: the server must
            // answer 502 rather than run the request (and its write) again.
            response.markIrrevocable();
            SessionStore& store = _owner->manager().store();
            const std::string& scope = _owner->manager().settings().scope;
            if (std::shared_ptr<core::ResponseHold> hold = mayHold ? response.hold() : nullptr) {
                // Durable before the head leaves, without this thread: the response waits,
                // suspended, and the commit callback (the store's thread) releases it.
                addCookie(response, flush);
                store.commit(scope, std::move(flush.ops), [hold, owner = _owner](const CommitResult& result) {
                    if (result.status == StoreStatus::Ok) {
                        hold->release({});
                        return;
                    }
                    std::string error =
                        result.error.empty() ? "the session store refused the write" : result.error;
                    hold->release([owner, error](http::HttpExchange& held) {
                        core::Response::writeSessionUnavailable(held.response);
                        owner->warnStoreFailure(held.request, error);
                    });
                });
                return true;
            }
            CommitResult result = store.commitAndWait(scope, std::move(flush.ops));
            if (result.status != StoreStatus::Ok) {
                _commitError = result.error.empty() ? "the session store refused the write" : result.error;
                return false;
            }
        }
        addCookie(response, flush);
        return true;
    } catch (const std::exception& e) {
        _commitError = e.what();
        return false;
    }
}

void RequestSession::addCookie(core::Response& response, const Session::Flush& flush)
{
    if (!flush.cookie) return;
    if (response.isCommitted()) {
        // changeId() or a new session after the head left: the client cannot learn it.
        LOG_WARN("session", "the session cookie changed after the response head was sent (" +
                                _owner->manager().settings().scope +
                                "); create the session or change its id before flushing");
        return;
    }
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

} // namespace serval::session
