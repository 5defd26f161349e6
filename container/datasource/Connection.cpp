#include "datasource/Connection.h"

#include "datasource/SqlText.h"

namespace serval::datasource {

Connection::Connection(DataSourceType type, const DataSourceConfig& config, DataSourceStats* stats)
    : _type(type), _config(config), _stats(stats)
{}

DbStatus Connection::fail(DbStatus status, std::string message, std::string_view sqlState, long offset)
{
    _lastError.status = status;
    _lastError.message = std::move(message);
    _lastError.sqlState = std::string(sqlState);
    _lastError.offset = offset;
    if (_stats != nullptr) _stats->add(_stats->errors);
    return status;
}

Statement* Connection::prepare(std::string_view sql)
{
    if (skipSpaceAndComments(sql, 0) >= sql.size()) {
        fail(DbStatus::Misuse, "the SQL text holds no statement", "42601");
        return nullptr;
    }
    auto& slot = _statements[std::string(sql)];
    for (auto& statement : slot) {
        if (!statement->_inUse) {
            statement->_inUse = true;
            return statement.get();
        }
    }
    std::unique_ptr<Statement> fresh = prepareNew(sql);
    if (!fresh) {
        if (slot.empty()) _statements.erase(std::string(sql));
        return nullptr;
    }
    fresh->_inUse = true;
    slot.push_back(std::move(fresh));
    ++_statementCount;
    return slot.back().get();
}

void Connection::finish(Statement* statement) noexcept
{
    if (statement == nullptr || !statement->_inUse) return;
    statement->reset();
    statement->clearBindings();
    statement->_inUse = false;
    if (_statementCount <= kMaxCachedStatements) return;
    // Over the bound: close this one rather than keep it (the first prepared stay cached).
    auto it = _statements.find(statement->sql());
    if (it == _statements.end()) return;
    auto& slot = it->second;
    for (auto s = slot.begin(); s != slot.end(); ++s) {
        if (s->get() != statement) continue;
        slot.erase(s);
        --_statementCount;
        break;
    }
    if (slot.empty()) _statements.erase(it);
}

void Connection::finishAll() noexcept
{
    for (auto& [sql, slot] : _statements) {
        for (auto& statement : slot) {
            if (!statement->_inUse) continue;
            statement->reset();
            statement->clearBindings();
            statement->_inUse = false;
        }
    }
}

DbStatus Connection::exec(std::string_view sql)
{
    auto started = std::chrono::steady_clock::now();
    DbStatus status = execScript(sql);
    if (_stats != nullptr) {
        auto nanos =
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started);
        _stats->recordQuery(static_cast<uint64_t>(nanos.count()));
    }
    return status;
}

void Connection::dropStatements() noexcept
{
    _statements.clear();
    _statementCount = 0;
}

} // namespace serval::datasource
