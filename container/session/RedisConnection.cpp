#include "session/RedisConnection.h"

#include "util/Strings.h"

#include <cerrno>
#include <cstring>
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
    // hiredis reports the socket's SO_RCVTIMEO/SO_SNDTIMEO as an I/O error with EAGAIN's text.
    bool timedOut = _context && _context->err == REDIS_ERR_IO && why == std::strerror(EAGAIN);
    std::string message = "redis " + _address + ": " + std::string(what) + ": " + why;
    if (timedOut) throw RedisTimeout(message + " (no answer within the command timeout)");
    throw RedisError(message);
}

void RedisConnection::append(const std::vector<std::string_view>& args)
{
    // Short commands (a load's HGETALL) need no heap for the argument vectors.
    constexpr size_t kOnStack = 8;
    const char* stackArgv[kOnStack];
    size_t stackLengths[kOnStack];
    std::vector<const char*> heapArgv;
    std::vector<size_t> heapLengths;
    const char** argv = stackArgv;
    size_t* lengths = stackLengths;
    if (args.size() > kOnStack) {
        heapArgv.resize(args.size());
        heapLengths.resize(args.size());
        argv = heapArgv.data();
        lengths = heapLengths.data();
    }
    for (size_t i = 0; i < args.size(); ++i) {
        argv[i] = args[i].data() != nullptr ? args[i].data() : "";
        lengths[i] = args[i].size();
    }
    if (redisAppendCommandArgv(_context.get(), static_cast<int>(args.size()), argv, lengths) != REDIS_OK)
        fail("cannot queue a command");
}

RedisReply RedisConnection::reply()
{
    void* raw = nullptr;
    if (redisGetReply(_context.get(), &raw) != REDIS_OK || raw == nullptr) fail("no reply");
    return RedisReply(static_cast<redisReply*>(raw));
}

namespace {

// hiredis reader callbacks that write into a FlatReply (the reader's privdata) instead of
// allocating a redisReply per element. Every callback returns the FlatReply itself: hiredis
// only needs a non-null object, and freeObject has nothing to free. They never throw into
// hiredis: out of memory returns nullptr, which hiredis reports as a reader error.
FlatReply* flatOf(const redisReadTask* task)
{
    return static_cast<FlatReply*>(task->privdata);
}

void* flatString(const redisReadTask* task, char* str, size_t len) noexcept
{
    FlatReply* out = flatOf(task);
    try {
        if (task->parent == nullptr) {
            if (task->type == REDIS_REPLY_ERROR) {
                out->type = FlatReply::Type::Error;
                out->error.assign(str, len);
            }
            return out;
        }
        out->spans.emplace_back(static_cast<uint32_t>(out->bytes.size()), static_cast<uint32_t>(len));
        out->bytes.append(str, len);
    } catch (...) {
        return nullptr;
    }
    return out;
}

void* flatArray(const redisReadTask* task, int elements) noexcept
{
    FlatReply* out = flatOf(task);
    if (task->parent == nullptr) {
        out->type = FlatReply::Type::Array;
        try {
            if (elements > 0) out->spans.reserve(static_cast<size_t>(elements));
        } catch (...) {
            return nullptr;
        }
    }
    return out;
}

void* flatScalar(const redisReadTask* task) noexcept
{
    FlatReply* out = flatOf(task);
    if (task->parent == nullptr) return out;
    try { // an integer or nil element: an empty span keeps the pairs aligned
        out->spans.emplace_back(static_cast<uint32_t>(out->bytes.size()), 0u);
    } catch (...) {
        return nullptr;
    }
    return out;
}

void* flatInteger(const redisReadTask* task, long long) noexcept
{
    return flatScalar(task);
}

void flatFree(void*) noexcept {}

redisReplyObjectFunctions kFlatFunctions = {flatString, flatArray, flatInteger, flatScalar, flatFree};

} // namespace

void RedisConnection::flatReply(FlatReply& out)
{
    out.clear();
    redisReader* reader = _context->reader;
    redisReplyObjectFunctions* usual = reader->fn;
    void* usualPrivdata = reader->privdata;
    reader->fn = &kFlatFunctions;
    reader->privdata = &out;
    void* raw = nullptr;
    int status = redisGetReply(_context.get(), &raw);
    reader->fn = usual;
    reader->privdata = usualPrivdata;
    if (status != REDIS_OK || raw == nullptr) fail("no reply");
}

RedisReply RedisConnection::command(const std::vector<std::string_view>& args)
{
    append(args);
    return reply();
}

} // namespace serval::session
