#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace serval::realm {

/// A stored password: PBKDF2-HMAC-SHA256 (Poco::PBKDF2Engine) with a per-user random salt.
///
/// Iterations: 210,000 by default for new hashes (OWASP's 2023 figure for PBKDF2-HMAC-SHA256).
/// The count is stored with each hash, so it can be raised later without invalidating
/// existing users, and tests can use small counts.
struct PasswordHash
{
    static constexpr unsigned DefaultIterations = 210000;
    static constexpr unsigned MinIterations = 1000;
    static constexpr size_t SaltBytes = 16;
    static constexpr size_t KeyBytes = 32;

    std::string salt; ///< raw bytes
    std::string hash; ///< raw derived key (KeyBytes)
    unsigned iterations = DefaultIterations;

    /// A new hash with a fresh random salt. Control thread: this takes a noticeable fraction
    /// of a second at the default count, by design.
    static PasswordHash create(std::string_view password, unsigned iterations = DefaultIterations);
    /// Raw PBKDF2-HMAC-SHA256 derived key.
    static std::string derive(std::string_view password, std::string_view salt, unsigned iterations,
                              size_t keyBytes = KeyBytes);
    /// Derives the key for `password` and compares it in constant time.
    bool verify(std::string_view password) const;

    /// One self-describing ASCII string, "pbkdf2-sha256$ITERATIONS$SALT$HASH" (base64), for
    /// apps that store a hash themselves (the ABI's security_hash_password).
    std::string encode() const;
    /// The inverse of encode(); nullopt for anything else (or fewer than MinIterations).
    static std::optional<PasswordHash> decode(std::string_view text);
};

} // namespace serval::realm
