#include "datasource/PostgresStatement.h"

#include "datasource/PostgresConnection.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <libpq-fe.h>

namespace serval::datasource {

namespace {

// Type OIDs from PostgreSQL's catalog (pg_type_d.h, a server header Debian ships elsewhere).
constexpr unsigned kBool = 16;
constexpr unsigned kBytea = 17;
constexpr unsigned kInt8 = 20;
constexpr unsigned kInt2 = 21;
constexpr unsigned kInt4 = 23;
constexpr unsigned kOid = 26;
constexpr unsigned kFloat4 = 700;
constexpr unsigned kFloat8 = 701;
constexpr unsigned kNumeric = 1700;

int hexDigit(char c) noexcept
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// bytea's text output: "\x" and two hex digits a byte (bytea_output = hex, the default), or
/// the old escape format, which PQunescapeBytea understands.
std::string decodeBytea(const char* text, size_t length)
{
    std::string out;
    if (length >= 2 && text[0] == '\\' && text[1] == 'x') {
        out.reserve((length - 2) / 2);
        for (size_t i = 2; i + 1 < length; i += 2) {
            int high = hexDigit(text[i]);
            int low = hexDigit(text[i + 1]);
            if (high < 0 || low < 0) break;
            out.push_back(static_cast<char>(high * 16 + low));
        }
        return out;
    }
    size_t size = 0;
    unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(text), &size);
    if (raw != nullptr) {
        out.assign(reinterpret_cast<const char*>(raw), size);
        PQfreemem(raw);
    }
    return out;
}

bool parseInt64(std::string_view text, int64_t& out) noexcept
{
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
    return error == std::errc() && end == text.data() + text.size();
}

double parseDouble(std::string_view text) noexcept
{
    double out = 0.0;
    std::from_chars(text.data(), text.data() + text.size(), out);
    return out;
}

} // namespace

PostgresStatement::PostgresStatement(PostgresConnection& connection, std::string sql, std::string rewritten,
                                     std::string name, int parameterCount, PGresult* description)
    : Statement(connection, std::move(sql), parameterCount), _pg(connection),
      _rewritten(std::move(rewritten)), _name(std::move(name)), _description(description)
{
    size_t n = static_cast<size_t>(parameterCount);
    _values.resize(n);
    _isNull.assign(n, 1);
    _formats.assign(n, 0);
    _pointers.resize(n);
    _lengths.resize(n);
}

PostgresStatement::~PostgresStatement()
{
    PQclear(_result);
    PQclear(_description);
    if (_pg.closing() || _pg.broken()) return; // the server drops them with the session
    std::string deallocate = "DEALLOCATE " + _name;
    PQclear(PQexec(_pg.handle(), deallocate.c_str()));
}

void PostgresStatement::store(int index, std::string_view value, int format)
{
    if (_result != nullptr || _finished) doReset(); // binding starts the next run
    size_t i = static_cast<size_t>(index - 1);
    _values[i].assign(value.data() != nullptr ? value.data() : "", value.size());
    _isNull[i] = 0;
    _formats[i] = format;
}

DbStatus PostgresStatement::doBindNull(int index)
{
    if (_result != nullptr || _finished) doReset();
    _isNull[static_cast<size_t>(index - 1)] = 1;
    return DbStatus::Ok;
}

DbStatus PostgresStatement::doBindInt64(int index, int64_t value)
{
    char buffer[24];
    auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
    store(index, std::string_view(buffer, static_cast<size_t>(end - buffer)), 0);
    return DbStatus::Ok;
}

DbStatus PostgresStatement::doBindDouble(int index, double value)
{
    if (std::isnan(value)) {
        store(index, "NaN", 0);
    } else if (std::isinf(value)) {
        store(index, value > 0 ? "Infinity" : "-Infinity", 0);
    } else {
        char buffer[32];
        auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr; // shortest exact form
        store(index, std::string_view(buffer, static_cast<size_t>(end - buffer)), 0);
    }
    return DbStatus::Ok;
}

DbStatus PostgresStatement::doBindText(int index, std::string_view value)
{
    // Text parameters travel NUL-terminated, and PostgreSQL text cannot hold NUL anyway.
    if (value.find('\0') != std::string_view::npos) {
        return fail(DbStatus::Misuse,
                    "text parameter " + std::to_string(index) +
                        " holds a NUL byte, which PostgreSQL text cannot store; bind it as a blob",
                    "22021");
    }
    store(index, value, 0);
    return DbStatus::Ok;
}

DbStatus PostgresStatement::doBindBlob(int index, std::string_view bytes)
{
    store(index, bytes, 1); // binary format: bytea's binary form is the bytes themselves
    return DbStatus::Ok;
}

void PostgresStatement::doClearBindings() noexcept
{
    std::fill(_isNull.begin(), _isNull.end(), 1);
}

void PostgresStatement::doReset() noexcept
{
    PQclear(_result);
    _result = nullptr;
    _row = -1;
    _rows = 0;
    _finished = false;
}

