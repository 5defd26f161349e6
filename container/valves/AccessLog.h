#pragma once

#include "http/HttpHandler.h"

#include <array>
#include <condition_variable>
#include <cstdint>
#include <ctime>
#include <mutex>
#include <string>
#include <thread>

namespace serval::valves {

/// One Host's access log (Tomcat's AccessLogValve, pattern "combined"): one line per
/// completed exchange in NCSA Combined Log Format,
///   127.0.0.1 - - [25/Nov/2026:20:55:01 +0000] "GET /x HTTP/1.1" 200 4096 "referer" "user-agent"
/// Field rules: the time is when the response completed, in UTC; %u is always "-" (no
/// authentication here); the request line is the raw target as received, except that the values
/// of secret query parameters (util/Redact.h: token, access_token, csrf, password, api_key, ...)
/// are written as REDACTED, in the Referer too; %b is the body bytes
/// sent ("-" for none); absent Referer or User-Agent are "-". Inside the quoted fields '"' and
/// '\' are backslash-escaped and control and non-ASCII bytes are written as \xHH (nginx's
/// escaping), so a client cannot forge lines or fields.
///
/// THREADS: log() is called concurrently from I/O threads and workers (HttpHandler::complete).
/// Lines go to one of 8 buffers chosen per thread, each behind its own mutex (uncontended in
/// practice: held for one append). A buffer is written with one write() on an O_APPEND fd when
/// it passes 32 KiB, and a background thread flushes every buffer once per second; the
/// destructor flushes what is left. Lines from different threads may therefore appear out of
/// time order by up to a second, as with several nginx workers.
/// OWNERSHIP: the Host owns its AccessLog; the destructor must run after the last log() call.
class AccessLog
{
public:
    /// Opens (append, create 0644) the file, creating no directories. If it cannot be opened,
    /// logs one error line to the server log naming the path and drops access lines.
    explicit AccessLog(std::string path);
    ~AccessLog();
    AccessLog(const AccessLog&) = delete;
    AccessLog& operator=(const AccessLog&) = delete;

    /// `bytesSent` is what HttpHandler::complete reports: every byte written for the response,
    /// head included. The logged %b is the body part: the declared length for a fixed-length
    /// response (capped at bytesSent when the client went away early), 0 for HEAD, 1xx, 204 and
    /// 304, and bytesSent itself for chunked responses, where the split is not known.
    void log(const http::HttpExchange& exchange, uint64_t bytesSent) noexcept;
    /// Writes every buffered line now.
    void flush() noexcept;

    bool isOpen() const noexcept { return _fd >= 0; }
    const std::string& path() const noexcept { return _path; }

    /// Appends one formatted line (with '\n') for `exchange` completed at `now`. Pure; exposed
    /// for tests.
    static void formatLine(std::string& out, const http::HttpExchange& exchange, uint64_t bytesSent,
                           std::time_t now);

private:
    static constexpr size_t kShards = 8;
    static constexpr size_t kFlushBytes = 32 * 1024;

    struct Shard
    {
        std::mutex mutex;
        std::string buffer;
    };

    void writeOut(const std::string& data) noexcept;
    void flusherLoop() noexcept;

    std::string _path;
    int _fd = -1;
    std::array<Shard, kShards> _shards;
    std::mutex _stopMutex;
    std::condition_variable _stopCondition;
    bool _stopping = false;
    std::thread _flusher;
};

} // namespace serval::valves
