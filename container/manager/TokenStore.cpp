#include "manager/TokenStore.h"

#include "realm/Secrets.h"

namespace serval::manager {

namespace {

constexpr const char* Prefix = "svl_";

using registry::Statement;

ApiToken readRow(const Statement& s)
{
    ApiToken token;
    token.id = s.int64At(0);
    token.name = s.textAt(1);
    token.user = s.textAt(2);
    token.created = s.textAt(3);
    token.lastUsed = s.textAt(4);
    return token;
}

} // namespace

TokenStore::TokenStore(const std::string& databasePath) : _db(databasePath)
{
    _db.exec("PRAGMA journal_mode=WAL;"
             "CREATE TABLE IF NOT EXISTS manager_tokens ("
             " id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, user TEXT NOT NULL,"
             " hash TEXT NOT NULL UNIQUE, created TEXT NOT NULL, last_used TEXT NOT NULL DEFAULT '');");
}

std::string TokenStore::create(const std::string& name, const std::string& user, ApiToken* created)
{
    std::string secret = Prefix + realm::randomToken(32);
    std::lock_guard<std::mutex> lock(_mutex);
    Statement(_db, "INSERT INTO manager_tokens(name, user, hash, created) "
                   "VALUES(?, ?, ?, strftime('%Y-%m-%dT%H:%M:%SZ','now'))")
        .bind(1, name)
        .bind(2, user)
        .bind(3, realm::sha256Hex(secret))
        .run();
    if (created) {
        Statement q(
            _db,
            "SELECT id, name, user, created, last_used FROM manager_tokens WHERE id = last_insert_rowid()");
        if (q.step()) *created = readRow(q);
    }
    return secret;
}

std::optional<ApiToken> TokenStore::lookup(const std::string& secret, bool recordUse)
{
    if (secret.compare(0, 4, Prefix) != 0 || secret.size() > 128) return std::nullopt;
    // Looked up by the hash of the presented secret: the comparison happens on digests of
    // secrets, so timing reveals nothing usable about stored tokens.
    std::string hash = realm::sha256Hex(secret);
    std::lock_guard<std::mutex> lock(_mutex);
    ApiToken token;
    {
        // Finished before the UPDATE: a write that follows a still-open read on the same
        // connection cannot upgrade once another connection (the deployer) has written since
        // the read began (SQLITE_BUSY_SNAPSHOT, "database is locked", and busy_timeout does
        // not wait for it).
        Statement s(_db,
                    "SELECT id, name, user, created, last_used, hash FROM manager_tokens WHERE hash = ?");
        s.bind(1, hash);
        if (!s.step()) return std::nullopt;
        if (!realm::constantTimeEquals(s.textAt(5), hash)) return std::nullopt;
        token = readRow(s);
    }
    if (!recordUse) return token;
    Statement(_db, "UPDATE manager_tokens SET last_used = strftime('%Y-%m-%dT%H:%M:%SZ','now') WHERE id = ?")
        .bind(1, static_cast<int64_t>(token.id))
        .run();
    return token;
}

std::optional<ApiToken> TokenStore::verify(const std::string& secret)
{
    return lookup(secret, true);
}

std::optional<ApiToken> TokenStore::find(const std::string& secret)
{
    return lookup(secret, false);
}

bool TokenStore::revoke(long long id)
{
    std::lock_guard<std::mutex> lock(_mutex);
    Statement(_db, "DELETE FROM manager_tokens WHERE id = ?").bind(1, static_cast<int64_t>(id)).run();
    return _db.changes() > 0;
}

std::vector<ApiToken> TokenStore::list()
{
    std::lock_guard<std::mutex> lock(_mutex);
    Statement s(_db, "SELECT id, name, user, created, last_used FROM manager_tokens ORDER BY id");
    std::vector<ApiToken> tokens;
    while (s.step())
        tokens.push_back(readRow(s));
    return tokens;
}

} // namespace serval::manager
