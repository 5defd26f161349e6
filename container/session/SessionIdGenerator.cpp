#include "session/SessionIdGenerator.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <sys/random.h>

namespace serval::session {

namespace {

bool isLowerHex(char c) noexcept
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool isRouteChar(char c) noexcept
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

} // namespace

SessionIdGenerator::SessionIdGenerator(std::string jvmRoute) : _jvmRoute(std::move(jvmRoute))
{
    if (!_jvmRoute.empty() && !isValidRoute(_jvmRoute)) {
        throw std::invalid_argument("jvmRoute \"" + _jvmRoute +
                                    "\" is not a valid route: use 1 to 64 letters, digits, '_' or '-'");
    }
}

std::string SessionIdGenerator::generateBase()
{
    unsigned char bytes[kRandomBytes];
    size_t filled = 0;
    while (filled < kRandomBytes) {
        ssize_t n = ::getrandom(bytes + filled, kRandomBytes - filled, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error(std::string("cannot generate a session id: getrandom failed: ") +
                                     std::strerror(errno));
        }
        filled += static_cast<size_t>(n);
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id(kBaseLength, '0');
    for (size_t i = 0; i < kRandomBytes; ++i) {
        id[2 * i] = kHex[bytes[i] >> 4];
        id[2 * i + 1] = kHex[bytes[i] & 0x0f];
    }
    return id;
}

std::string SessionIdGenerator::generate() const
{
    return withRoute(generateBase());
}

std::string SessionIdGenerator::withRoute(std::string_view base) const
{
    std::string id(base);
    if (!_jvmRoute.empty()) id.append(1, '.').append(_jvmRoute);
    return id;
}

std::optional<SessionId> SessionIdGenerator::parse(std::string_view text) noexcept
{
    if (text.size() < kBaseLength) return std::nullopt;
    std::string_view base = text.substr(0, kBaseLength);
    for (char c : base)
        if (!isLowerHex(c)) return std::nullopt;
    std::string_view rest = text.substr(kBaseLength);
    if (rest.empty()) return SessionId{base, {}};
    if (rest.front() != '.' || !isValidRoute(rest.substr(1))) return std::nullopt;
    return SessionId{base, rest.substr(1)};
}

bool SessionIdGenerator::isValidRoute(std::string_view route) noexcept
{
    if (route.empty() || route.size() > 64) return false;
    for (char c : route)
        if (!isRouteChar(c)) return false;
    return true;
}

} // namespace serval::session
