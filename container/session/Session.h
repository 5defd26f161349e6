#pragma once

#include "http/HttpHandler.h"
#include "session/SessionManager.h"
#include "session/SessionStore.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace serval::session {

/// The store's answers for the session ids one request's cookies named, fetched before the
/// request was served together with those of the requests read with it (an isolated app's
/// worker on Redis: ContextSessions::prefetch), so the request's own lookup costs no round
/// trip. Only answers the store gave (Ok or NotFound): an Unavailable one is looked up again.
struct PrefetchedSessions final : http::Prefetched
{
    std::string scope;
    uint64_t fetchedAtMicros = 0;                            ///< steady clock
    std::vector<std::pair<std::string, LoadResult>> answers; ///< base id -> the store's answer
};

/// One request's view of its HttpSession (Tomcat's StandardSession as one request sees it).
///
/// Nothing is read until the app asks (resolve()); then the client's cookie ids are looked up
/// in the store, one snapshot serves every read of this request, and each write is recorded as
/// a SessionOp: applied to the snapshot at once (the request reads its own writes) and committed
/// with the others by prepareFlush() + SessionManager::commit() before the response head leaves.
///
/// Fixation: an id is adopted only when the store has it; a session this request creates gets
/// a fresh id from the generator, never the one the client offered.
///
/// OWNERSHIP: owned by the request (the core adapter); refers to its SessionManager, which
/// outlives every request of the Context.
/// THREADS: one thread at a time, like the request.
class Session
{
public:
    /// `prefetched`: answers fetched for this request before it was served (may be empty);
    /// lookUp() takes an id's answer from there instead of asking the store.
    /// How many well-formed session cookie values one request may have looked up: a browser
    /// sends one per matching path (a few at most); more is a probe, and each costs a store
    /// lookup (a Redis round trip), so the rest are ignored.
    static constexpr size_t kMaxLookups = 8;

    Session(const SessionManager& manager, std::vector<std::string> cookieValues,
            std::vector<std::pair<std::string, LoadResult>> prefetched = {});

    /// HttpServletRequest.getSession(create). Ok: there is a session (found, or created when
    /// `create`); NotFound: none, and `create` was false; Unavailable: the store could not
    /// answer (error() says why; the request should get 503).
    StoreStatus resolve(bool create);
    /// A session is resolved and has not been invalidated since.
    bool valid() const noexcept { return _state == State::Active; }
    /// Created by this request (the client does not know it yet).
    bool isNew() const noexcept { return _isNew; }
    const std::string& error() const noexcept { return _error; }

    // The accessors below need valid().
    /// The id as the client sees it: the stored id plus this node's route (".node1").
    std::string id() const;
    int64_t creationTime() const noexcept { return _record.creationTime; }
    /// The previous request's access (this request's own for a new session).
    int64_t lastAccessedTime() const noexcept { return _record.lastAccessedTime; }
    int32_t maxInactiveInterval() const noexcept { return _record.maxInactiveInterval; }
    void setMaxInactiveInterval(int32_t seconds);
    /// nullptr when the session has no such attribute.
    const std::string* attribute(std::string_view name) const;
    /// Views into the snapshot: valid until an attribute is set or removed.
    std::vector<std::string_view> attributeNames() const;
    void setAttribute(std::string name, std::string value);
    void removeAttribute(std::string_view name);
    /// Ends the session; getSession(true) afterwards in the same request makes a new one.
    void invalidate();
    /// A new id for the same session (call it at login): the attributes stay, the old id is
    /// retired in the store atomically with this request's other writes.
    void changeId();

    /// What the response head must carry, and the writes to commit first.
    struct Flush
    {
        std::vector<SessionOp> ops;
        std::optional<SessionCookie> cookie;
    };
    /// Called once the servlet is done and before the head leaves (and again if an error page
    /// follows: only what happened since is returned). `requestSecure`: the request came over
    /// TLS, or through a proxy the Connector trusts to say so.
    Flush prepareFlush(bool requestSecure);

private:
    enum class State
    {
        Unresolved, ///< nothing looked up yet
        None,       ///< looked up: no session (or the client's ids were unknown)
        Active,     ///< _record is this request's snapshot
        Invalidated ///< invalidate() ran
    };

    void lookUp();
    void record(SessionOp op);

    const SessionManager& _manager;
    std::vector<std::string> _cookieValues;
    std::vector<std::pair<std::string, LoadResult>> _prefetched;
    State _state = State::Unresolved;
    SessionRecord _record; ///< id = the stored (base) id
    bool _isNew = false;
    bool _cookieToSet = false;    ///< a new session or a changed id: the client must learn it
    bool _cookieToDelete = false; ///< invalidated and nothing new since
    std::vector<SessionOp> _ops;
    std::string _error;
};

} // namespace serval::session
