// serval/db.hpp: the C++17 layer over the data source calls of serval/abi.h (ABI 1.2,
// header-only; servlet.hpp includes it).
//
//   serval::DataSource db = request.context().dataSource("main");   // web.xml <resource-ref>
//   for (serval::Row row : db.query("SELECT id, message FROM fortune WHERE id = ?", id)) {
//       int64_t id = row.get<int64_t>(0);
//       std::string_view message = row.get<std::string_view>(1);    // valid until the next row
//   }
//   db.transaction([&](serval::Connection& tx) {
//       tx.exec("UPDATE world SET randomNumber = ? WHERE id = ?", n, id);
//   });
//
// RAII everywhere: a Connection is a lease from the data source's bounded pool, handed back when
// it goes out of scope (a transaction left open is rolled back); a Statement goes back to its
// connection's cache; Rows holds both while you iterate. Placeholders are `?` on every engine,
// bound from the arguments in order; columns are numbered from 0.
//
// Errors throw serval::DbError (status, the database's message, SQLSTATE). One that means "the
// database is not there right now" (unavailable(): no free connection within acquireTimeout, or
// no connection at all) escaping a servlet becomes 503 with Retry-After instead of 500.
//
// THREADS: a DataSource may be used from any thread; a Connection, Statement or Rows by one thread
// at a time. Hold a connection for one request at most.
#pragma once

#include "serval/abi.h"
#include "serval/http.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace serval {

/// A failed data source call: the status (SERVAL_DB_ERROR, SERVAL_DB_TIMEOUT,
/// SERVAL_DB_POOL_TIMEOUT, SERVAL_DB_CONNECTION_LOST, ...), the database's message and the
/// SQLSTATE ("23505" for a unique violation on both engines; empty when no database answered).
class DbError : public Error
{
public:
    DbError(serval_status_t status, std::string message, std::string sqlState)
        : Error(status, sqlState.empty() ? message : message + " (SQLSTATE " + sqlState + ")"),
          _message(std::move(message)), _sqlState(std::move(sqlState))
    {}
    const std::string& message() const noexcept { return _message; }
    const std::string& sqlState() const noexcept { return _sqlState; }
    /// True when trying again later may work (answer 503): the pool had no connection free
    /// within acquireTimeout, or the database could not be reached.
    bool unavailable() const noexcept
    {
        return status() == SERVAL_DB_POOL_TIMEOUT || status() == SERVAL_DB_CONNECTION_LOST;
    }

private:
    std::string _message;
    std::string _sqlState;
};

/// Bytes for a BLOB parameter (a std::string_view binds as TEXT).
struct Blob
{
    std::string_view bytes;
};

namespace detail {

/// True if this host has the ABI 1.2 data source calls (checked once per use, cheaply).
inline bool hasDataSources() noexcept
{
    return SERVAL_HAS_MEMBER(&host(), serval_host_api_t, stmt_finish);
}

/// Throws the thread's last data source failure for a call that returned `status`.
[[noreturn]] inline void throwDb(serval_status_t status, const char* call)
{
    serval_db_error_t e{};
    e.struct_size = sizeof e;
    e.abi_major = SERVAL_ABI_MAJOR;
    e.abi_minor = SERVAL_ABI_MINOR;
    host().db_last_error(&e);
    std::string message(view(e.message));
    if (message.empty()) message = std::string(call) + " failed (status " + std::to_string(status) + ")";
    throw DbError(status, std::move(message), std::string(view(e.sql_state)));
}

inline void checkDb(serval_status_t status, const char* call)
{
    if (status != SERVAL_OK) throwDb(status, call);
}

template <typename T> struct IsOptional : std::false_type
{
};
template <typename T> struct IsOptional<std::optional<T>> : std::true_type
{
};

} // namespace detail

/// The current row of a statement: a view, valid until the statement steps again or ends.
class Row
{
public:
    explicit Row(serval_stmt_t* stmt) noexcept : _stmt(stmt) {}

    int columnCount() const noexcept { return detail::host().stmt_column_count(_stmt); }
    std::string_view name(int column) const noexcept
    {
        return detail::view(detail::host().stmt_column_name(_stmt, column));
    }
    serval_db_type_t type(int column) const noexcept
    {
        return detail::host().stmt_column_type(_stmt, column);
    }
    bool isNull(int column) const noexcept { return type(column) == SERVAL_DB_NULL; }

