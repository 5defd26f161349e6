#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace serval::manager {

/// Which client addresses may reach the manager and /metrics: a list of CIDR blocks, IPv4 and
/// IPv6 ("127.0.0.0/8,::1"). A bare address is a /32 or /128. IPv4-mapped IPv6 clients
/// (::ffff:127.0.0.1) match IPv4 blocks.
///
/// Immutable after parse(); safe to read from any thread.
class AddressAllowList
{
public:
    static constexpr const char* Default = "127.0.0.0/8,::1";

    /// Parses a comma-separated list. Returns false and sets `error` (naming the bad entry).
    bool parse(std::string_view list, std::string& error);
    bool allows(std::string_view address) const noexcept;
    const std::string& text() const noexcept { return _text; }

private:
    struct Block
    {
        std::array<uint8_t, 16> bytes{};
        bool v4 = false;
        unsigned prefix = 0;
    };
    static bool parseAddress(std::string_view text, std::array<uint8_t, 16>& bytes, bool& v4) noexcept;

    std::vector<Block> _blocks;
    std::string _text;
};

} // namespace serval::manager