DbStatus PostgresStatement::execute()
{
    for (size_t i = 0; i < _values.size(); ++i) {
        _pointers[i] = _isNull[i] ? nullptr : _values[i].c_str();
        _lengths[i] = static_cast<int>(_values[i].size());
    }
    for (int attempt = 0;; ++attempt) {
        PGresult* result = PQexecPrepared(_pg.handle(), _name.c_str(), parameterCount(), _pointers.data(),
                                          _lengths.data(), _formats.data(), 0);
        ExecStatusType status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
        if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
            _result = result;
            _rows = PQntuples(result);
            _row = -1;
            const char* tag = PQcmdStatus(result);
            bool changed = std::strncmp(tag, "INSERT", 6) == 0 || std::strncmp(tag, "UPDATE", 6) == 0 ||
                           std::strncmp(tag, "DELETE", 6) == 0 || std::strncmp(tag, "MERGE", 5) == 0;
            _changes = changed ? std::strtoll(PQcmdTuples(result), nullptr, 10) : 0;
            size_t fields = static_cast<size_t>(PQnfields(result));
            _decoded.assign(fields, std::string());
            _decodedRow.assign(fields, -1);
            return DbStatus::Ok;
        }
        const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
        bool stalePlan = attempt == 0 && state != nullptr && std::strcmp(state, "0A000") == 0 &&
                         !_pg.inTransaction() && !_pg.broken();
        if (stalePlan && reprepare()) {
            PQclear(result);
            continue;
        }
        DbStatus failed = _pg.failFromResult(result);
        PQclear(result);
        return failed;
    }
}

bool PostgresStatement::reprepare()
{
    std::string deallocate = "DEALLOCATE " + _name;
    PQclear(PQexec(_pg.handle(), deallocate.c_str()));
    PGresult* prepared =
        PQprepare(_pg.handle(), _name.c_str(), _rewritten.c_str(), parameterCount(), nullptr);
    bool ok = prepared != nullptr && PQresultStatus(prepared) == PGRES_COMMAND_OK;
    PQclear(prepared);
    if (!ok) return false;
    PGresult* description = PQdescribePrepared(_pg.handle(), _name.c_str());
    if (description == nullptr || PQresultStatus(description) != PGRES_COMMAND_OK) {
        PQclear(description);
        return false;
    }
    PQclear(_description);
    _description = description;
    return true;
}

StepResult PostgresStatement::doStep()
{
    if (_finished) doReset(); // stepping after Done runs the statement again, as in SQLite
    if (_result == nullptr && execute() != DbStatus::Ok) return StepResult::Error;
    if (++_row < _rows) return StepResult::Row;
    _row = _rows;
    _finished = true;
    return StepResult::Done;
}

int PostgresStatement::columnCount() const noexcept
{
    return PQnfields(_result != nullptr ? _result : _description);
}

std::string_view PostgresStatement::columnName(int column) const noexcept
{
    const PGresult* source = _result != nullptr ? _result : _description;
    if (column < 0 || column >= PQnfields(source)) return {};
    const char* name = PQfname(source, column);
    return name != nullptr ? std::string_view(name) : std::string_view();
}

const char* PostgresStatement::value(int column) const noexcept
{
    if (_result == nullptr || _row < 0 || _row >= _rows || column < 0 || column >= PQnfields(_result)) {
        return nullptr;
    }
    if (PQgetisnull(_result, _row, column)) return nullptr;
    return PQgetvalue(_result, _row, column);
}

unsigned PostgresStatement::typeOid(int column) const noexcept
{
    return static_cast<unsigned>(PQftype(_result, column));
}

ColumnType PostgresStatement::columnType(int column) const noexcept
{
    if (value(column) == nullptr) return ColumnType::Null;
    switch (typeOid(column)) {
    case kBool:
    case kInt2:
    case kInt4:
    case kInt8:
    case kOid:
        return ColumnType::Int64;
    case kFloat4:
    case kFloat8:
    case kNumeric:
        return ColumnType::Double;
    case kBytea:
        return ColumnType::Blob;
    default:
        return ColumnType::Text;
    }
}

std::string_view PostgresStatement::bytes(int column) const noexcept
{
    const char* text = value(column);
    if (text == nullptr) return {};
    size_t length = static_cast<size_t>(PQgetlength(_result, _row, column));
    if (typeOid(column) != kBytea) return {text, length};
    size_t c = static_cast<size_t>(column);
    if (_decodedRow[c] != _row) {
        try {
            _decoded[c] = decodeBytea(text, length);
        } catch (...) {
            _decoded[c].clear(); // out of memory: read as empty rather than throw into the data plane
        }
        _decodedRow[c] = _row;
    }
    return _decoded[c];
}

int64_t PostgresStatement::columnInt64(int column) const noexcept
{
    const char* text = value(column);
    if (text == nullptr) return 0;
    if (typeOid(column) == kBool) return text[0] == 't' ? 1 : 0;
    std::string_view view(text, static_cast<size_t>(PQgetlength(_result, _row, column)));
    int64_t out = 0;
    if (parseInt64(view, out)) return out;
    double real = parseDouble(view); // "2.5" reads as 2, like SQLite
    if (std::isnan(real) || real >= 9.2e18 || real <= -9.2e18) return 0;
    return static_cast<int64_t>(real);
}

double PostgresStatement::columnDouble(int column) const noexcept
{
    const char* text = value(column);
    if (text == nullptr) return 0.0;
    if (typeOid(column) == kBool) return text[0] == 't' ? 1.0 : 0.0;
    return parseDouble(std::string_view(text, static_cast<size_t>(PQgetlength(_result, _row, column))));
}

std::string_view PostgresStatement::columnText(int column) const noexcept
{
    const char* text = value(column);
    if (text == nullptr) return {};
    if (typeOid(column) == kBool) return text[0] == 't' ? "1" : "0"; // as the Int64 it reads as
    return bytes(column);
}

std::string_view PostgresStatement::columnBlob(int column) const noexcept
{
    return bytes(column);
}

} // namespace serval::datasource
