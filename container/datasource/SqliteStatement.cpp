#include "datasource/SqliteStatement.h"

#include "datasource/SqliteConnection.h"

#include <sqlite3.h>

namespace serval::datasource {

SqliteStatement::SqliteStatement(SqliteConnection& connection, std::string sql, sqlite3_stmt* statement)
    : Statement(connection, std::move(sql), sqlite3_bind_parameter_count(statement)), _sqlite(connection),
      _statement(statement)
{}

SqliteStatement::~SqliteStatement()
{
    sqlite3_finalize(_statement);
}

DbStatus SqliteStatement::checked(int rc)
{
    return rc == SQLITE_OK ? DbStatus::Ok : _sqlite.failFromSqlite(rc);
}

// Binding after a run starts the next one: SQLite refuses to bind before sqlite3_reset.
DbStatus SqliteStatement::doBindNull(int index)
{
    if (_stepped) doReset();
    return checked(sqlite3_bind_null(_statement, index));
}

DbStatus SqliteStatement::doBindInt64(int index, int64_t value)
{
    if (_stepped) doReset();
    return checked(sqlite3_bind_int64(_statement, index, value));
}

DbStatus SqliteStatement::doBindDouble(int index, double value)
{
    if (_stepped) doReset();
    return checked(sqlite3_bind_double(_statement, index, value));
}

DbStatus SqliteStatement::doBindText(int index, std::string_view value)
{
    if (_stepped) doReset();
    // A null data pointer would bind NULL; an empty string must stay an empty string.
    const char* data = value.data() != nullptr ? value.data() : "";
    return checked(sqlite3_bind_text64(_statement, index, data, value.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
}

DbStatus SqliteStatement::doBindBlob(int index, std::string_view bytes)
{
    if (_stepped) doReset();
    const char* data = bytes.data() != nullptr ? bytes.data() : "";
    return checked(sqlite3_bind_blob64(_statement, index, data, bytes.size(), SQLITE_TRANSIENT));
}

StepResult SqliteStatement::doStep()
{
    _sqlite.armDeadline();
    _stepped = true;
    int rc = sqlite3_step(_statement);
    if (rc == SQLITE_ROW) {
        _hasRow = true;
        return StepResult::Row;
    }
    _hasRow = false;
    if (rc == SQLITE_DONE) {
        _changes = sqlite3_stmt_readonly(_statement) ? 0 : sqlite3_changes64(_sqlite.handle());
        return StepResult::Done;
    }
    _sqlite.failFromSqlite(rc);
    doReset();
    return StepResult::Error;
}

void SqliteStatement::doReset() noexcept
{
    sqlite3_reset(_statement);
    _hasRow = false;
    _stepped = false;
}

void SqliteStatement::doClearBindings() noexcept
{
    sqlite3_clear_bindings(_statement);
}

bool SqliteStatement::validColumn(int column) const noexcept
{
    return _hasRow && column >= 0 && column < sqlite3_column_count(_statement);
}

int SqliteStatement::columnCount() const noexcept
{
    return sqlite3_column_count(_statement);
}

std::string_view SqliteStatement::columnName(int column) const noexcept
{
    if (column < 0 || column >= sqlite3_column_count(_statement)) return {};
    const char* name = sqlite3_column_name(_statement, column);
    return name != nullptr ? std::string_view(name) : std::string_view();
}

ColumnType SqliteStatement::columnType(int column) const noexcept
{
    if (!validColumn(column)) return ColumnType::Null;
    switch (sqlite3_column_type(_statement, column)) {
    case SQLITE_INTEGER:
        return ColumnType::Int64;
    case SQLITE_FLOAT:
        return ColumnType::Double;
    case SQLITE_TEXT:
        return ColumnType::Text;
    case SQLITE_BLOB:
        return ColumnType::Blob;
    default:
        return ColumnType::Null;
    }
}

int64_t SqliteStatement::columnInt64(int column) const noexcept
{
    return validColumn(column) ? sqlite3_column_int64(_statement, column) : 0;
}

double SqliteStatement::columnDouble(int column) const noexcept
{
    return validColumn(column) ? sqlite3_column_double(_statement, column) : 0.0;
}

std::string_view SqliteStatement::columnText(int column) const noexcept
{
    if (!validColumn(column)) return {};
    const unsigned char* text = sqlite3_column_text(_statement, column);
    if (text == nullptr) return {};
    return {reinterpret_cast<const char*>(text),
            static_cast<size_t>(sqlite3_column_bytes(_statement, column))};
}

std::string_view SqliteStatement::columnBlob(int column) const noexcept
{
    if (!validColumn(column)) return {};
    const void* blob = sqlite3_column_blob(_statement, column);
    if (blob == nullptr) return {};
    return {static_cast<const char*>(blob), static_cast<size_t>(sqlite3_column_bytes(_statement, column))};
}

} // namespace serval::datasource
