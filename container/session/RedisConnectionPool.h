#pragma once

#include "session/RedisConnection.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace serval::session {

/// Up to `maxConnections` RedisConnections shared by request threads and the store's
/// committers, with reconnection under back-off.
///
/// While Redis is unreachable, acquire() fails at once (RedisError) instead of making every
/// request wait for a connect timeout; one caller per back-off period (100 ms doubling up to
/// the maximum) tries to connect again. The first failure and the recovery each write one log
/// line; the failures in between do not.
///
/// Thread-safe.
class RedisConnectionPool
{
public:
    struct Options
    {
        std::chrono::milliseconds connectTimeout{1000};
        std::chrono::milliseconds commandTimeout{1000};
        size_t maxConnections = 16;
        std::chrono::milliseconds backoffMin{100};
        std::chrono::milliseconds backoffMax{5000};
    };

    /// A connection lent to one caller; goes back to the pool on destruction unless it broke.
    class Lease
    {
    public:
        Lease(RedisConnectionPool& pool, std::unique_ptr<RedisConnection> connection, bool reused) noexcept
            : _pool(&pool), _connection(std::move(connection)), _reused(reused)
        {}
        ~Lease();
        Lease(Lease&& other) noexcept = default;
        Lease& operator=(Lease&&) = delete;
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;

        RedisConnection& operator*() noexcept { return *_connection; }
        RedisConnection* operator->() noexcept { return _connection.get(); }
        /// True when the connection sat idle in the pool before (it may have gone stale while
        /// Redis restarted: worth one retry on a fresh connection).
        bool reused() const noexcept { return _reused; }

    private:
        RedisConnectionPool* _pool;
        std::unique_ptr<RedisConnection> _connection;
        bool _reused;
    };

    RedisConnectionPool(RedisAddress address, Options options);

    /// An idle connection, or a new one. `fresh` skips idle ones (the retry after a stale
    /// connection failed). Waits up to commandTimeout for a free slot. Throws RedisError.
    Lease acquire(bool fresh = false);

    /// A command failed on a connection that was working: drops idle connections so that the
    /// next callers connect afresh (a restarted Redis broke all of them).
    void connectionBroke() noexcept;
    /// A command got no answer in time (RedisTimeout): Redis is stalled. Like a failed connect,
    /// callers fail at once while the pool backs off (one probes per period), the idle
    /// connections are dropped, one line is logged; commandAnswered() ends it.
    void commandTimedOut(const std::string& error) noexcept;
    /// A command was answered: ends a stall (one line: Redis answers again). Cheap otherwise.
    void commandAnswered() noexcept;

    const RedisAddress& address() const noexcept { return _address; }
    size_t maxConnections() const noexcept { return _options.maxConnections; }

private:
    void release(std::unique_ptr<RedisConnection> connection) noexcept;
    std::unique_ptr<RedisConnection> connect();

    using Clock = std::chrono::steady_clock;

    RedisAddress _address;
    Options _options;
    std::string _description;

    std::mutex _mutex;
    std::condition_variable _slotFreed;
    std::vector<std::unique_ptr<RedisConnection>> _idle;
    size_t _open = 0;                  ///< connections lent out or idle, and connects in progress
    bool _down = false;                ///< connecting fails
    std::atomic<bool> _stalled{false}; ///< connected, but commands time out
    std::chrono::milliseconds _backoff{0};
    Clock::time_point _retryAt{};
    std::string _lastError;
};

} // namespace serval::session
