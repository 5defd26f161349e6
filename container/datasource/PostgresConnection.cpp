#include "datasource/PostgresConnection.h"

#include "datasource/PostgresStatement.h"
#include "datasource/SqlText.h"
#include "util/Log.h"

#include <cstring>
#include <libpq-fe.h>
#include <poll.h>

namespace serval::datasource {

namespace {

/// libpq's messages end with a newline and may hold several lines: one line for logs.
std::string oneLine(const char* text)
{
    std::string out;
    for (const char* p = text != nullptr ? text : ""; *p != '\0'; ++p) {
        if (*p == '\n') {
            if (p[1] != '\0') out += "; ";
        } else if (*p != '\r') {
            out += *p;
        }
    }
    return out;
}

/// Byte offset of the `characters`-th character (0-based) of UTF-8 `text`: the server counts
/// error positions in characters.
size_t byteOffset(std::string_view text, long characters) noexcept
{
    size_t i = 0;
    for (long seen = 0; i < text.size() && seen < characters; ++i) {
        if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++seen;
    }
    while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80)
        ++i;
    return i;
}

} // namespace

std::unique_ptr<PostgresConnection> PostgresConnection::open(const DataSourceConfig& config,
                                                             DataSourceStats* stats, DbError& error)
{
    error = DbError{};
    util::Expected<std::string> password = connectPassword(config);
    if (!password) {
        error.status = DbStatus::Error;
        error.message = password.error();
        return nullptr;
    }
    auto seconds = (config.acquireTimeout.count() + 999) / 1000;
    std::string connectTimeout = std::to_string(seconds < 2 ? 2 : seconds);
    std::string options;
    if (config.statementTimeout.count() > 0) {
        options = "-c statement_timeout=" + std::to_string(config.statementTimeout.count());
    }
    // dbname first and expanded (expand_dbname = 1): the URI's values, then ours on top of it.
    const char* keys[] = {
        "dbname",  "password", "connect_timeout", "client_encoding", "fallback_application_name",
        "options", nullptr};
    const char* values[] = {config.url.c_str(),
                            password->empty() ? nullptr : password->c_str(),
                            connectTimeout.c_str(),
                            "UTF8",
                            "serval",
                            options.empty() ? nullptr : options.c_str(),
                            nullptr};
    PGconn* conn = PQconnectdbParams(keys, values, 1);
    if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
        error.status = DbStatus::ConnectionLost;
        error.message = "data source \"" + config.name + "\": cannot connect to " + config.url + ": " +
                        (conn != nullptr ? oneLine(PQerrorMessage(conn)) : std::string("out of memory"));
        error.sqlState = "08001";
        PQfinish(conn);
        return nullptr;
    }
    std::unique_ptr<PostgresConnection> connection(new PostgresConnection(config, stats, conn));
    PQsetNoticeReceiver(conn, &PostgresConnection::onNotice, connection.get());
    return connection;
}

PostgresConnection::PostgresConnection(const DataSourceConfig& config, DataSourceStats* stats, PGconn* conn)
    : Connection(DataSourceType::Postgresql, config, stats), _conn(conn)
{}

PostgresConnection::~PostgresConnection()
{
    _closing = true;
    dropStatements();
    PQfinish(_conn);
}

bool PostgresConnection::broken() const noexcept
{
    return _fatalReceived || PQstatus(_conn) != CONNECTION_OK;
}

