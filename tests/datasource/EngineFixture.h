#pragma once

#include "datasource/DataSource.h"
#include "support/PostgresServer.h"
#include "support/TempDir.h"

#include <gtest/gtest.h>
#include <string>

namespace serval::test {

/// A test run once per engine: SQLite in a temp dir, and PostgreSQL in a fresh database of the
/// process's private server (PostgresServer::shared). config() is what a server.xml binding
/// would give; each call returns the same database.
class EngineTest : public ::testing::TestWithParam<datasource::DataSourceType>
{
protected:
    void SetUp() override
    {
        if (!isPostgres()) return;
        std::string error;
        _server = PostgresServer::shared(error);
        ASSERT_NE(_server, nullptr) << error;
        _database = _server->createDatabase(error);
        ASSERT_FALSE(_database.empty()) << error;
    }

    bool isPostgres() const { return GetParam() == datasource::DataSourceType::Postgresql; }

    datasource::DataSourceConfig config(unsigned maxConnections = 4) const
    {
        datasource::DataSourceConfig c;
        c.name = "main";
        c.type = GetParam();
        c.maxConnections = maxConnections;
        if (isPostgres()) {
            c.url = _server->url(_database);
            c.passwordFile = _server->passwordFile();
        } else {
            c.url = _tmp.file("main.db");
        }
        return c;
    }

    /// Engine-specific spelling of the same thing (a blob column type, a sleeping query, ...).
    const char* pick(const char* sqlite, const char* postgres) const
    {
        return isPostgres() ? postgres : sqlite;
    }

    PostgresServer* server() const { return _server; }
    const TempDir& tmp() const { return _tmp; }

private:
    TempDir _tmp;
    PostgresServer* _server = nullptr;
    std::string _database;
};

/// "Sqlite" / "Postgresql" in test names.
inline std::string engineName(const ::testing::TestParamInfo<datasource::DataSourceType>& info)
{
    return info.param == datasource::DataSourceType::Postgresql ? "Postgresql" : "Sqlite";
}

#define SERVAL_BOTH_ENGINES(Suite)                                                                           \
    INSTANTIATE_TEST_SUITE_P(Engines, Suite,                                                                 \
                             ::testing::Values(::serval::datasource::DataSourceType::Sqlite,                 \
                                               ::serval::datasource::DataSourceType::Postgresql),            \
                             ::serval::test::engineName)

} // namespace serval::test
