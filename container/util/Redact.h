#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace serval::util {

/// Credentials never reach a log in clear. A client that puts a secret in a URL
/// (`?token=`, `?access_token=`, `?csrf=`, `?password=`, `?api_key=` and their kin) or in a header
/// a message echoes (`Authorization: Bearer ...`) has it written as REDACTED by the access log,
/// the server log and the crash report alike.
///
/// THREADS: pure functions. The `char*` forms allocate nothing and call nothing but memcpy: the
/// crash handler uses them inside a signal handler.

/// The replacement text for a secret.
inline constexpr std::string_view kRedacted = "REDACTED";

/// True if `name` (a query parameter name, ASCII case-insensitive) carries a secret.
bool isSecretParameter(std::string_view name) noexcept;

/// Copies a request target ("/a?token=x&b=1") into `out` with the value of every secret query
/// parameter replaced ("/a?token=REDACTED&b=1"). Writes at most `capacity` bytes (the rest is
/// cut) and returns how many; `changed` says whether anything was redacted.
size_t redactTarget(std::string_view target, char* out, size_t capacity, bool& changed) noexcept;
/// The same into a string; returns false (and leaves `out` alone) when nothing needs redacting,
/// the common case, which costs one scan for '?'.
bool redactTarget(std::string_view target, std::string& out);

/// Free text (a server log message): `name=value` and `name="value"` pairs with a secret name
/// (after a start, space, '?', '&', ';', ',', '"' or '\''), the credentials after an HTTP
/// authentication scheme (`Bearer ...`, `Basic ...`) and Serval API tokens (`svl_...`) lose
/// their values. Returns false (and leaves `out` alone) when nothing needs redacting.
bool redactText(std::string_view text, std::string& out);

} // namespace serval::util
