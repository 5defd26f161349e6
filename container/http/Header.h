#pragma once

#include "util/Strings.h"

#include <string>
#include <string_view>
#include <vector>

namespace serval::http {

/// One header field as received or to be sent. Names keep their original case; lookups
/// compare ASCII case-insensitively.
struct Header
{
    std::string name;
    std::string value;
};

/// The first field named `name` (ASCII case-insensitive), or nullptr: the one lookup behind
/// HttpRequest's and HttpResponse's header() and hasHeader().
inline const Header* findHeader(const std::vector<Header>& headers, std::string_view name) noexcept
{
    for (const Header& h : headers) {
        if (util::equalsIgnoreCase(h.name, name)) return &h;
    }
    return nullptr;
}

} // namespace serval::http
