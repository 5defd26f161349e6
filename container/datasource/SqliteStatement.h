#pragma once

#include "datasource/Statement.h"

struct sqlite3_stmt;

namespace serval::datasource {

class SqliteConnection;

/// A sqlite3_stmt (finalized on destruction). Created by SqliteConnection::prepareNew; SQLite
/// takes `?` natively and re-prepares by itself when a migration changed the schema.
class SqliteStatement final : public Statement
{
public:
    SqliteStatement(SqliteConnection& connection, std::string sql, sqlite3_stmt* statement);
    ~SqliteStatement() override;

    int columnCount() const noexcept override;
    std::string_view columnName(int column) const noexcept override;
    ColumnType columnType(int column) const noexcept override;
    int64_t columnInt64(int column) const noexcept override;
    double columnDouble(int column) const noexcept override;
    std::string_view columnText(int column) const noexcept override;
    std::string_view columnBlob(int column) const noexcept override;
    int64_t changes() const noexcept override { return _changes; }

private:
    DbStatus doBindNull(int index) override;
    DbStatus doBindInt64(int index, int64_t value) override;
    DbStatus doBindDouble(int index, double value) override;
    DbStatus doBindText(int index, std::string_view value) override;
    DbStatus doBindBlob(int index, std::string_view bytes) override;
    StepResult doStep() override;
    void doReset() noexcept override;
    void doClearBindings() noexcept override;
    DbStatus checked(int rc);
    bool validColumn(int column) const noexcept;

    SqliteConnection& _sqlite;
    sqlite3_stmt* _statement;
    bool _hasRow = false;
    bool _stepped = false; ///< stepped since the last reset: SQLite binds only after a reset
    int64_t _changes = 0;
};

} // namespace serval::datasource
