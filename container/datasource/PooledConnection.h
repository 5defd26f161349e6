#pragma once

#include "datasource/Connection.h"

#include <memory>

namespace serval::datasource {

class DataSource;

/// A connection lent by a DataSource's pool: the holder's alone until the lease ends (destroyed,
/// moved over, or release()), then returned to the pool, which rolls back a transaction left
/// open, finishes statements left open, and closes the connection instead if it broke.
/// Move-only; belongs to one thread at a time. The DataSource must outlive it.
class PooledConnection
{
public:
    PooledConnection() noexcept = default;
    PooledConnection(DataSource& source, std::unique_ptr<Connection> connection) noexcept;
    PooledConnection(PooledConnection&& other) noexcept;
    PooledConnection& operator=(PooledConnection&& other) noexcept;
    PooledConnection(const PooledConnection&) = delete;
    PooledConnection& operator=(const PooledConnection&) = delete;
    ~PooledConnection() { release(); }

    explicit operator bool() const noexcept { return _connection != nullptr; }
    Connection* operator->() const noexcept { return _connection.get(); }
    Connection& operator*() const noexcept { return *_connection; }
    Connection* get() const noexcept { return _connection.get(); }

    /// Returns the connection to the pool now (no-op on an empty lease).
    void release() noexcept;

private:
    DataSource* _source = nullptr;
    std::unique_ptr<Connection> _connection;
};

} // namespace serval::datasource
