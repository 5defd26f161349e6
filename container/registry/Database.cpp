#include "registry/Database.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace serval::registry {

namespace {

/// The server's own databases (the registry, sessions) hold session ids, API token hashes and
/// crash records: readable by the server's user only. A new file is made 0600 before SQLite
/// opens it (its -wal and -shm then get the same mode: SQLite copies the database's); one an
/// older version left group- or world-readable is tightened, its -wal and -shm with it.
void keepPrivate(const std::string& path) noexcept
{
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        ::close(fd); // an empty file is an empty database
        return;
    }
    for (const char* suffix : {"", "-wal", "-shm"}) {
        std::string file = path + suffix;
        struct stat st;
        if (::stat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0)
            ::chmod(file.c_str(), st.st_mode & 0700);
    }
}

} // namespace

Database::Database(const std::string& path, std::string_view what) : _path(path), _what(what)
{
    if (path != ":memory:" && !path.empty()) keepPrivate(path);
    int rc = sqlite3_open_v2(path.c_str(), &_db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        std::string why = _db ? sqlite3_errmsg(_db) : sqlite3_errstr(rc);
        sqlite3_close(_db);
        _db = nullptr;
        throw DatabaseError("cannot open the " + _what + " " + path + ": " + why +
                            "; check that the data directory exists and is writable");
    }
    sqlite3_extended_result_codes(_db, 1);
    sqlite3_busy_timeout(_db, 5000);
}

Database::~Database()
{
    if (_db != nullptr) sqlite3_close_v2(_db);
}

void Database::fail(std::string_view what)
{
    throw DatabaseError(_what + " " + _path + ": " + std::string(what) + ": " + sqlite3_errmsg(_db));
}

void Database::exec(std::string_view sql)
{
    std::string text(sql);
    char* message = nullptr;
    if (sqlite3_exec(_db, text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
        std::string why = message ? message : sqlite3_errmsg(_db);
        sqlite3_free(message);
        throw DatabaseError(_what + " " + _path + ": " + why + " (in: " + text.substr(0, 80) + ")");
    }
}

int Database::changes() const noexcept
{
    return sqlite3_changes(_db);
}

int64_t Database::queryInt(std::string_view sql)
{
    Statement st(*this, sql);
    return st.step() ? st.int64At(0) : 0;
}

Statement::Statement(Database& db, std::string_view sql) : _db(db)
{
    if (sqlite3_prepare_v2(db.handle(), sql.data(), static_cast<int>(sql.size()), &_stmt, nullptr) !=
        SQLITE_OK) {
        db.fail("cannot prepare \"" + std::string(sql.substr(0, 80)) + "\"");
    }
}

Statement::Statement(Statement&& other) noexcept : _db(other._db), _stmt(std::exchange(other._stmt, nullptr))
{}

Statement::~Statement()
{
    if (_stmt != nullptr) sqlite3_finalize(_stmt);
}

Statement& Statement::bind(int index, int64_t value)
{
    if (sqlite3_bind_int64(_stmt, index, value) != SQLITE_OK) _db.fail("bind");
    return *this;
}

Statement& Statement::bind(int index, std::string_view value)
{
    // A default string_view has data() == nullptr, which SQLite would bind as NULL: bind "".
    const char* data = value.data() != nullptr ? value.data() : "";
    if (sqlite3_bind_text(_stmt, index, data, static_cast<int>(value.size()), SQLITE_TRANSIENT) !=
        SQLITE_OK) {
        _db.fail("bind");
    }
    return *this;
}

Statement& Statement::bindBlob(int index, std::string_view value)
{
    // A zero-length blob from a null pointer would bind NULL (as for text above).
    const char* data = value.data() != nullptr ? value.data() : "";
    if (sqlite3_bind_blob(_stmt, index, data, static_cast<int>(value.size()), SQLITE_TRANSIENT) !=
        SQLITE_OK) {
        _db.fail("bind");
    }
    return *this;
}

Statement& Statement::bindNull(int index)
{
    if (sqlite3_bind_null(_stmt, index) != SQLITE_OK) _db.fail("bind");
    return *this;
}

bool Statement::step()
{
    int rc = sqlite3_step(_stmt);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    _db.fail(std::string("step \"") + std::string(sqlite3_sql(_stmt)).substr(0, 80) + "\"");
}

void Statement::run()
{
    while (step()) {
    }
    reset();
}

void Statement::reset()
{
    sqlite3_reset(_stmt);
    sqlite3_clear_bindings(_stmt);
}

int64_t Statement::int64At(int column) const
{
    return sqlite3_column_int64(_stmt, column);
}

std::string Statement::textAt(int column) const
{
    const unsigned char* text = sqlite3_column_text(_stmt, column);
    int size = sqlite3_column_bytes(_stmt, column);
    return text ? std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size)) : std::string();
}

std::string Statement::blobAt(int column) const
{
    const void* data = sqlite3_column_blob(_stmt, column);
    int size = sqlite3_column_bytes(_stmt, column);
    return data ? std::string(static_cast<const char*>(data), static_cast<size_t>(size)) : std::string();
}

bool Statement::isNullAt(int column) const
{
    return sqlite3_column_type(_stmt, column) == SQLITE_NULL;
}

Transaction::Transaction(Database& db) : _db(db)
{
    _db.exec("BEGIN IMMEDIATE");
}

Transaction::~Transaction()
{
    if (_done) return;
    try {
        _db.exec("ROLLBACK");
    } catch (...) {
        // Nothing to do: a failed rollback leaves SQLite to roll back when the connection closes.
    }
}

void Transaction::commit()
{
    _db.exec("COMMIT");
    _done = true;
}

} // namespace serval::registry
