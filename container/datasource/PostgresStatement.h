#pragma once

#include "datasource/Statement.h"

#include <string>
#include <vector>

struct pg_result;

namespace serval::datasource {

class PostgresConnection;

/// A server-side prepared statement on one PostgresConnection (DEALLOCATEd when the cache drops
/// it). Created by PostgresConnection::prepareNew with the SQL's `?` already rewritten to `$n`
/// and the statement described (so columns are known before the first step, as in SQLite).
class PostgresStatement final : public Statement
{
public:
    /// Takes ownership of `description` (PQdescribePrepared's result).
    PostgresStatement(PostgresConnection& connection, std::string sql, std::string rewritten,
                      std::string name, int parameterCount, pg_result* description);
    ~PostgresStatement() override;

    int columnCount() const noexcept override;
    std::string_view columnName(int column) const noexcept override;
    ColumnType columnType(int column) const noexcept override;
    int64_t columnInt64(int column) const noexcept override;
    double columnDouble(int column) const noexcept override;
    std::string_view columnText(int column) const noexcept override;
    std::string_view columnBlob(int column) const noexcept override;
    int64_t changes() const noexcept override { return _changes; }

private:
    DbStatus doBindNull(int index) override;
    DbStatus doBindInt64(int index, int64_t value) override;
    DbStatus doBindDouble(int index, double value) override;
    DbStatus doBindText(int index, std::string_view value) override;
    DbStatus doBindBlob(int index, std::string_view bytes) override;
    StepResult doStep() override;
    void doReset() noexcept override;
    void doClearBindings() noexcept override;

    void store(int index, std::string_view value, int format);
    /// PQexecPrepared with the bound values; keeps the result for the getters.
    DbStatus execute();
    /// After a migration changed a table under a cached `select *`, PostgreSQL refuses the old
    /// plan ("cached plan must not change result type", 0A000): prepare again once.
    bool reprepare();
    /// The value in the current row, or null when there is none (no row, NULL, bad index).
    const char* value(int column) const noexcept;
    unsigned typeOid(int column) const noexcept;
    std::string_view bytes(int column) const noexcept;

    PostgresConnection& _pg;
    std::string _rewritten;
    std::string _name;
    pg_result* _description;
    pg_result* _result = nullptr;
    int _row = -1;
    int _rows = 0;
    bool _finished = false; ///< Done was returned: the next step runs the statement again
    int64_t _changes = 0;
    std::vector<std::string> _values;
    std::vector<char> _isNull;
    std::vector<int> _formats;
    std::vector<const char*> _pointers;
    std::vector<int> _lengths;
    /// bytea values decoded from their hex text, per column, for the current row.
    mutable std::vector<std::string> _decoded;
    mutable std::vector<int> _decodedRow;
};

} // namespace serval::datasource
