#include "session/RedisConnectionPool.h"

#include "util/Log.h"

#include <algorithm>

namespace serval::session {

RedisConnectionPool::Lease::~Lease()
{
    if (_connection) _pool->release(std::move(_connection));
}

RedisConnectionPool::RedisConnectionPool(RedisAddress address, Options options)
    : _address(std::move(address)), _options(options), _description("redis " + _address.describe())
{
    _options.maxConnections = std::max<size_t>(1, _options.maxConnections);
}

void RedisConnectionPool::release(std::unique_ptr<RedisConnection> connection) noexcept
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (connection->broken()) {
        --_open;
    } else {
        _idle.push_back(std::move(connection));
    }
    _slotFreed.notify_one();
}

void RedisConnectionPool::connectionBroke() noexcept
{
    std::vector<std::unique_ptr<RedisConnection>> stale;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        stale.swap(_idle);
        _open -= stale.size();
    }
    _slotFreed.notify_all();
}

void RedisConnectionPool::commandTimedOut(const std::string& error) noexcept
{
    std::vector<std::unique_ptr<RedisConnection>> idle;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (!_stalled.load() && !_down) {
            LOG_ERROR("session", error + "; requests that need a session get 503 until it answers; "
                                         "retrying with back-off");
            _backoff = _options.backoffMin;
        } else {
            _backoff = std::min(std::max(_backoff * 2, _options.backoffMin), _options.backoffMax);
        }
        _stalled.store(true);
        try {
            _lastError = error;
        } catch (...) {
        }
        _retryAt = Clock::now() + _backoff;
        idle.swap(_idle); // they would wait on the same stalled Redis
        _open -= idle.size();
    }
    _slotFreed.notify_all();
}

void RedisConnectionPool::commandAnswered() noexcept
{
    if (!_stalled.load(std::memory_order_relaxed)) return;
    std::lock_guard<std::mutex> lock(_mutex);
    if (!_stalled.load()) return;
    _stalled.store(false);
    _backoff = std::chrono::milliseconds(0);
    LOG_INFO("session", _description + " answers again");
}

std::unique_ptr<RedisConnection> RedisConnectionPool::connect()
{
    return std::make_unique<RedisConnection>(_address, _options.connectTimeout, _options.commandTimeout);
}

RedisConnectionPool::Lease RedisConnectionPool::acquire(bool fresh)
{
    std::unique_lock<std::mutex> lock(_mutex);
    bool slot = _slotFreed.wait_for(lock, _options.commandTimeout,
                                    [&] { return !_idle.empty() || _open < _options.maxConnections; });
    if (!slot) {
        throw RedisError(_description + ": all " + std::to_string(_options.maxConnections) +
                         " connections stayed busy for " + std::to_string(_options.commandTimeout.count()) +
                         " ms; raise maxConnections or find the slow command");
    }
    Clock::time_point now = Clock::now();
    bool failing = _down || _stalled.load();
    if (failing && now < _retryAt) {
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(_retryAt - now).count();
        throw RedisError(_lastError + " (next attempt in " + std::to_string(wait) + " ms)");
    }
    // While down or stalled, this caller probes; everyone else fails fast until the next retry.
    if (failing) _retryAt = now + _backoff;
    if (!_idle.empty()) {
        std::unique_ptr<RedisConnection> connection = std::move(_idle.back());
        _idle.pop_back();
        if (!fresh) return Lease(*this, std::move(connection), true);
        --_open; // a stale-looking idle connection makes room for the fresh one
    }
    ++_open;
    lock.unlock();

    std::unique_ptr<RedisConnection> connection;
    try {
        connection = connect();
    } catch (const RedisError& e) {
        lock.lock();
        --_open;
        _slotFreed.notify_one();
        if (!_down) {
            LOG_ERROR("session",
                      std::string(e.what()) +
                          "; requests that need a session get 503 until it is back; retrying with back-off");
            _backoff = _options.backoffMin;
        } else {
            _backoff = std::min(_backoff * 2, _options.backoffMax);
        }
        _down = true;
        _lastError = e.what();
        _retryAt = Clock::now() + _backoff;
        throw;
    }
    lock.lock();
    if (_down) {
        _down = false;
        _backoff = std::chrono::milliseconds(0);
        LOG_INFO("session", _description + " is reachable again");
    }
    return Lease(*this, std::move(connection), false);
}

} // namespace serval::session
