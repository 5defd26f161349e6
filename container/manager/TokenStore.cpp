#include "manager/TokenStore.h"

#include "realm/Secrets.h"

#include <sqlite3.h>
#include <stdexcept>

namespace serval::manager {

namespace {

constexpr const char* Prefix = "svl_";

class Statement
{
public:
    Statement(sqlite3* db, const char* sql)
    {
        if (sqlite3_prepare_v2(db, sql, -1, &_stmt, nullptr) != SQLITE_OK) {
            throw std::runtime_error(std::string("token store: ") + sqlite3_errmsg(db));
        }
    }
    ~Statement() { sqlite3_finalize(_stmt); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    sqlite3_stmt* get() const noexcept { return _stmt; }
    void bind(int index, const std::string& text)
    {
        sqlite3_bind_text(_stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    }
    std::string text(int column) const
    {
        auto* p = sqlite3_column_text(_stmt, column);
        return p ? reinterpret_cast<const char*>(p) : "";
    }

private:
    sqlite3_stmt* _stmt = nullptr;
};

ApiToken readRow(const Statement& s)
{
    ApiToken token;
    token.id = sqlite3_column_int64(s.get(), 0);
    token.name = s.text(1);
    token.user = s.text(2);
    token.created = s.text(3);
    token.lastUsed = s.text(4);
    return token;
}

} // namespace

TokenStore::TokenStore(const std::string& databasePath)
{
    if (sqlite3_open_v2(databasePath.c_str(), &_db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
        std::string message = _db ? sqlite3_errmsg(_db) : "out of memory";
        sqlite3_close(_db);
        _db = nullptr;
        throw std::runtime_error("cannot open " + databasePath + ": " + message);
    }
    sqlite3_busy_timeout(_db, 5000);
    char* error = nullptr;
    const char* schema =
        "PRAGMA journal_mode=WAL;"
        "CREATE TABLE IF NOT EXISTS manager_tokens ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, user TEXT NOT NULL,"
        " hash TEXT NOT NULL UNIQUE, created TEXT NOT NULL, last_used TEXT NOT NULL DEFAULT '');";
    if (sqlite3_exec(_db, schema, nullptr, nullptr, &error) != SQLITE_OK) {
        std::string message = error ? error : "unknown error";
        sqlite3_free(error);
        sqlite3_close(_db);
        _db = nullptr;
        throw std::runtime_error("cannot create the token table in " + databasePath + ": " + message);
    }
}

TokenStore::~TokenStore()
{
    sqlite3_close(_db);
}

std::string TokenStore::create(const std::string& name, const std::string& user, ApiToken* created)
{
    std::string secret = Prefix + realm::randomToken(32);
    std::lock_guard<std::mutex> lock(_mutex);
    Statement s(_db, "INSERT INTO manager_tokens(name, user, hash, created) "
                     "VALUES(?, ?, ?, strftime('%Y-%m-%dT%H:%M:%SZ','now'))");
    s.bind(1, name);
    s.bind(2, user);
    s.bind(3, realm::sha256Hex(secret));
    if (sqlite3_step(s.get()) != SQLITE_DONE)
        throw std::runtime_error(std::string("token store: ") + sqlite3_errmsg(_db));
    if (created) {
        Statement q(
            _db,
            "SELECT id, name, user, created, last_used FROM manager_tokens WHERE id = last_insert_rowid()");
        if (sqlite3_step(q.get()) == SQLITE_ROW) *created = readRow(q);
    }
    return secret;
}

std::optional<ApiToken> TokenStore::verify(const std::string& secret)
{
    if (secret.compare(0, 4, Prefix) != 0 || secret.size() > 128) return std::nullopt;
    // Looked up by the hash of the presented secret: the comparison happens on digests of
    // secrets, so timing reveals nothing usable about stored tokens.
    std::string hash = realm::sha256Hex(secret);
    std::lock_guard<std::mutex> lock(_mutex);
    Statement s(_db, "SELECT id, name, user, created, last_used, hash FROM manager_tokens WHERE hash = ?");
    s.bind(1, hash);
    if (sqlite3_step(s.get()) != SQLITE_ROW) return std::nullopt;
    if (!realm::constantTimeEquals(s.text(5), hash)) return std::nullopt;
    ApiToken token = readRow(s);
    Statement u(_db,
                "UPDATE manager_tokens SET last_used = strftime('%Y-%m-%dT%H:%M:%SZ','now') WHERE id = ?");
    sqlite3_bind_int64(u.get(), 1, token.id);
    sqlite3_step(u.get());
    return token;
}

bool TokenStore::revoke(long long id)
{
    std::lock_guard<std::mutex> lock(_mutex);
    Statement s(_db, "DELETE FROM manager_tokens WHERE id = ?");
    sqlite3_bind_int64(s.get(), 1, id);
    sqlite3_step(s.get());
    return sqlite3_changes(_db) > 0;
}

std::vector<ApiToken> TokenStore::list()
{
    std::lock_guard<std::mutex> lock(_mutex);
    Statement s(_db, "SELECT id, name, user, created, last_used FROM manager_tokens ORDER BY id");
    std::vector<ApiToken> tokens;
    while (sqlite3_step(s.get()) == SQLITE_ROW)
        tokens.push_back(readRow(s));
    return tokens;
}

} // namespace serval::manager
