#include "datasource/PooledConnection.h"

#include "datasource/DataSource.h"

#include <utility>

namespace serval::datasource {

PooledConnection::PooledConnection(DataSource& source, std::unique_ptr<Connection> connection) noexcept
    : _source(&source), _connection(std::move(connection))
{}

PooledConnection::PooledConnection(PooledConnection&& other) noexcept
    : _source(std::exchange(other._source, nullptr)), _connection(std::move(other._connection))
{}

PooledConnection& PooledConnection::operator=(PooledConnection&& other) noexcept
{
    if (this != &other) {
        release();
        _source = std::exchange(other._source, nullptr);
        _connection = std::move(other._connection);
    }
    return *this;
}

void PooledConnection::release() noexcept
{
    if (_connection && _source != nullptr) _source->release(std::move(_connection));
    _connection.reset();
    _source = nullptr;
}

} // namespace serval::datasource