    /// The column as T: an integral type, bool, double/float, std::string_view (valid until the
    /// next row), std::string, Blob, or std::optional of one of those (nullopt for NULL). Values
    /// convert as SQLite does: NULL reads as 0 or "".
    template <typename T> T get(int column) const
    {
        const serval_host_api_t& h = detail::host();
        if constexpr (detail::IsOptional<T>::value) {
            if (isNull(column)) return std::nullopt;
            return get<typename T::value_type>(column);
        } else if constexpr (std::is_same_v<T, bool>) {
            return h.stmt_column_int64(_stmt, column) != 0;
        } else if constexpr (std::is_integral_v<T>) {
            return static_cast<T>(h.stmt_column_int64(_stmt, column));
        } else if constexpr (std::is_floating_point_v<T>) {
            return static_cast<T>(h.stmt_column_double(_stmt, column));
        } else if constexpr (std::is_same_v<T, std::string_view>) {
            return detail::view(h.stmt_column_text(_stmt, column));
        } else if constexpr (std::is_same_v<T, std::string>) {
            return std::string(detail::view(h.stmt_column_text(_stmt, column)));
        } else if constexpr (std::is_same_v<T, Blob>) {
            return Blob{detail::view(h.stmt_column_blob(_stmt, column))};
        } else {
            static_assert(sizeof(T) == 0, "Row::get<T>: T must be a number, bool, string, Blob or optional");
        }
    }

private:
    serval_stmt_t* _stmt;
};

/// A prepared statement, handed back to its connection's cache when destroyed. Move-only.
class Statement
{
public:
    Statement() noexcept = default;
    explicit Statement(serval_stmt_t* stmt) noexcept : _stmt(stmt) {}
    Statement(Statement&& other) noexcept : _stmt(std::exchange(other._stmt, nullptr)) {}
    Statement& operator=(Statement&& other) noexcept
    {
        if (this != &other) {
            finish();
            _stmt = std::exchange(other._stmt, nullptr);
        }
        return *this;
    }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    ~Statement() { finish(); }

    serval_stmt_t* handle() const noexcept { return _stmt; }

    /// Binds parameter `index` (1 = the first `?`): nullptr or std::nullopt for NULL, any
    /// integral type or bool, double/float, text (std::string_view, std::string, const char*),
    /// Blob, or std::optional of those.
    template <typename T> Statement& bind(int index, const T& value)
    {
        const serval_host_api_t& h = detail::host();
        serval_status_t status;
        if constexpr (std::is_same_v<T, std::nullptr_t> || std::is_same_v<T, std::nullopt_t>) {
            status = h.stmt_bind_null(_stmt, index);
        } else if constexpr (detail::IsOptional<T>::value) {
            if (!value) return bind(index, nullptr);
            return bind(index, *value);
        } else if constexpr (std::is_integral_v<T>) {
            status = h.stmt_bind_int64(_stmt, index, static_cast<int64_t>(value));
        } else if constexpr (std::is_floating_point_v<T>) {
            status = h.stmt_bind_double(_stmt, index, static_cast<double>(value));
        } else if constexpr (std::is_same_v<T, Blob>) {
            status = h.stmt_bind_blob(_stmt, index, value.bytes.data(), value.bytes.size());
        } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
            status = h.stmt_bind_text(_stmt, index, detail::str(std::string_view(value)));
        } else {
            static_assert(sizeof(T) == 0, "Statement::bind: unsupported parameter type");
        }
        detail::checkDb(status, "stmt_bind");
        return *this;
    }
    /// Binds every argument in order, from parameter 1.
    template <typename... Args> Statement& bindAll(const Args&... args)
    {
        int index = 0;
        (bind(++index, args), ...);
        return *this;
    }

    /// Runs the statement (first call) or moves to the next row: true while a row is there.
    bool step()
    {
        bool row = false;
        detail::checkDb(detail::host().stmt_step(_stmt, &row), "stmt_step");
        return row;
    }
    Row row() const noexcept { return Row(_stmt); }
    /// Ends the current run early; bindings stay.
    void reset() { detail::checkDb(detail::host().stmt_reset(_stmt), "stmt_reset"); }
    /// Rows inserted, updated or deleted by the run that just finished.
    int64_t changes() const noexcept { return detail::host().stmt_changes(_stmt); }

