#include "datasource/Statement.h"

#include "datasource/Connection.h"

namespace serval::datasource {

Statement::Statement(Connection& connection, std::string sql, int parameterCount)
    : _connection(connection), _sql(std::move(sql)), _parameterCount(parameterCount)
{}

DbStatus Statement::fail(DbStatus status, std::string message, std::string_view sqlState, long offset)
{
    return _connection.fail(status, std::move(message), sqlState, offset);
}

DbStatus Statement::checkIndex(int index)
{
    if (index >= 1 && index <= _parameterCount) return DbStatus::Ok;
    return fail(DbStatus::Misuse,
                "parameter index " + std::to_string(index) + " is out of range: the statement has " +
                    std::to_string(_parameterCount) + " parameter(s), numbered from 1",
                "22023");
}

DbStatus Statement::bindNull(int index)
{
    DbStatus status = checkIndex(index);
    return status == DbStatus::Ok ? doBindNull(index) : status;
}

DbStatus Statement::bindInt64(int index, int64_t value)
{
    DbStatus status = checkIndex(index);
    return status == DbStatus::Ok ? doBindInt64(index, value) : status;
}

DbStatus Statement::bindDouble(int index, double value)
{
    DbStatus status = checkIndex(index);
    return status == DbStatus::Ok ? doBindDouble(index, value) : status;
}

DbStatus Statement::bindText(int index, std::string_view value)
{
    DbStatus status = checkIndex(index);
    return status == DbStatus::Ok ? doBindText(index, value) : status;
}

DbStatus Statement::bindBlob(int index, std::string_view bytes)
{
    DbStatus status = checkIndex(index);
    return status == DbStatus::Ok ? doBindBlob(index, bytes) : status;
}

StepResult Statement::step()
{
    if (!_executing) {
        _executing = true;
        _started = std::chrono::steady_clock::now();
    }
    StepResult result = doStep();
    if (result != StepResult::Row) endExecution();
    return result;
}

void Statement::reset()
{
    doReset();
    endExecution();
}

void Statement::clearBindings()
{
    doClearBindings();
}

void Statement::endExecution() noexcept
{
    // Failures were counted by Connection::fail, which every failing path goes through.
    if (!_executing) return;
    _executing = false;
    if (DataSourceStats* stats = _connection.stats()) {
        auto nanos =
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - _started);
        stats->recordQuery(static_cast<uint64_t>(nanos.count()));
    }
}

} // namespace serval::datasource
