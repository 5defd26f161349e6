#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace serval::session {

/// A session id as a client presents it: the random part the store knows, and the optional
/// route suffix a load balancer may use for stickiness (Tomcat's "id.jvmRoute").
struct SessionId
{
    std::string_view base;  ///< SessionIdGenerator::kBaseLength lower-case hex digits
    std::string_view route; ///< "" when the id carries none
};

/// Issues session ids: 128 bits from getrandom(2) as 32 lower-case hex digits (URL and cookie
/// safe, as Tomcat's), plus ".<jvmRoute>" when the Engine has one (`<Engine jvmRoute="node1">`).
/// Stores key sessions by the base only: the route is a hint for the balancer, so a request
/// that lands on another node still finds its session.
///
/// Thread-safe (immutable after construction; getrandom is).
class SessionIdGenerator
{
public:
    static constexpr size_t kRandomBytes = 16;
    static constexpr size_t kBaseLength = 2 * kRandomBytes;

    /// Throws std::invalid_argument when `jvmRoute` is not a valid route (see isValidRoute).
    explicit SessionIdGenerator(std::string jvmRoute = "");

    /// A fresh id with this node's route. Throws std::runtime_error if the kernel refuses
    /// randomness (getrandom fails only on a broken system).
    std::string generate() const;
    /// The base of a fresh id (for SessionOp::create and changeId).
    static std::string generateBase();

    /// `base` with this node's route appended: what the cookie carries.
    std::string withRoute(std::string_view base) const;
    const std::string& jvmRoute() const noexcept { return _jvmRoute; }

    /// Splits a client-supplied id and checks its shape; nullopt for anything this server could
    /// not have issued (wrong length, other characters, an empty or malformed route). A
    /// well-formed id is still only adopted when the store knows it (no fixation).
    static std::optional<SessionId> parse(std::string_view text) noexcept;
    /// 1 to 64 of [A-Za-z0-9_-].
    static bool isValidRoute(std::string_view route) noexcept;

private:
    std::string _jvmRoute;
};

} // namespace serval::session
