#pragma once

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

namespace serval::util {

enum class LogLevel
{
    Debug = 0,
    Info = 1,
    Warn = 2,
    Error = 3,
    Off = 4
};

/// Parses "debug", "info", "warn", "error", "off" (case-insensitive). Returns false if unknown.
bool parseLogLevel(std::string_view text, LogLevel& out);
std::string_view logLevelName(LogLevel level);

/// The server log. One process-wide sink (stderr by default, a file once configured).
/// Thread-safe: any thread may log. Lines look like
///   2026-11-25T20:55:01.123Z INFO  [deployer] deployed /shop (version 3) in 41 ms
/// Each line is written with one write() so lines from different threads never interleave.
class Log
{
public:
    static void setLevel(LogLevel level) noexcept;
    static LogLevel level() noexcept;
    static bool enabled(LogLevel level) noexcept { return level >= Log::level(); }

    /// Opens (append) the file and sends lines there, and to stderr too if `alsoStderr`.
    /// Returns false and leaves the sink unchanged if the file cannot be opened.
    static bool openFile(const std::string& path, bool alsoStderr);
    static void closeFile() noexcept;
    static std::string filePath();
    /// The log file's descriptor (-1 = none) and whether lines go to stderr too: read by the
    /// crash handler (util/CrashHandler.h) inside a signal handler, so plain atomic loads.
    static int fileDescriptor() noexcept;
    static bool writesToStderr() noexcept;

    /// `source` names the part or app ("connector", "app:/shop"); message is one line.
    static void write(LogLevel level, std::string_view source, std::string_view message) noexcept;
};

} // namespace serval::util

#define SERVAL_LOG(level, source, expr)                                                                      \
    do {                                                                                                     \
        if (::serval::util::Log::enabled(level)) {                                                           \
            ::serval::util::Log::write(level, source, (expr));                                               \
        }                                                                                                    \
    } while (0)
#define LOG_DEBUG(source, expr) SERVAL_LOG(::serval::util::LogLevel::Debug, source, expr)
#define LOG_INFO(source, expr) SERVAL_LOG(::serval::util::LogLevel::Info, source, expr)
#define LOG_WARN(source, expr) SERVAL_LOG(::serval::util::LogLevel::Warn, source, expr)
#define LOG_ERROR(source, expr) SERVAL_LOG(::serval::util::LogLevel::Error, source, expr)
