#include "valves/AccessLog.h"

#include "util/Log.h"
#include "util/Redact.h"
#include "util/Strings.h"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace serval::valves {

namespace {

/// The bytes a quoted field escapes ('"', '\\', control and non-ASCII), as a table: the common
/// case (nothing to escape) is one lookup per byte and one memcpy per field.
struct EscapeTable
{
    bool escape[256];
    constexpr EscapeTable() : escape()
    {
        for (int byte = 0; byte < 256; ++byte)
            escape[byte] = byte == '"' || byte == '\\' || byte < 0x20 || byte >= 0x7f;
    }
};
constexpr EscapeTable kEscape;

/// Writes a line into memory reserved up front (formatLine computes the worst case), so the
/// line costs one resize instead of a dozen std::string appends.
class LineWriter
{
public:
    explicit LineWriter(char* at) noexcept : _p(at) {}
    char* position() const noexcept { return _p; }
    void put(char c) noexcept { *_p++ = c; }
    void put(std::string_view text) noexcept
    {
        std::memcpy(_p, text.data(), text.size());
        _p += text.size();
    }
    /// At most 4 bytes per input byte ("\xHH").
    void putEscaped(std::string_view text) noexcept
    {
        static const char kHex[] = "0123456789ABCDEF";
        size_t plain = 0;
        while (plain < text.size() && !kEscape.escape[static_cast<unsigned char>(text[plain])])
            ++plain;
        put(text.substr(0, plain));
        for (char c : text.substr(plain)) {
            auto byte = static_cast<unsigned char>(c);
            if (!kEscape.escape[byte]) {
                *_p++ = c;
            } else if (byte == '"' || byte == '\\') {
                *_p++ = '\\';
                *_p++ = c;
            } else {
                *_p++ = '\\';
                *_p++ = 'x';
                *_p++ = kHex[byte >> 4];
                *_p++ = kHex[byte & 0xf];
            }
        }
    }
    /// At most 2 + 4 * size bytes.
    void putQuotedOrDash(std::string_view value) noexcept
    {
        put('"');
        if (value.empty()) {
            put('-');
        } else {
            putEscaped(value);
        }
        put('"');
    }
    /// At most 20 bytes.
    void putNumber(uint64_t value) noexcept
    {
        char digits[24];
        char* end = digits + sizeof digits;
        char* p = end;
        do {
            *--p = static_cast<char>('0' + value % 10);
            value /= 10;
        } while (value != 0);
        put(std::string_view(p, static_cast<size_t>(end - p)));
    }

private:
    char* _p;
};

/// "[25/Nov/2026:20:55:01 +0000]", formatted once per second per thread.
std::string_view logTime(std::time_t now)
{
    thread_local std::time_t cachedSecond = -1;
    thread_local char cached[40];
    thread_local size_t cachedLength = 0;
    if (now != cachedSecond) {
        struct tm tmv;
        ::gmtime_r(&now, &tmv);
        cachedLength = ::strftime(cached, sizeof cached, "[%d/%b/%Y:%H:%M:%S +0000]", &tmv);
        cachedSecond = now;
    }
    return std::string_view(cached, cachedLength);
}

uint64_t bodyBytes(const http::HttpExchange& exchange, uint64_t bytesSent) noexcept
{
    const http::HttpResponse& response = exchange.response;
    int status = response.status();
    if (response.headOnly() || exchange.request.isHead() || status < 200 || status == 204 || status == 304) {
        return 0;
    }
    if (response.isChunked()) return bytesSent;
    uint64_t declared = response.contentLength();
    return declared < bytesSent ? declared : bytesSent;
}

size_t shardIndexForThisThread() noexcept
{
    static std::atomic<size_t> next{0};
    thread_local size_t index = next.fetch_add(1, std::memory_order_relaxed);
    return index;
}

} // namespace

