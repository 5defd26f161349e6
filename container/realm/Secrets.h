#pragma once

// Small cryptographic helpers shared by the Realm and the manager: random secrets from the
// kernel, constant-time comparison, SHA-256, base64url. All functions are thread-safe.

#include <cstddef>
#include <string>
#include <string_view>

namespace serval::realm {

/// `count` bytes from getrandom(2). Throws std::runtime_error if the kernel refuses.
std::string randomBytes(size_t count);
/// A random secret of `bytes` bytes, base64url without padding (cookie, header and URL safe).
std::string randomToken(size_t bytes = 32);
/// Compares without an early exit, so timing does not reveal where two secrets differ.
/// (The length is not secret: every caller compares fixed-size digests or tokens.)
bool constantTimeEquals(std::string_view a, std::string_view b) noexcept;
/// HMAC-SHA256 of `data` under `key`: 32 raw bytes.
std::string hmacSha256(std::string_view key, std::string_view data);
/// SHA-256 of `data`, lower-case hex.
std::string sha256Hex(std::string_view data);
std::string base64Encode(std::string_view data);
/// Returns false on malformed input.
bool base64Decode(std::string_view text, std::string& out);

} // namespace serval::realm
