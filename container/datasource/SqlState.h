#pragma once

#include <string_view>

namespace serval::datasource {

/// The SQLSTATE (PostgreSQL's codes, appendix A of its manual) for an SQLite result code, so an
/// app checks one set of codes on both engines: a unique violation is 23505, a missing table
/// 42P01, a busy database 55P03, a cancelled (timed-out) statement 57014.
///
/// `extendedCode` is SQLite's extended result code (connections enable them). `message` is
/// sqlite3_errmsg(): SQLite reports a syntax error, a missing table or column and an existing
/// table all as SQLITE_ERROR, so its start picks the code within class 42. Unknown codes give
/// "HY000" (the general error of the SQL CLI and JDBC). Pure function, any thread.
std::string_view sqliteSqlState(int extendedCode, std::string_view message) noexcept;

} // namespace serval::datasource
