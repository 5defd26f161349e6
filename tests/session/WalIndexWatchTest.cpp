// WalIndexWatch against real SQLite: the wal-index header it reads from the -shm changes with
// every commit of any connection and stays put while connections only read.
#include "session/WalIndexWatch.h"

#include "support/TempDir.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <string>

using serval::session::WalIndexWatch;
using serval::test::TempDir;

namespace {

class Db
{
public:
    explicit Db(const std::string& path) { sqlite3_open(path.c_str(), &_db); }
    ~Db() { sqlite3_close(_db); }
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;
    int exec(const std::string& sql) { return sqlite3_exec(_db, sql.c_str(), nullptr, nullptr, nullptr); }
    std::string scalar(const std::string& sql)
    {
        sqlite3_stmt* st = nullptr;
        sqlite3_prepare_v2(_db, sql.c_str(), -1, &st, nullptr);
        std::string out;
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != nullptr)
            out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        return out;
    }

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
    Db writer(path);
    ASSERT_EQ(writer.scalar("PRAGMA journal_mode=WAL"), "wal");
    ASSERT_EQ(writer.exec("CREATE TABLE t(v TEXT)"), SQLITE_OK);
    Db reader(path);
    WalIndexWatch watch(path);
    WalIndexWatch::Header before = watch.current();
    ASSERT_TRUE(before.valid);
    for (int i = 0; i < 3; ++i)
        ASSERT_EQ(reader.scalar("SELECT count(*) FROM t"), "0");
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
    EXPECT_EQ(reader.scalar("SELECT count(*) FROM t"), "51");
}
