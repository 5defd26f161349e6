#pragma once

#include "core/HttpSession.h"
#include "session/Session.h"

#include <memory>
#include <string>
#include <vector>

namespace serval::session {

class ContextSessions;

/// core::HttpSession over a session::Session: what the core and the app layer hold for one
/// request. commit() makes the writes durable through the store (waiting on the request's
/// thread), then adds the cookie.
///
/// OWNERSHIP: owned by the core::Request; keeps its ContextSessions alive (a request that
/// outlives its Context's stop still finds its manager).
/// THREADS: the request's thread.
class RequestSession : public core::HttpSession
{
public:
    RequestSession(std::shared_ptr<const ContextSessions> owner, std::vector<std::string> cookieValues,
                   std::vector<std::pair<std::string, LoadResult>> prefetched = {});

    Status resolve(bool create) override;
    bool valid() const noexcept override { return _session.valid(); }
    const std::string& error() const noexcept override;
    bool isNew() const noexcept override { return _session.isNew(); }
    std::string id() const override;
    int64_t creationTime() const noexcept override { return valid() ? _session.creationTime() : 0; }
    int64_t lastAccessedTime() const noexcept override { return valid() ? _session.lastAccessedTime() : 0; }
    int32_t maxInactiveInterval() const noexcept override
    {
        return valid() ? _session.maxInactiveInterval() : 0;
    }
    void setMaxInactiveInterval(int32_t seconds) override { _session.setMaxInactiveInterval(seconds); }
    const std::string* attribute(std::string_view name) const override { return _session.attribute(name); }
    std::vector<std::string_view> attributeNames() const override { return _session.attributeNames(); }
    void setAttribute(std::string name, std::string value) override;
    void removeAttribute(std::string_view name) override { _session.removeAttribute(name); }
    void invalidate() override { _session.invalidate(); }
    void changeId() override { _session.changeId(); }
    bool commit(core::Response& response, bool secure, bool mayHold) noexcept override;

private:
    /// The cookie the client must learn or forget, unless the head already left.
    void addCookie(core::Response& response, const Session::Flush& flush);

    std::shared_ptr<const ContextSessions> _owner;
    Session _session;
    std::string _commitError;
};

} // namespace serval::session