void PostgresConnection::onNotice(void* self, const PGresult* result)
{
    const char* severity = PQresultErrorField(result, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (severity != nullptr && (std::strcmp(severity, "FATAL") == 0 || std::strcmp(severity, "PANIC") == 0)) {
        static_cast<PostgresConnection*>(self)->_fatalReceived = true;
    }
    LOG_DEBUG("datasource", "postgresql: " + oneLine(PQresultErrorMessage(result)));
}

bool PostgresConnection::checkAlive() noexcept
{
    if (broken()) return false;
    // An idle connection has nothing to read. If the server closed it (a restart, an idle
    // timeout, pg_terminate_backend), its FATAL goodbye is waiting, and the FIN with it or just
    // after: no round trip needed to tell.
    pollfd fd{PQsocket(_conn), POLLIN | POLLRDHUP, 0};
    if (::poll(&fd, 1, 0) <= 0) return true;
    if ((fd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0) return false;
    // libpq hands an error that arrives while idle to the notice receiver (onNotice, which notes
    // a FATAL). A NOTICE or NOTIFY is fine; a FATAL or EOF is not.
    if (PQconsumeInput(_conn) == 0) return false;
    while (PGnotify* notify = PQnotifies(_conn))
        PQfreemem(notify);
    return !broken();
}

DbStatus PostgresConnection::failFromResult(const PGresult* result, long offsetBase,
                                            std::string_view statementText)
{
    bool lost = broken();
    if (result == nullptr) {
        return fail(lost ? DbStatus::ConnectionLost : DbStatus::Error, oneLine(PQerrorMessage(_conn)),
                    lost ? "08006" : "XX000");
    }
    const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
    const char* detail = PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL);
    const char* position = PQresultErrorField(result, PG_DIAG_STATEMENT_POSITION);
    std::string message = primary != nullptr ? std::string(primary) : oneLine(PQresultErrorMessage(result));
    if (message.empty()) message = oneLine(PQerrorMessage(_conn));
    if (detail != nullptr) message += " (" + oneLine(detail) + ")";
    std::string sqlState = state != nullptr ? state : (lost ? "08006" : "XX000");
    long offset = offsetBase;
    if (offsetBase >= 0 && position != nullptr) {
        long characters = std::strtol(position, nullptr, 10) - 1;
        if (characters >= 0) offset = offsetBase + static_cast<long>(byteOffset(statementText, characters));
    }
    DbStatus status = DbStatus::Error;
    if (lost) {
        status = DbStatus::ConnectionLost;
    } else if (sqlState == "57014") {
        status = DbStatus::Timeout;
    }
    return fail(status, std::move(message), sqlState, offset);
}

std::unique_ptr<Statement> PostgresConnection::prepareNew(std::string_view sql)
{
    RewrittenSql rewritten = rewritePlaceholders(sql);
    std::string name = "serval_" + std::to_string(++_nextStatement);
    PGresult* prepared =
        PQprepare(_conn, name.c_str(), rewritten.sql.c_str(), rewritten.parameterCount, nullptr);
    if (prepared == nullptr || PQresultStatus(prepared) != PGRES_COMMAND_OK) {
        failFromResult(prepared);
        PQclear(prepared);
        return nullptr;
    }
    PQclear(prepared);
    PGresult* description = PQdescribePrepared(_conn, name.c_str());
    if (description == nullptr || PQresultStatus(description) != PGRES_COMMAND_OK) {
        failFromResult(description);
        PQclear(description);
        return nullptr;
    }
    int parameters = PQnparams(description);
    return std::make_unique<PostgresStatement>(*this, std::string(sql), std::move(rewritten.sql),
                                               std::move(name), parameters, description);
}

DbStatus PostgresConnection::execOne(const std::string& text, long offset)
{
    PGresult* result = PQexec(_conn, text.c_str());
    ExecStatusType status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) {
        PQclear(result);
        return DbStatus::Ok;
    }
    if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT) {
        // COPY with the client's stdin/stdout has no place here: end it so the connection stays usable.
        PQclear(result);
        if (status == PGRES_COPY_IN)
            PQputCopyEnd(_conn, "COPY FROM STDIN is not supported by Serval data sources");
        char* buffer = nullptr;
        while (status == PGRES_COPY_OUT && PQgetCopyData(_conn, &buffer, 0) > 0)
            PQfreemem(buffer);
        while (PGresult* rest = PQgetResult(_conn))
            PQclear(rest);
        return fail(DbStatus::Misuse, "COPY FROM STDIN / TO STDOUT cannot run through a data source", "0A000",
                    offset);
    }
    DbStatus failed = failFromResult(result, offset, text);
    PQclear(result);
    return failed;
}

DbStatus PostgresConnection::execScript(std::string_view sql)
{
    for (const StatementSpan& span : splitStatements(sql)) {
        DbStatus status =
            execOne(std::string(sql.substr(span.offset, span.length)), static_cast<long>(span.offset));
        if (status != DbStatus::Ok) return status;
    }
    return DbStatus::Ok;
}

DbStatus PostgresConnection::begin()
{
    return execOne("BEGIN", -1);
}

DbStatus PostgresConnection::commit()
{
    PGresult* result = PQexec(_conn, "COMMIT");
    if (result == nullptr || PQresultStatus(result) != PGRES_COMMAND_OK) {
        DbStatus failed = failFromResult(result);
        PQclear(result);
        return failed;
    }
    // COMMIT of a transaction in which a statement failed rolls it back and says so in its tag.
    bool rolledBack = std::strcmp(PQcmdStatus(result), "ROLLBACK") == 0;
    PQclear(result);
    if (!rolledBack) return DbStatus::Ok;
    return fail(DbStatus::Error,
                "the transaction was rolled back, not committed: a statement in it had failed", "25P02");
}

DbStatus PostgresConnection::rollback()
{
    if (!inTransaction()) return DbStatus::Ok;
    return execOne("ROLLBACK", -1);
}

bool PostgresConnection::inTransaction() const noexcept
{
    PGTransactionStatusType status = PQtransactionStatus(_conn);
    return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
}

DbStatus PostgresConnection::setTimeouts(std::chrono::milliseconds statement, std::chrono::milliseconds lock)
{
    return execScript("SET statement_timeout = " + std::to_string(statement.count()) +
                      "; SET lock_timeout = " + std::to_string(lock.count()));
}

} // namespace serval::datasource
