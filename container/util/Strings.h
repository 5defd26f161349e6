#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace serval::util {

inline char asciiLower(char c) noexcept
{
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) noexcept;
bool startsWithIgnoreCase(std::string_view text, std::string_view prefix) noexcept;
bool startsWith(std::string_view text, std::string_view prefix) noexcept;
bool endsWith(std::string_view text, std::string_view suffix) noexcept;
std::string toLower(std::string_view text);
std::string_view trim(std::string_view text) noexcept; // spaces and tabs (HTTP OWS)

/// Splits on `sep`, trimming OWS around each piece; empty pieces are dropped.
std::vector<std::string_view> splitList(std::string_view text, char sep);

/// Strict unsigned decimal: digits only, no sign, no spaces, no overflow.
std::optional<uint64_t> parseUnsigned(std::string_view text) noexcept;

/// Decodes %XX escapes once. Returns nullopt for a malformed escape. '+' is kept as is
/// unless `plusAsSpace` (form encoding).
std::optional<std::string> percentDecode(std::string_view text, bool plusAsSpace = false);

/// Escapes &, <, >, ", ' for HTML text and attribute values.
std::string htmlEscape(std::string_view text);

/// Escapes a string for a JSON string literal (without the quotes).
std::string jsonEscape(std::string_view text);

/// "SIGSEGV" for 11 (sigabbrev_np), "signal 77" when it has no name: how a child's death is
/// named in messages (the preflight, a worker's crash record).
std::string signalName(int sig);

} // namespace serval::util