private:
    void finish() noexcept
    {
        if (_stmt != nullptr) detail::host().stmt_finish(_stmt);
        _stmt = nullptr;
    }

    serval_stmt_t* _stmt = nullptr;
};

/// A connection lent by a data source's pool, handed back when destroyed (a transaction left
/// open is rolled back). Move-only; one thread at a time.
class Rows;

class Connection
{
public:
    explicit Connection(serval_db_t* db) noexcept : _db(db) {}
    Connection(Connection&& other) noexcept : _db(std::exchange(other._db, nullptr)) {}
    Connection& operator=(Connection&& other) noexcept
    {
        if (this != &other) {
            release();
            _db = std::exchange(other._db, nullptr);
        }
        return *this;
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() { release(); }

    serval_db_t* handle() const noexcept { return _db; }

    /// The statement for `sql` (prepared once per connection, then cached).
    Statement prepare(std::string_view sql)
    {
        serval_stmt_t* stmt = nullptr;
        detail::checkDb(detail::host().db_prepare(_db, detail::str(sql), &stmt), "db_prepare");
        return Statement(stmt);
    }
    /// The rows of `sql` with `args` bound to its `?`s in order.
    template <typename... Args> Rows query(std::string_view sql, const Args&... args);
    /// Runs `sql` with `args` to the end; returns the rows it inserted, updated or deleted.
    template <typename... Args> int64_t exec(std::string_view sql, const Args&... args)
    {
        Statement statement = prepare(sql);
        statement.bindAll(args...);
        while (statement.step()) {
        }
        return statement.changes();
    }
    /// The first column of the first row of `sql` as T, or nullopt when there is no row.
    template <typename T, typename... Args> std::optional<T> scalar(std::string_view sql, const Args&... args)
    {
        Statement statement = prepare(sql);
        statement.bindAll(args...);
        if (!statement.step()) return std::nullopt;
        return statement.row().get<T>(0);
    }
    /// The first row of `sql` as owned values, one type per column (`auto [id, created] =
    /// *c.row<int64_t, std::string>("INSERT ... RETURNING id, created", ...)`), or nullopt when
    /// there is none. The statement runs to its end (an INSERT ... RETURNING is complete).
    template <typename... Ts, typename... Args>
    std::optional<std::tuple<Ts...>> row(std::string_view sql, const Args&... args)
    {
        static_assert(sizeof...(Ts) > 0, "row<T...>(): name a type per column");
        Statement statement = prepare(sql);
        statement.bindAll(args...);
        if (!statement.step()) return std::nullopt;
        Row current = statement.row();
        std::optional<std::tuple<Ts...>> out = columns<Ts...>(current, std::index_sequence_for<Ts...>());
        while (statement.step()) {
        }
        return out;
    }
    /// Runs several statements without parameters (DDL, scripts).
    void execScript(std::string_view sql)
    {
        detail::checkDb(detail::host().db_exec(_db, detail::str(sql)), "db_exec");
    }

    void begin() { detail::checkDb(detail::host().db_begin(_db), "db_begin"); }
    void commit() { detail::checkDb(detail::host().db_commit(_db), "db_commit"); }
    void rollback() { detail::checkDb(detail::host().db_rollback(_db), "db_rollback"); }

    /// Runs `body(*this)` in a transaction: committed when it returns, rolled back when it throws
    /// (and the exception passes on). Returns what `body` returns.
    template <typename F> auto transaction(F&& body) -> decltype(body(std::declval<Connection&>()))
    {
        begin();
        try {
            if constexpr (std::is_void_v<decltype(body(*this))>) {
                body(*this);
                commit();
            } else {
                auto result = body(*this);
                commit();
                return result;
            }
        } catch (...) {
            detail::host().db_rollback(_db); // a failure here is the database's: the first one wins
            throw;
        }
    }

private:
    template <typename... Ts, size_t... I>
    static std::tuple<Ts...> columns(const Row& row, std::index_sequence<I...>)
    {
        return std::tuple<Ts...>(row.get<Ts>(static_cast<int>(I))...);
    }
    void release() noexcept
    {
        if (_db != nullptr) detail::host().db_release(_db);
        _db = nullptr;
    }

    serval_db_t* _db = nullptr;
};

/// The rows of one query as an input range: the statement runs when iteration begins, each
/// increment steps to the next row. Holds the statement (and, from DataSource::query, the
/// connection) until it is destroyed. Iterate once.
class Rows
{
public:
    class iterator
    {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = Row;
        using difference_type = std::ptrdiff_t;
        using pointer = const Row*;
        using reference = Row;

