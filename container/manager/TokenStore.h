#pragma once

#include "registry/Database.h"

#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace serval::manager {

/// A bearer token as listed in the page (never the secret itself).
struct ApiToken
{
    long long id = 0;
    std::string name;
    std::string user;    ///< who created it; the token acts with that user's roles
    std::string created; ///< ISO 8601 UTC
    std::string lastUsed;
};

/// API tokens for scripts (role manager-script), stored as SHA-256 hashes in SQLite (the
/// tokens carry 256 random bits, so a fast hash is enough; only the hash is stored, the secret
/// is shown once). The table `manager_tokens` lives in the given database file (by default the
/// registry's data/serval.db) under its own name, independent of the registry's migrations.
///
/// THREADS: all methods are safe from any thread (one connection behind a mutex).
class TokenStore
{
public:
    /// Opens (creating) the database and the table. Throws registry::DatabaseError (a
    /// std::runtime_error) naming the file.
    explicit TokenStore(const std::string& databasePath);

    /// Creates a token; returns the secret ("svl_..."), shown once.
    std::string create(const std::string& name, const std::string& user, ApiToken* created = nullptr);
    /// The token's row for a presented secret, or nullopt. Updates last_used.
    std::optional<ApiToken> verify(const std::string& secret);
    /// The same without recording the use: a read only (the manager's head check, on I/O
    /// threads, before the request is handled and verify()'d).
    std::optional<ApiToken> find(const std::string& secret);
    bool revoke(long long id);
    std::vector<ApiToken> list();

private:
    std::optional<ApiToken> lookup(const std::string& secret, bool recordUse);

    std::mutex _mutex;
    registry::Database _db; ///< behind _mutex
};

} // namespace serval::manager
