#pragma once

#include "datasource/DbError.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace serval::datasource {

class Connection;

/// The type of one column value in the current row (SQLite: of this value; PostgreSQL: of the
/// column, NULL per value). PostgreSQL's smallint/integer/bigint/oid/boolean read as Int64,
/// real/double precision/numeric as Double, bytea as Blob, everything else as Text.
enum class ColumnType
{
    Null,
    Int64,
    Double,
    Text,
    Blob
};

enum class StepResult
{
    Row,  ///< a row is available through the column getters
    Done, ///< the statement has finished; changes() tells how many rows it changed
    Error ///< it failed: the connection's lastError() says why
};

/// One prepared statement, engine-specific below this interface. Owned by its Connection, which
/// caches it by SQL text; obtained with Connection::prepare() and handed back with finish().
/// Used by the one thread holding the connection.
///
/// Parameters are `?` in the SQL on both engines, bound by position from 1 (SQLite's and JDBC's
/// numbering); columns are numbered from 0. An unbound parameter is NULL. Values bound are copied.
/// Column getters convert like SQLite does (NULL reads as 0 or "", text parses as a number where
/// it can); a column index out of range reads as NULL. Views returned by columnText/columnBlob
/// are valid until the next step(), reset() or finish().
class Statement
{
public:
    virtual ~Statement() = default;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    /// The SQL as the app wrote it (with `?`).
    const std::string& sql() const noexcept { return _sql; }
    int parameterCount() const noexcept { return _parameterCount; }
    Connection& connection() noexcept { return _connection; }

    DbStatus bindNull(int index);
    DbStatus bindInt64(int index, int64_t value);
    DbStatus bindDouble(int index, double value);
    DbStatus bindText(int index, std::string_view value);
    DbStatus bindBlob(int index, std::string_view bytes);

    /// Runs the statement on the first call after binding, then moves to the next row. Counts
    /// the execution's time and failure in the data source's stats.
    StepResult step();
    /// Ends the current execution (rows not read are dropped); bindings stay for the next run.
    void reset();
    /// Sets every parameter back to NULL.
    void clearBindings();

    virtual int columnCount() const noexcept = 0;
    virtual std::string_view columnName(int column) const noexcept = 0;
    virtual ColumnType columnType(int column) const noexcept = 0;
    virtual int64_t columnInt64(int column) const noexcept = 0;
    virtual double columnDouble(int column) const noexcept = 0;
    virtual std::string_view columnText(int column) const noexcept = 0;
    virtual std::string_view columnBlob(int column) const noexcept = 0;
    /// Rows inserted, updated or deleted by the execution that just finished.
    virtual int64_t changes() const noexcept = 0;

protected:
    Statement(Connection& connection, std::string sql, int parameterCount);

    virtual DbStatus doBindNull(int index) = 0;
    virtual DbStatus doBindInt64(int index, int64_t value) = 0;
    virtual DbStatus doBindDouble(int index, double value) = 0;
    virtual DbStatus doBindText(int index, std::string_view value) = 0;
    virtual DbStatus doBindBlob(int index, std::string_view bytes) = 0;
    virtual StepResult doStep() = 0;
    virtual void doReset() noexcept = 0;
    virtual void doClearBindings() noexcept = 0;

    /// Records the failure on the connection (lastError) and returns `status`.
    DbStatus fail(DbStatus status, std::string message, std::string_view sqlState, long offset = -1);

private:
    friend class Connection;
    DbStatus checkIndex(int index);
    void endExecution() noexcept;

    Connection& _connection;
    std::string _sql;
    int _parameterCount = 0;
    bool _inUse = false;     ///< handed out by Connection::prepare, not yet finished
    bool _executing = false; ///< between the first step() and Done/Error/reset()
    std::chrono::steady_clock::time_point _started;
};

} // namespace serval::datasource
