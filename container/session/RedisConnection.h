#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct redisContext;
struct redisReply;

namespace serval::session {

/// Where a Redis server is, from server.xml's `url`:
///   redis://[[user]:password@]host[:port][/db]     (port 6379, db 0 by default)
///   unix:///path/to/redis.sock[?db=N]
struct RedisAddress
{
    std::string host; ///< empty for a unix socket
    uint16_t port = 6379;
    std::string socketPath; ///< empty for TCP
    int database = 0;
    std::string user;
    std::string password;

    /// Throws std::invalid_argument with one line naming what is wrong and the accepted forms.
    static RedisAddress parse(std::string_view url);
    /// "127.0.0.1:6379/0" or "unix:/run/redis.sock/0": for logs; never shows the password.
    std::string describe() const;
};

/// An I/O failure (connect, timeout, the server closed the connection). The connection that
/// raised it is unusable. A Redis error reply is not a RedisError: it comes back as a reply.
class RedisError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

/// The RedisError of a command that got no answer within commandTimeout: Redis is there (it
/// accepted the connection) but stalled (paused, stopped, swapping, a slow script). Retrying on
/// another connection would only wait again.
class RedisTimeout : public RedisError
{
public:
    using RedisError::RedisError;
};

/// Owns one hiredis reply (freeReplyObject on destruction). Move-only.
class RedisReply
{
public:
    RedisReply() = default;
    explicit RedisReply(redisReply* reply) noexcept : _reply(reply) {}
    ~RedisReply();
    RedisReply(RedisReply&& other) noexcept : _reply(other._reply) { other._reply = nullptr; }
    RedisReply& operator=(RedisReply&& other) noexcept;
    RedisReply(const RedisReply&) = delete;
    RedisReply& operator=(const RedisReply&) = delete;

    const redisReply* get() const noexcept { return _reply; }
    bool isError() const noexcept;
    /// The error text of an error reply ("NOSCRIPT No matching script..."), else "".
    std::string error() const;

private:
    redisReply* _reply = nullptr;
};

/// One reply read without a hiredis object per element: an array's elements as spans of one
/// buffer (a session's HGETALL, the hot path). Reused from reply to reply: clear() keeps the
/// capacity, so reading a pipeline of them allocates almost nothing.
struct FlatReply
{
    enum class Type
    {
        Array,
        Error,
        Other ///< a status, integer, nil or bulk string at the top: no elements
    };
    Type type = Type::Other;
    std::string error; ///< Type::Error: the text
    std::string bytes;
    std::vector<std::pair<uint32_t, uint32_t>> spans; ///< element i: offset and length in bytes

    size_t size() const noexcept { return spans.size(); }
    std::string_view at(size_t i) const noexcept { return {bytes.data() + spans[i].first, spans[i].second}; }
    void clear() noexcept
    {
        type = Type::Other;
        error.clear();
        bytes.clear();
        spans.clear();
    }
};

/// One blocking connection to Redis (hiredis's synchronous API), with a connect timeout and a
/// per-command timeout (SO_RCVTIMEO/SO_SNDTIMEO). Authenticates and selects the database on
/// connect. Used by one thread at a time (RedisConnectionPool lends it out); not thread-safe.
class RedisConnection
{
public:
    /// Throws RedisError naming the address and the reason.
    RedisConnection(const RedisAddress& address, std::chrono::milliseconds connectTimeout,
                    std::chrono::milliseconds commandTimeout);
    ~RedisConnection();
    RedisConnection(const RedisConnection&) = delete;
    RedisConnection& operator=(const RedisConnection&) = delete;

    /// Sends one command (binary-safe arguments) and reads its reply. Throws RedisError on I/O
    /// failure, after which broken() is true.
    RedisReply command(const std::vector<std::string_view>& args);
    /// Pipelining: queue commands with append(), then read one reply() per appended command.
    void append(const std::vector<std::string_view>& args);
    RedisReply reply();
    /// reply() into `out` (cleared first) instead of hiredis objects. Nested arrays are
    /// flattened into their parent's elements. Throws RedisError as reply() does.
    void flatReply(FlatReply& out);

    bool broken() const noexcept { return _broken; }
    /// Never to be lent again (a subscribed or tracking connection given up): the pool drops it.
    void retire() noexcept { _broken = true; }

private:
    [[noreturn]] void fail(std::string_view what);

    std::unique_ptr<redisContext, void (*)(redisContext*)> _context;
    std::string _address;
    bool _broken = false;
};

} // namespace serval::session
