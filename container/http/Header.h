#pragma once

#include <string>

namespace serval::http {

/// One header field as received or to be sent. Names keep their original case; lookups
/// compare ASCII case-insensitively.
struct Header
{
    std::string name;
    std::string value;
};

} // namespace serval::http
