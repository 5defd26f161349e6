#include "manager/AddressAllowList.h"

#include "util/Strings.h"

#include <arpa/inet.h>
#include <cstring>

namespace serval::manager {

bool AddressAllowList::parseAddress(std::string_view text, std::array<uint8_t, 16>& bytes, bool& v4) noexcept
{
    if (text.empty() || text.size() > 45) return false;
    char buffer[64];
    std::memcpy(buffer, text.data(), text.size());
    buffer[text.size()] = '\0';
    bytes.fill(0);
    in_addr a4{};
    if (::inet_pton(AF_INET, buffer, &a4) == 1) {
        std::memcpy(bytes.data(), &a4, 4);
        v4 = true;
        return true;
    }
    in6_addr a6{};
    if (::inet_pton(AF_INET6, buffer, &a6) == 1) {
        std::memcpy(bytes.data(), &a6, 16);
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (std::memcmp(bytes.data(), mapped, 12) == 0) {
            std::memmove(bytes.data(), bytes.data() + 12, 4);
            std::memset(bytes.data() + 4, 0, 12);
            v4 = true;
        } else {
            v4 = false;
        }
        return true;
    }
    return false;
}

bool AddressAllowList::parse(std::string_view list, std::string& error)
{
    std::vector<Block> blocks;
    for (auto entry : util::splitList(list, ',')) {
        Block block;
        auto slash = entry.find('/');
        std::string_view address = entry.substr(0, slash);
        if (!parseAddress(address, block.bytes, block.v4)) {
            error = "\"" + std::string(entry) + "\" is not an IPv4 or IPv6 address or CIDR block";
            return false;
        }
        unsigned maxPrefix = block.v4 ? 32 : 128;
        block.prefix = maxPrefix;
        if (slash != std::string_view::npos) {
            auto prefix = util::parseUnsigned(entry.substr(slash + 1));
            if (!prefix || *prefix > maxPrefix) {
                error = "\"" + std::string(entry) + "\" has a bad prefix length (0-" +
                        std::to_string(maxPrefix) + ")";
                return false;
            }
            block.prefix = static_cast<unsigned>(*prefix);
        }
        blocks.push_back(block);
    }
    _blocks = std::move(blocks);
    _text = std::string(list);
    return true;
}

bool AddressAllowList::allows(std::string_view address) const noexcept
{
    std::array<uint8_t, 16> bytes{};
    bool v4 = false;
    auto percent = address.find('%'); // fe80::1%eth0
    if (!parseAddress(address.substr(0, percent), bytes, v4)) return false;
    for (const auto& block : _blocks) {
        if (block.v4 != v4) continue;
        unsigned full = block.prefix / 8;
        unsigned rest = block.prefix % 8;
        if (std::memcmp(block.bytes.data(), bytes.data(), full) != 0) continue;
        if (rest != 0) {
            uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
            if ((block.bytes[full] & mask) != (bytes[full] & mask)) continue;
        }
        return true;
    }
    return false;
}

} // namespace serval::manager
