#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace serval::core {

class Response;

/// One request's HttpSession (javax.servlet.http.HttpSession as that request sees it).
/// Implemented by container/session; the core and the app layer only use this interface, so
/// core never includes session/.
///
/// Reads come from one snapshot taken when the session was resolved; writes are per attribute
/// and become durable in commit(), before the response head leaves (Response::commitSession).
///
/// OWNERSHIP: owned by the Request (created by the Context's SessionAccess on first use).
/// THREADS: the request's thread only.
class HttpSession
{
public:
    enum class Status
    {
        Ok,         ///< there is a session
        NotFound,   ///< none, and the caller did not ask to create one
        Unavailable ///< the store could not answer: the request gets 503
    };

    virtual ~HttpSession() = default;

    /// Finds the client's session (first call only) or, with `create`, makes a new one.
    virtual Status resolve(bool create) = 0;
    /// A session is resolved and not invalidated since.
    virtual bool valid() const noexcept = 0;
    /// Why the store could not answer (after Unavailable or a failed commit).
    virtual const std::string& error() const noexcept = 0;

    // The accessors below need valid(); otherwise they return empty values and change nothing.
    virtual bool isNew() const noexcept = 0;
    virtual std::string id() const = 0;
    virtual int64_t creationTime() const noexcept = 0;        ///< ms since the epoch
    virtual int64_t lastAccessedTime() const noexcept = 0;    ///< the previous request's access
    virtual int32_t maxInactiveInterval() const noexcept = 0; ///< seconds; <= 0: never expires
    virtual void setMaxInactiveInterval(int32_t seconds) = 0;
    /// nullptr when absent. The pointer is valid until the attribute is set or removed.
    virtual const std::string* attribute(std::string_view name) const = 0;
    /// Views into the snapshot: valid until an attribute is set or removed.
    virtual std::vector<std::string_view> attributeNames() const = 0;
    virtual void setAttribute(std::string name, std::string value) = 0;
    virtual void removeAttribute(std::string_view name) = 0;
    /// Ends the session (Request::invalidateSession tells the listeners first).
    virtual void invalidate() = 0;
    /// A new id, same attributes (call it at login: no session fixation).
    virtual void changeId() = 0;

    /// Makes this request's writes durable, then adds the session cookie to `response` if the
    /// client must learn (or forget) the id. Blocks the calling thread until the store answered,
    /// unless `mayHold` and the response can be held (Response::hold()): then it returns at
    /// once and the held response leaves when the writes are durable (or as a 503 if they
    /// failed). `secure`: the request came over TLS or through a trusted TLS proxy. False: the
    /// writes are not durable (error() says why); the caller answers 503.
    virtual bool commit(Response& response, bool secure, bool mayHold) noexcept = 0;
};

} // namespace serval::core
