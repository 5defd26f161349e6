#include "valves/AccessLog.h"

#include "util/Log.h"
#include "util/Strings.h"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace serval::valves {

namespace {

/// Appends `text` escaped for a quoted log field.
void appendEscaped(std::string& out, std::string_view text)
{
    static const char kHex[] = "0123456789ABCDEF";
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (byte < 0x20 || byte >= 0x7f) {
            out.append("\\x");
            out.push_back(kHex[byte >> 4]);
            out.push_back(kHex[byte & 0xf]);
        } else {
            out.push_back(c);
        }
    }
}

void appendQuotedOrDash(std::string& out, std::string_view value)
{
    out.push_back('"');
    if (value.empty()) {
        out.push_back('-');
    } else {
        appendEscaped(out, value);
    }
    out.push_back('"');
}

void appendNumber(std::string& out, uint64_t value)
{
    char digits[24];
    size_t n = 0;
    do {
        digits[n++] = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value != 0);
    while (n > 0)
        out.push_back(digits[--n]);
}

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
    if (request.remoteAddress.empty()) {
        out.push_back('-');
    } else {
        appendEscaped(out, request.remoteAddress);
    }
    out.append(" - - ");
    out.append(logTime(now));
    out.append(" \"");
    if (request.method.empty()) {
        out.push_back('-');
    } else {
        appendEscaped(out, request.method);
        out.push_back(' ');
        appendEscaped(out, request.target);
        out.append(" HTTP/");
        appendNumber(out, static_cast<uint64_t>(request.versionMajor));
        out.push_back('.');
        appendNumber(out, static_cast<uint64_t>(request.versionMinor));
    }
    out.append("\" ");
    appendNumber(out, static_cast<uint64_t>(exchange.response.status()));
    out.push_back(' ');
    uint64_t body = bodyBytes(exchange, bytesSent);
    if (body == 0) {
        out.push_back('-');
    } else {
        appendNumber(out, body);
    }
    out.push_back(' ');
    appendQuotedOrDash(out, request.header("Referer"));
    out.push_back(' ');
    appendQuotedOrDash(out, request.header("User-Agent"));
    out.push_back('\n');
}

void AccessLog::log(const http::HttpExchange& exchange, uint64_t bytesSent) noexcept
{
    if (_fd < 0) return;
    try {
        thread_local std::string line;
        line.clear();
        formatLine(line, exchange, bytesSent, std::time(nullptr));
        Shard& shard = _shards[shardIndexForThisThread() % kShards];
        thread_local std::string full;
        {
            std::lock_guard<std::mutex> lock(shard.mutex);
            shard.buffer.append(line);
            if (shard.buffer.size() < kFlushBytes) return;
            full.swap(shard.buffer); // `full` is empty with capacity: the shard keeps a buffer
        }
        writeOut(full);
        full.clear();
    } catch (...) {
        // Out of memory while formatting: drop this line rather than fail the request.
    }
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
