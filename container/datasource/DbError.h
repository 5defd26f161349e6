#pragma once

#include <stdexcept>
#include <string>

namespace serval::datasource {

/// What a data-plane call on a data source came to. The ABI's data source statuses (issue 13)
/// map one to one onto these, so an app can tell "try later" (PoolTimeout, ConnectionLost: 503)
/// from "your SQL is wrong" (Error: the SQLSTATE says which).
enum class DbStatus
{
    Ok,
    Error,          ///< the database refused the statement (syntax, constraint, ...): see sqlState
    Timeout,        ///< the statement ran past statementTimeout (SQLSTATE 57014) and was cancelled
    PoolTimeout,    ///< no connection became free within acquireTimeout
    ConnectionLost, ///< the connection could not be opened or broke (server restarted, network)
    Misuse,         ///< the caller's mistake: a bind index out of range, a statement not prepared
};

/// Text for logs and messages ("pool timeout").
const char* dbStatusName(DbStatus status) noexcept;

/// The last failure on a Connection (or of an acquire). `message` is the database's own text on
/// one line; `sqlState` is the five-character SQLSTATE (PostgreSQL's own, SQLite's mapped by
/// sqliteSqlState) or empty where no database answered (pool timeout); `offset` is the byte
/// offset in the SQL text the error points at, or -1 when the database did not say.
struct DbError
{
    DbStatus status = DbStatus::Ok;
    std::string message;
    std::string sqlState;
    long offset = -1;

    /// "message (SQLSTATE 42P01)", or the message alone when there is no SQLSTATE.
    std::string describe() const;
};

/// A control-plane failure (opening a data source for migrations or a backup, a migration that
/// failed or was refused). The message is one line a person can act on; control-plane callers
/// (the deployer, servalctl) catch it in one place and show it as it is.
class DataSourceError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

} // namespace serval::datasource
