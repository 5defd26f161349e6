#include "datasource/DbError.h"

namespace serval::datasource {

const char* dbStatusName(DbStatus status) noexcept
{
    switch (status) {
    case DbStatus::Ok:
        return "ok";
    case DbStatus::Error:
        return "error";
    case DbStatus::Timeout:
        return "statement timeout";
    case DbStatus::PoolTimeout:
        return "pool timeout";
    case DbStatus::ConnectionLost:
        return "connection lost";
    case DbStatus::Misuse:
        return "misuse";
    }
    return "unknown";
}

std::string DbError::describe() const
{
    if (sqlState.empty()) return message;
    return message + " (SQLSTATE " + sqlState + ")";
}

} // namespace serval::datasource
