#pragma once

#include <string_view>

namespace serval::http {

/// Standard reason phrase for a status code ("Not Found"), or "Unknown".
std::string_view reasonPhrase(int status) noexcept;

} // namespace serval::http
