#include "datasource/SqlState.h"

#include "util/Strings.h"

#include <sqlite3.h>

namespace serval::datasource {

namespace {

std::string_view sqliteErrorState(std::string_view message) noexcept
{
    using util::startsWith;
    if (startsWith(message, "no such table") || startsWith(message, "no such view")) return "42P01";
    if (startsWith(message, "no such column")) return "42703";
    if (startsWith(message, "no such function")) return "42883";
    if (message.find("syntax error") != std::string_view::npos || startsWith(message, "incomplete input")) {
        return "42601";
    }
    if (message.find("already exists") != std::string_view::npos) return "42P07";
    return "42000";
}

} // namespace

std::string_view sqliteSqlState(int extendedCode, std::string_view message) noexcept
{
    switch (extendedCode) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_ROWID:
        return "23505";
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return "23503";
    case SQLITE_CONSTRAINT_NOTNULL:
        return "23502";
    case SQLITE_CONSTRAINT_CHECK:
        return "23514";
    case SQLITE_BUSY_SNAPSHOT:
        return "40001"; // a read transaction lost the race to write
    default:
        break;
    }
    switch (extendedCode & 0xff) {
    case SQLITE_ERROR:
        return sqliteErrorState(message);
    case SQLITE_CONSTRAINT:
        return "23000";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return "55P03"; // lock_not_available
    case SQLITE_INTERRUPT:
        return "57014"; // query_canceled (statementTimeout)
    case SQLITE_NOMEM:
        return "53200";
    case SQLITE_FULL:
        return "53100";
    case SQLITE_IOERR:
        return "58030";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return "XX001"; // data_corrupted
    case SQLITE_READONLY:
        return "25006";
    case SQLITE_CANTOPEN:
        return "08001";
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return "42501";
    case SQLITE_TOOBIG:
        return "54000";
    case SQLITE_MISMATCH:
        return "42804";
    case SQLITE_RANGE:
        return "22023"; // invalid_parameter_value (a bind index out of range)
    case SQLITE_MISUSE:
        return "XX000";
    default:
        return "HY000";
    }
}

} // namespace serval::datasource
