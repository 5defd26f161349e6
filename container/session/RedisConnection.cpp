#include "session/RedisConnection.h"

#include "util/Strings.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

namespace serval::session {

namespace {

timeval toTimeval(std::chrono::milliseconds ms)
{
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
    return tv;
}

[[noreturn]] void badUrl(std::string_view url, std::string_view why)
{
    throw std::invalid_argument(
        "Redis url \"" + std::string(url) + "\": " + std::string(why) +
        "; use redis://[[user]:password@]host[:port][/db] or unix:///path/to/socket[?db=N]");
}

int parseDatabase(std::string_view url, std::string_view text)
{
    std::optional<uint64_t> db = util::parseUnsigned(text);
    if (!db || *db > 15'000) badUrl(url, "the database must be a number");
    return static_cast<int>(*db);
}

} // namespace

RedisAddress RedisAddress::parse(std::string_view url)
{
    RedisAddress address;
    if (util::startsWith(url, "unix://")) {
        std::string_view rest = url.substr(7);
        size_t query = rest.find('?');
        address.socketPath = std::string(rest.substr(0, query));
        if (address.socketPath.empty() || address.socketPath.front() != '/')
            badUrl(url, "the socket path must be absolute");
        if (query != std::string_view::npos) {
            std::string_view q = rest.substr(query + 1);
            if (!util::startsWith(q, "db=")) badUrl(url, "the only query parameter is db=N");
            address.database = parseDatabase(url, q.substr(3));
        }
        return address;
    }
    if (!util::startsWith(url, "redis://")) badUrl(url, "unknown scheme");
    std::string_view rest = url.substr(8);
    size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    if (slash != std::string_view::npos && slash + 1 < rest.size())
        address.database = parseDatabase(url, rest.substr(slash + 1));
    size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
        std::string_view credentials = authority.substr(0, at);
        authority = authority.substr(at + 1);
        size_t colon = credentials.find(':');
        if (colon == std::string_view::npos) badUrl(url, "credentials must be user:password or :password");
        address.user = std::string(credentials.substr(0, colon));
        std::optional<std::string> password = util::percentDecode(credentials.substr(colon + 1));
        if (!password) badUrl(url, "the password has a malformed %-escape");
        address.password = *password;
    }
    std::string_view host = authority;
    if (!authority.empty() && authority.front() == '[') {
        size_t close = authority.find(']');
        if (close == std::string_view::npos) badUrl(url, "unclosed [ in the host");
        host = authority.substr(1, close - 1);
        authority = authority.substr(close + 1);
        if (!authority.empty() && authority.front() != ':') badUrl(url, "unexpected text after the host");
    } else {
        size_t colon = authority.rfind(':');
        host = authority.substr(0, colon);
        authority = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
    }
    if (host.empty()) badUrl(url, "the host is missing");
    address.host = std::string(host);
    if (!authority.empty()) {
        std::optional<uint64_t> port = util::parseUnsigned(authority.substr(1));
        if (!port || *port == 0 || *port > 65535) badUrl(url, "the port must be 1 to 65535");
        address.port = static_cast<uint16_t>(*port);
    }
    return address;
}

std::string RedisAddress::describe() const
{
    std::string where = socketPath.empty() ? host + ":" + std::to_string(port) : "unix:" + socketPath;
    return where + "/" + std::to_string(database);
}

RedisReply::~RedisReply()
{
    if (_reply != nullptr) freeReplyObject(_reply);
}

RedisReply& RedisReply::operator=(RedisReply&& other) noexcept
{
    if (this != &other) {
        if (_reply != nullptr) freeReplyObject(_reply);
        _reply = other._reply;
        other._reply = nullptr;
    }
    return *this;
}

bool RedisReply::isError() const noexcept
{
    return _reply != nullptr && _reply->type == REDIS_REPLY_ERROR;
}

std::string RedisReply::error() const
{
    return isError() ? std::string(_reply->str, _reply->len) : std::string();
}

RedisConnection::RedisConnection(const RedisAddress& address, std::chrono::milliseconds connectTimeout,
                                 std::chrono::milliseconds commandTimeout)
    : _context(nullptr, redisFree), _address(address.describe())
{
    timeval connectTv = toTimeval(connectTimeout);
    redisContext* context = address.socketPath.empty()
                                ? redisConnectWithTimeout(address.host.c_str(), address.port, connectTv)
                                : redisConnectUnixWithTimeout(address.socketPath.c_str(), connectTv);
    _context.reset(context);
    if (context == nullptr) throw RedisError("redis " + _address + ": cannot allocate a connection");
    if (context->err != 0) fail("cannot connect");
    if (redisSetTimeout(context, toTimeval(commandTimeout)) != REDIS_OK)
        fail("cannot set the command timeout");
    redisEnableKeepAlive(context);
    if (!address.password.empty()) {
        RedisReply auth = address.user.empty() ? command({"AUTH", address.password})
                                               : command({"AUTH", address.user, address.password});
        if (auth.isError()) throw RedisError("redis " + _address + ": AUTH refused: " + auth.error());
    }
    if (address.database != 0) {
        std::string db = std::to_string(address.database);
        RedisReply select = command({"SELECT", db});
        if (select.isError()) throw RedisError("redis " + _address + ": SELECT refused: " + select.error());
    }
}

RedisConnection::~RedisConnection() = default;

void RedisConnection::fail(std::string_view what)
{
    _broken = true;
    std::string why = _context && _context->errstr[0] != '\0' ? _context->errstr : "connection lost";
    throw RedisError("redis " + _address + ": " + std::string(what) + ": " + why);
}

void RedisConnection::append(const std::vector<std::string_view>& args)
{
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (std::string_view a : args) {
        argv.push_back(a.data() != nullptr ? a.data() : "");
        lengths.push_back(a.size());
    }
    if (redisAppendCommandArgv(_context.get(), static_cast<int>(args.size()), argv.data(), lengths.data()) !=
        REDIS_OK) {
        fail("cannot queue a command");
    }
}

RedisReply RedisConnection::reply()
{
    void* raw = nullptr;
    if (redisGetReply(_context.get(), &raw) != REDIS_OK || raw == nullptr) fail("no reply");
    return RedisReply(static_cast<redisReply*>(raw));
}

RedisReply RedisConnection::command(const std::vector<std::string_view>& args)
{
    append(args);
    return reply();
}

} // namespace serval::session
