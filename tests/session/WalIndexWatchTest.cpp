// WalIndexWatch against real SQLite: the wal-index header it reads from the -shm changes with
// every commit of any connection and stays put while connections only read.
#include "session/WalIndexWatch.h"

#include "support/SqliteQuery.h"
#include "support/TempDir.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <string>

using serval::session::WalIndexWatch;
using serval::test::sqliteQuery;
using serval::test::TempDir;

namespace {

/// A connection kept open for the whole test (with it the -shm stays): statements only.
class Writer
{
public:
    explicit Writer(const std::string& path) { sqlite3_open(path.c_str(), &_db); }
    ~Writer() { sqlite3_close(_db); }
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    int exec(const std::string& sql) { return sqlite3_exec(_db, sql.c_str(), nullptr, nullptr, nullptr); }

private:
    sqlite3* _db = nullptr;
};

} // namespace

TEST(WalIndexWatchTest, NoShmFileIsNeverAValidHeader)
{
    TempDir dir;
    WalIndexWatch watch(dir.file("absent.db"));
    EXPECT_FALSE(watch.current().valid);
    EXPECT_FALSE(watch.current().sameAs(watch.current())); // "changed": the caller asks SQLite
}

TEST(WalIndexWatchTest, ReadsLeaveTheHeaderAndEveryCommitChangesIt)
{
    TempDir dir;
    std::string path = dir.file("s.db");
    Writer writer(path);
    ASSERT_EQ(writer.exec("PRAGMA journal_mode=WAL"), SQLITE_OK);
    ASSERT_EQ(sqliteQuery(path, "PRAGMA journal_mode"), "wal");
    ASSERT_EQ(writer.exec("CREATE TABLE t(v TEXT)"), SQLITE_OK);
    WalIndexWatch watch(path);
    WalIndexWatch::Header before = watch.current();
    ASSERT_TRUE(before.valid);
    for (int i = 0; i < 3; ++i)
        ASSERT_EQ(sqliteQuery(path, "SELECT count(*) FROM t"), "0"); // another connection's read
    EXPECT_TRUE(watch.current().sameAs(before)) << "a read transaction is no commit";
    for (int i = 0; i < 50; ++i) {
        WalIndexWatch::Header last = watch.current();
        ASSERT_EQ(writer.exec("INSERT INTO t VALUES('" + std::to_string(i) + "')"), SQLITE_OK);
        EXPECT_FALSE(watch.current().sameAs(last)) << "commit " << i;
    }
    // A checkpoint that empties the WAL, then a commit that starts it over (new salts, frame
    // numbers from 1 again): still a new header.
    WalIndexWatch::Header full = watch.current();
    ASSERT_EQ(writer.exec("PRAGMA wal_checkpoint(TRUNCATE)"), SQLITE_OK);
    WalIndexWatch::Header checkpointed = watch.current();
    ASSERT_EQ(writer.exec("INSERT INTO t VALUES('again')"), SQLITE_OK);
    WalIndexWatch::Header restarted = watch.current();
    EXPECT_FALSE(restarted.sameAs(full));
    EXPECT_FALSE(restarted.sameAs(checkpointed));
    EXPECT_EQ(sqliteQuery(path, "SELECT count(*) FROM t"), "51");
}
