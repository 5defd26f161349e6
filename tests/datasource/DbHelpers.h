#pragma once

#include "datasource/Connection.h"
#include "datasource/DataSource.h"

#include <gtest/gtest.h>
#include <string>

namespace serval::test {

/// A connection from `source`, failing the test if none can be had.
inline datasource::PooledConnection lease(datasource::DataSource& source)
{
    datasource::PooledConnection out;
    datasource::DbError error;
    EXPECT_EQ(source.acquire(out, error), datasource::DbStatus::Ok) << error.describe();
    return out;
}

/// Runs `sql` with exec(), failing the test with the database's message.
inline void execOk(datasource::Connection& connection, const std::string& sql)
{
    EXPECT_EQ(connection.exec(sql), datasource::DbStatus::Ok)
        << sql << ": " << connection.lastError().describe();
}

/// The first column of the first row of `sql` as an integer (-1 if it failed or had no row).
inline int64_t scalar(datasource::Connection& connection, const std::string& sql)
{
    datasource::Statement* statement = connection.prepare(sql);
    if (statement == nullptr) {
        ADD_FAILURE() << sql << ": " << connection.lastError().describe();
        return -1;
    }
    int64_t value = -1;
    if (statement->step() == datasource::StepResult::Row) {
        value = statement->columnInt64(0);
    } else {
        ADD_FAILURE() << sql << ": no row: " << connection.lastError().describe();
    }
    connection.finish(statement);
    return value;
}

} // namespace serval::test
