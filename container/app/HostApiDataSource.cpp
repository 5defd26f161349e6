// The ABI 1.2 data source block of the host function table (serval/abi.h): context_data_source,
// datasource_*, db_* and stmt_*, over container/datasource. Every function is noexcept; a
// failure is a status plus the thread's last error (db_last_error).

#include "app/AppResources.h"
#include "app/HostApi.h"
#include "app/HostApiInternal.h"
#include "datasource/DataSource.h"
#include "datasource/Statement.h"

#include <string>

/// serval_db_t: one lease of a pooled connection. Allocated by datasource_acquire, freed by
/// db_release (which hands the connection back to its pool).
struct serval_db_t
{
    serval::datasource::PooledConnection lease;
};

namespace serval::app::detail {

namespace {

using datasource::Connection;
using datasource::DataSource;
using datasource::DbError;
using datasource::DbStatus;
using datasource::Statement;
using datasource::StepResult;

/// The last data source failure of this thread (db_last_error): written only when a call fails,
/// so the success path never allocates.
struct LastError
{
    serval_status_t status = SERVAL_OK;
    std::string message;
    std::string sqlState;
    long offset = -1;
};
thread_local LastError t_lastError;

serval_status_t statusOf(DbStatus status) noexcept
{
    switch (status) {
    case DbStatus::Ok:
        return SERVAL_OK;
    case DbStatus::Error:
        return SERVAL_DB_ERROR;
    case DbStatus::Timeout:
        return SERVAL_DB_TIMEOUT;
    case DbStatus::PoolTimeout:
        return SERVAL_DB_POOL_TIMEOUT;
    case DbStatus::ConnectionLost:
        return SERVAL_DB_CONNECTION_LOST;
    case DbStatus::Misuse:
        return SERVAL_INVALID_ARGUMENT;
    }
    return SERVAL_ERROR;
}

/// Records `error` as this thread's last failure and returns its status.
serval_status_t failed(const DbError& error) noexcept
{
    serval_status_t status = statusOf(error.status);
    t_lastError.status = status;
    t_lastError.offset = error.offset;
    try {
        t_lastError.message = error.message;
        t_lastError.sqlState = error.sqlState;
    } catch (...) {
        t_lastError.message.clear();
        t_lastError.sqlState.clear();
    }
    return status;
}

/// `status` of a call on `connection`: OK, or its lastError() recorded.
serval_status_t checked(DbStatus status, const Connection& connection) noexcept
{
    return status == DbStatus::Ok ? SERVAL_OK : failed(connection.lastError());
}

Connection& conn(serval_db_t* db) noexcept
{
    return *db->lease;
}
Statement& stmt(serval_stmt_t* s) noexcept
{
    return *reinterpret_cast<Statement*>(s);
}

serval_status_t contextDataSource(serval_context_t* context, serval_str_t name,
                                  serval_datasource_t** out) noexcept
{
    const AppResources* resources = AppResources::of(*reinterpret_cast<core::ServletContext*>(context));
    DataSource* source = resources != nullptr ? resources->dataSource(view(name)) : nullptr;
    if (source == nullptr) return SERVAL_NOT_FOUND;
    *out = reinterpret_cast<serval_datasource_t*>(source);
    return SERVAL_OK;
}

serval_status_t datasourceAcquire(serval_datasource_t* source, serval_db_t** out) noexcept
{
    return guarded([&] {
        auto* db = new serval_db_t;
        DbError error;
        DbStatus status = reinterpret_cast<DataSource*>(source)->acquire(db->lease, error);
        if (status != DbStatus::Ok) {
            delete db;
            return failed(error);
        }
        *out = db;
        return SERVAL_OK;
    });
}

void dbRelease(serval_db_t* db) noexcept
{
    delete db; // the lease hands the connection back (rolls back, finishes statements)
}

serval_status_t dbPrepare(serval_db_t* db, serval_str_t sql, serval_stmt_t** out) noexcept
{
    return guarded([&] {
        Statement* statement = conn(db).prepare(view(sql));
        if (statement == nullptr) return failed(conn(db).lastError());
        *out = reinterpret_cast<serval_stmt_t*>(statement);
        return SERVAL_OK;
    });
}

serval_status_t dbExec(serval_db_t* db, serval_str_t sql) noexcept
{
    return guarded([&] { return checked(conn(db).exec(view(sql)), conn(db)); });
}

serval_status_t dbBegin(serval_db_t* db) noexcept
{
    return guarded([&] { return checked(conn(db).begin(), conn(db)); });
}

serval_status_t dbCommit(serval_db_t* db) noexcept
{
    return guarded([&] { return checked(conn(db).commit(), conn(db)); });
}

serval_status_t dbRollback(serval_db_t* db) noexcept
{
    return guarded([&] { return checked(conn(db).rollback(), conn(db)); });
}

void dbLastError(serval_db_error_t* out) noexcept
{
    const LastError& e = t_lastError;
    if (SERVAL_HAS_MEMBER(out, serval_db_error_t, status)) out->status = e.status;
    if (SERVAL_HAS_MEMBER(out, serval_db_error_t, message)) out->message = str(e.message);
    if (SERVAL_HAS_MEMBER(out, serval_db_error_t, sql_state)) out->sql_state = str(e.sqlState);
    if (SERVAL_HAS_MEMBER(out, serval_db_error_t, offset)) out->offset = e.offset;
}

serval_status_t bound(serval_stmt_t* s, DbStatus status) noexcept
{
    return checked(status, stmt(s).connection());
}

serval_status_t stmtBindNull(serval_stmt_t* s, int32_t index) noexcept
{
    return guarded([&] { return bound(s, stmt(s).bindNull(index)); });
}

serval_status_t stmtBindInt64(serval_stmt_t* s, int32_t index, int64_t value) noexcept
{
    return guarded([&] { return bound(s, stmt(s).bindInt64(index, value)); });
}

serval_status_t stmtBindDouble(serval_stmt_t* s, int32_t index, double value) noexcept
{
    return guarded([&] { return bound(s, stmt(s).bindDouble(index, value)); });
}

serval_status_t stmtBindText(serval_stmt_t* s, int32_t index, serval_str_t value) noexcept
{
    return guarded([&] { return bound(s, stmt(s).bindText(index, view(value))); });
}

serval_status_t stmtBindBlob(serval_stmt_t* s, int32_t index, const void* data, size_t len) noexcept
{
    return guarded([&] {
        std::string_view bytes =
            len == 0 ? std::string_view() : std::string_view(static_cast<const char*>(data), len);
        return bound(s, stmt(s).bindBlob(index, bytes));
    });
}

serval_status_t stmtStep(serval_stmt_t* s, bool* row) noexcept
{
    return guarded([&] {
        StepResult result = stmt(s).step();
        *row = result == StepResult::Row;
        return result == StepResult::Error ? failed(stmt(s).connection().lastError()) : SERVAL_OK;
    });
}

serval_status_t stmtReset(serval_stmt_t* s) noexcept
{
    stmt(s).reset();
    return SERVAL_OK;
}

int32_t stmtColumnCount(serval_stmt_t* s) noexcept
{
    return stmt(s).columnCount();
}

serval_str_t stmtColumnName(serval_stmt_t* s, int32_t column) noexcept
{
    return str(stmt(s).columnName(column));
}

serval_db_type_t stmtColumnType(serval_stmt_t* s, int32_t column) noexcept
{
    switch (stmt(s).columnType(column)) {
    case datasource::ColumnType::Null:
        return SERVAL_DB_NULL;
    case datasource::ColumnType::Int64:
        return SERVAL_DB_INT64;
    case datasource::ColumnType::Double:
        return SERVAL_DB_DOUBLE;
    case datasource::ColumnType::Text:
        return SERVAL_DB_TEXT;
    case datasource::ColumnType::Blob:
        return SERVAL_DB_BLOB;
    }
    return SERVAL_DB_NULL;
}

int64_t stmtColumnInt64(serval_stmt_t* s, int32_t column) noexcept
{
    return stmt(s).columnInt64(column);
}

double stmtColumnDouble(serval_stmt_t* s, int32_t column) noexcept
{
    return stmt(s).columnDouble(column);
}

serval_str_t stmtColumnText(serval_stmt_t* s, int32_t column) noexcept
{
    return str(stmt(s).columnText(column));
}

serval_str_t stmtColumnBlob(serval_stmt_t* s, int32_t column) noexcept
{
    return str(stmt(s).columnBlob(column));
}

int64_t stmtChanges(serval_stmt_t* s) noexcept
{
    return stmt(s).changes();
}

void stmtFinish(serval_stmt_t* s) noexcept
{
    stmt(s).connection().finish(&stmt(s));
}

} // namespace

void fillDataSourceFunctions(serval_host_api_t& t) noexcept
{
    t.context_data_source = &contextDataSource;
    t.datasource_acquire = &datasourceAcquire;
    t.db_release = &dbRelease;
    t.db_prepare = &dbPrepare;
    t.db_exec = &dbExec;
    t.db_begin = &dbBegin;
    t.db_commit = &dbCommit;
    t.db_rollback = &dbRollback;
    t.db_last_error = &dbLastError;
    t.stmt_bind_null = &stmtBindNull;
    t.stmt_bind_int64 = &stmtBindInt64;
    t.stmt_bind_double = &stmtBindDouble;
    t.stmt_bind_text = &stmtBindText;
    t.stmt_bind_blob = &stmtBindBlob;
    t.stmt_step = &stmtStep;
    t.stmt_reset = &stmtReset;
    t.stmt_column_count = &stmtColumnCount;
    t.stmt_column_name = &stmtColumnName;
    t.stmt_column_type = &stmtColumnType;
    t.stmt_column_int64 = &stmtColumnInt64;
    t.stmt_column_double = &stmtColumnDouble;
    t.stmt_column_text = &stmtColumnText;
    t.stmt_column_blob = &stmtColumnBlob;
    t.stmt_changes = &stmtChanges;
    t.stmt_finish = &stmtFinish;
}

} // namespace serval::app::detail