AccessLog::AccessLog(std::string path) : _path(std::move(path))
{
    _fd = ::open(_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (_fd < 0) {
        LOG_ERROR("access-log",
                  "cannot open access log " + _path + ": " + std::strerror(errno) +
                      "; access lines are dropped until the path is writable and serval restarts");
        return;
    }
    for (Shard& shard : _shards)
        shard.buffer.reserve(kFlushBytes + 1024);
    _flusher = std::thread([this] { flusherLoop(); });
}

AccessLog::~AccessLog()
{
    {
        std::lock_guard<std::mutex> lock(_stopMutex);
        _stopping = true;
    }
    _stopCondition.notify_all();
    if (_flusher.joinable()) _flusher.join();
    flush();
    if (_fd >= 0) ::close(_fd);
}

void AccessLog::formatLine(std::string& out, const http::HttpExchange& exchange, uint64_t bytesSent,
                           std::time_t now)
{
    const http::HttpRequest& request = exchange.request;
    // Both fields in one pass over the request headers (first occurrence wins, as header()).
    std::string_view referer;
    std::string_view userAgent;
    bool refererSeen = false;
    bool userAgentSeen = false;
    for (const http::Header& h : request.headers) {
        if (!refererSeen && h.name.size() == 7 && util::equalsIgnoreCase(h.name, "Referer")) {
            referer = h.value;
            refererSeen = true;
        } else if (!userAgentSeen && h.name.size() == 10 && util::equalsIgnoreCase(h.name, "User-Agent")) {
            userAgent = h.value;
            userAgentSeen = true;
        }
    }
    // Secrets in query strings (?token=, ?access_token=, ?csrf=, ...) are written as REDACTED;
    // a target without '?' costs one scan.
    thread_local std::string redactedTarget;
    thread_local std::string redactedReferer;
    std::string_view target = request.target;
    if (util::redactTarget(target, redactedTarget)) target = redactedTarget;
    if (util::redactTarget(referer, redactedReferer)) referer = redactedReferer;
    const std::string_view time = logTime(now);
    // Worst case: every escaped byte becomes 4, five numbers of 20 digits, the fixed text.
    const size_t escaped = request.remoteAddress.size() + request.method.size() + target.size() +
                           referer.size() + userAgent.size();
    const size_t bound = 4 * escaped + time.size() + 5 * 20 + 64;
    const size_t before = out.size();
    out.resize(before + bound);
    LineWriter w(out.data() + before);

    if (request.remoteAddress.empty()) {
        w.put('-');
    } else {
        w.putEscaped(request.remoteAddress);
    }
    w.put(" - - ");
    w.put(time);
    w.put(" \"");
    if (request.method.empty()) {
        w.put('-');
    } else {
        w.putEscaped(request.method);
        w.put(' ');
        w.putEscaped(target);
        w.put(" HTTP/");
        w.putNumber(static_cast<uint64_t>(request.versionMajor));
        w.put('.');
        w.putNumber(static_cast<uint64_t>(request.versionMinor));
    }
    w.put("\" ");
    w.putNumber(static_cast<uint64_t>(exchange.response.status()));
    w.put(' ');
    uint64_t body = bodyBytes(exchange, bytesSent);
    if (body == 0) {
        w.put('-');
    } else {
        w.putNumber(body);
    }
    w.put(' ');
    w.putQuotedOrDash(referer);
    w.put(' ');
    w.putQuotedOrDash(userAgent);
    w.put('\n');
    out.resize(static_cast<size_t>(w.position() - out.data()));
}

void AccessLog::log(const http::HttpExchange& exchange, uint64_t bytesSent) noexcept
{
    if (_fd < 0) return;
    std::time_t now = std::time(nullptr);
    Shard& shard = _shards[shardIndexForThisThread() % kShards];
    thread_local std::string full;
    {
        // Formatted straight into the shard's buffer: the lock is per shard (in practice per
        // thread), so holding it while formatting costs nothing and saves a copy of the line.
        std::lock_guard<std::mutex> lock(shard.mutex);
        const size_t before = shard.buffer.size();
        try {
            formatLine(shard.buffer, exchange, bytesSent, now);
        } catch (...) {
            // Out of memory while formatting: drop this line rather than fail the request.
            shard.buffer.resize(before);
            return;
        }
        if (shard.buffer.size() < kFlushBytes) return;
        full.swap(shard.buffer); // `full` is empty with capacity: the shard keeps a buffer
    }
    writeOut(full);
    full.clear();
}

void AccessLog::flush() noexcept
{
    if (_fd < 0) return;
    std::string pending;
    for (Shard& shard : _shards) {
        std::lock_guard<std::mutex> lock(shard.mutex);
        if (shard.buffer.empty()) continue;
        try {
            pending.append(shard.buffer);
        } catch (...) {
            writeOut(pending);
            pending.clear();
            writeOut(shard.buffer);
        }
        shard.buffer.clear();
    }
    writeOut(pending);
}

void AccessLog::writeOut(const std::string& data) noexcept
{
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(_fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int error = errno;
            try {
                LOG_WARN("access-log", "write to " + _path + " failed: " + std::strerror(error));
            } catch (...) {
            }
            return;
        }
        done += static_cast<size_t>(n);
    }
}

void AccessLog::flusherLoop() noexcept
{
    std::unique_lock<std::mutex> lock(_stopMutex);
    while (!_stopping) {
        _stopCondition.wait_for(lock, std::chrono::seconds(1), [this] { return _stopping; });
        if (_stopping) break;
        lock.unlock();
        flush();
        lock.lock();
    }
}

} // namespace serval::valves
