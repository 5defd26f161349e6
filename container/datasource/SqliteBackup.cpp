#include "datasource/SqliteBackup.h"

#include "datasource/DbError.h"
#include "util/FileDescriptor.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

namespace serval::datasource {

namespace {

/// Closes the handle on every path.
struct SqliteHandle
{
    sqlite3* db = nullptr;
    ~SqliteHandle() { sqlite3_close_v2(db); }
};

std::string directoryOf(const std::string& path)
{
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

void syncPath(const std::string& path, int flags, const std::string& what)
{
    util::FileDescriptor fd(::open(path.c_str(), flags | O_CLOEXEC));
    if (!fd || ::fsync(fd.get()) != 0) {
        throw DataSourceError("backup: cannot sync " + what + " " + path + ": " + std::strerror(errno));
    }
}

} // namespace

void backupSqlite(const std::string& source, const std::string& destination)
{
    SqliteHandle from;
    if (sqlite3_open_v2(source.c_str(), &from.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
        SQLITE_OK) {
        throw DataSourceError("backup: cannot open the database " + source + ": " +
                              (from.db != nullptr ? sqlite3_errmsg(from.db) : "out of memory") +
                              "; has the app used its data source yet?");
    }
    sqlite3_busy_timeout(from.db, 5000);

    std::string partial = destination + ".partial";
    ::unlink(partial.c_str());
    {
        SqliteHandle to;
        if (sqlite3_open_v2(partial.c_str(), &to.db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                            nullptr) != SQLITE_OK) {
            throw DataSourceError("backup: cannot create " + partial + ": " +
                                  (to.db != nullptr ? sqlite3_errmsg(to.db) : "out of memory"));
        }
        sqlite3_backup* backup = sqlite3_backup_init(to.db, "main", from.db, "main");
        if (backup == nullptr) {
            std::string why = sqlite3_errmsg(to.db);
            ::unlink(partial.c_str());
            throw DataSourceError("backup: cannot start copying " + source + ": " + why);
        }
        // -1: every page in one step, so the copy is one snapshot. BUSY/LOCKED only while
        // another connection holds an exclusive lock (never in WAL mode, but a rollback-journal
        // database may still be converting): sqlite3_backup_step already waited busy_timeout.
        int rc = sqlite3_backup_step(backup, -1);
        sqlite3_backup_finish(backup);
        if (rc != SQLITE_DONE) {
            std::string why = sqlite3_errstr(rc);
            ::unlink(partial.c_str());
            throw DataSourceError("backup: copying " + source + " failed: " + why);
        }
        // A standalone file: no -wal beside it to carry along.
        sqlite3_exec(to.db, "PRAGMA journal_mode=DELETE", nullptr, nullptr, nullptr);
    }
    syncPath(partial, O_RDONLY, "the copy");
    if (::rename(partial.c_str(), destination.c_str()) != 0) {
        int error = errno;
        ::unlink(partial.c_str());
        throw DataSourceError("backup: cannot rename " + partial + " to " + destination + ": " +
                              std::strerror(error));
    }
    syncPath(directoryOf(destination), O_RDONLY | O_DIRECTORY, "the directory");
}

} // namespace serval::datasource
