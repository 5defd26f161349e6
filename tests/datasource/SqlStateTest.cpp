#include "datasource/SqlState.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

using serval::datasource::sqliteSqlState;

TEST(SqlStateTest, ConstraintViolationsMapToClass23)
{
    EXPECT_EQ(sqliteSqlState(SQLITE_CONSTRAINT_UNIQUE, ""), "23505");
    EXPECT_EQ(sqliteSqlState(SQLITE_CONSTRAINT_PRIMARYKEY, ""), "23505");
    EXPECT_EQ(sqliteSqlState(SQLITE_CONSTRAINT_FOREIGNKEY, ""), "23503");
    EXPECT_EQ(sqliteSqlState(SQLITE_CONSTRAINT_NOTNULL, ""), "23502");
    EXPECT_EQ(sqliteSqlState(SQLITE_CONSTRAINT_CHECK, ""), "23514");
    EXPECT_EQ(sqliteSqlState(SQLITE_CONSTRAINT_TRIGGER, ""), "23000");
}

TEST(SqlStateTest, GenericErrorsAreReadFromTheMessage)
{
    EXPECT_EQ(sqliteSqlState(SQLITE_ERROR, "no such table: fortune"), "42P01");
    EXPECT_EQ(sqliteSqlState(SQLITE_ERROR, "no such column: x"), "42703");
    EXPECT_EQ(sqliteSqlState(SQLITE_ERROR, "near \"selec\": syntax error"), "42601");
    EXPECT_EQ(sqliteSqlState(SQLITE_ERROR, "table a already exists"), "42P07");
    EXPECT_EQ(sqliteSqlState(SQLITE_ERROR, "something else"), "42000");
}

TEST(SqlStateTest, OperationalCodesMapToTheirClasses)
{
    EXPECT_EQ(sqliteSqlState(SQLITE_BUSY, ""), "55P03");
    EXPECT_EQ(sqliteSqlState(SQLITE_BUSY_SNAPSHOT, ""), "40001");
    EXPECT_EQ(sqliteSqlState(SQLITE_INTERRUPT, ""), "57014");
    EXPECT_EQ(sqliteSqlState(SQLITE_FULL, ""), "53100");
    EXPECT_EQ(sqliteSqlState(SQLITE_IOERR_WRITE, ""), "58030");
    EXPECT_EQ(sqliteSqlState(SQLITE_CORRUPT, ""), "XX001");
    EXPECT_EQ(sqliteSqlState(SQLITE_READONLY, ""), "25006");
    EXPECT_EQ(sqliteSqlState(SQLITE_CANTOPEN, ""), "08001");
    EXPECT_EQ(sqliteSqlState(12345, ""), "HY000");
}