        iterator() noexcept = default;
        explicit iterator(Statement* statement) : _statement(statement) { advance(); }
        Row operator*() const noexcept { return _statement->row(); }
        iterator& operator++()
        {
            advance();
            return *this;
        }
        bool operator==(const iterator& other) const noexcept { return _statement == other._statement; }
        bool operator!=(const iterator& other) const noexcept { return _statement != other._statement; }

    private:
        void advance()
        {
            if (_statement != nullptr && !_statement->step()) _statement = nullptr;
        }
        Statement* _statement = nullptr;
    };

    Rows(std::optional<Connection> owned, Statement statement) noexcept
        : _owned(std::move(owned)), _statement(std::move(statement))
    {}

    iterator begin() & { return iterator(&_statement); }
    /// Not on a temporary: `*db.query(...).begin()` would give a Row of a statement that ends
    /// with the statement's line (its values read 0 and ""). Iterate with `for (Row r :
    /// db.query(...))`, keep the Rows in a variable, or take owned values with row<T...>().
    iterator begin() && = delete;
    iterator end() noexcept { return iterator(); }
    Statement& statement() noexcept { return _statement; }

private:
    // Declared first, destroyed last: the statement goes back to the connection before the
    // connection goes back to its pool.
    std::optional<Connection> _owned;
    Statement _statement;
};

template <typename... Args> Rows Connection::query(std::string_view sql, const Args&... args)
{
    Statement statement = prepare(sql);
    statement.bindAll(args...);
    return Rows(std::nullopt, std::move(statement));
}

/// A data source of the app's context (web.xml <resource-ref>): a cheap handle, valid for the
/// context's lifetime, usable from any thread. Each query() / exec() / transaction() borrows a
/// connection for its own duration; connection() borrows one for several statements.
class DataSource
{
public:
    explicit DataSource(serval_datasource_t* handle) noexcept : _handle(handle) {}
    serval_datasource_t* handle() const noexcept { return _handle; }

    /// A connection from the pool (waits up to acquireTimeout; throws DbError, unavailable()).
    Connection connection() const
    {
        serval_db_t* db = nullptr;
        detail::checkDb(detail::host().datasource_acquire(_handle, &db), "datasource_acquire");
        return Connection(db);
    }
    /// The rows of `sql`: the connection stays borrowed while the Rows live.
    template <typename... Args> Rows query(std::string_view sql, const Args&... args) const
    {
        Connection c = connection();
        Statement statement = c.prepare(sql);
        statement.bindAll(args...);
        return Rows(std::optional<Connection>(std::move(c)), std::move(statement));
    }
    template <typename... Args> int64_t exec(std::string_view sql, const Args&... args) const
    {
        return connection().exec(sql, args...);
    }
    template <typename T, typename... Args>
    std::optional<T> scalar(std::string_view sql, const Args&... args) const
    {
        return connection().scalar<T>(sql, args...);
    }
    /// The first row as owned values (Connection::row).
    template <typename... Ts, typename... Args>
    std::optional<std::tuple<Ts...>> row(std::string_view sql, const Args&... args) const
    {
        return connection().row<Ts...>(sql, args...);
    }
    /// Borrows a connection and runs `body(connection)` in a transaction (Connection::transaction).
    template <typename F> auto transaction(F&& body) const
    {
        Connection c = connection();
        return c.transaction(std::forward<F>(body));
    }

private:
    serval_datasource_t* _handle;
};

inline DataSource ServletContext::dataSource(std::string_view name) const
{
    if (!detail::hasDataSources()) {
        throw Error(SERVAL_UNSUPPORTED,
                    "this container has no data sources (they came with ABI 1.2): upgrade Serval");
    }
    serval_datasource_t* handle = nullptr;
    serval_status_t status = detail::host().context_data_source(_handle, detail::str(name), &handle);
    if (status == SERVAL_NOT_FOUND) {
        throw Error(status, "no data source \"" + std::string(name) +
                                "\": declare it in WEB-INF/web.xml as <resource-ref><res-ref-name>" +
                                std::string(name) + "</res-ref-name></resource-ref>");
    }
    detail::check(status, "context_data_source");
    return DataSource(handle);
}

} // namespace serval
