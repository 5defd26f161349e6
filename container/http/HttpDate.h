#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace serval::http {

/// IMF-fixdate (RFC 9110 5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT".
std::string formatHttpDate(std::time_t t);
/// Parses IMF-fixdate (and the obsolete RFC 850 / asctime forms). nullopt if malformed.
std::optional<std::time_t> parseHttpDate(std::string_view text);

/// The current second's Date header value, formatted at most once per second per thread.
/// Returns a view valid until the next call on the same thread.
std::string_view cachedHttpDate() noexcept;

} // namespace serval::http
