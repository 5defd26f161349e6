#include "util/Log.h"

#include "util/Redact.h"
#include "util/Strings.h"

#include <fcntl.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

namespace serval::util {
namespace {

std::atomic<int> gLevel{static_cast<int>(LogLevel::Info)};
std::atomic<int> gFileFd{-1};
std::atomic<bool> gAlsoStderr{true};
std::mutex gFileMutex; // guards open/close and the path, never write()
std::string gFilePath;

} // namespace

bool parseLogLevel(std::string_view text, LogLevel& out)
{
    static constexpr std::pair<std::string_view, LogLevel> kLevels[] = {
        {"debug", LogLevel::Debug},  {"info", LogLevel::Info},   {"warn", LogLevel::Warn},
        {"warning", LogLevel::Warn}, {"error", LogLevel::Error}, {"off", LogLevel::Off}};
    for (const auto& [name, level] : kLevels) {
        if (equalsIgnoreCase(text, name)) {
            out = level;
            return true;
        }
    }
    return false;
}

std::string_view logLevelName(LogLevel level)
{
    switch (level) {
    case LogLevel::Debug:
        return "DEBUG";
    case LogLevel::Info:
        return "INFO";
    case LogLevel::Warn:
        return "WARN";
    case LogLevel::Error:
        return "ERROR";
    case LogLevel::Off:
        return "OFF";
    }
    return "?";
}

void Log::setLevel(LogLevel level) noexcept
{
    gLevel.store(static_cast<int>(level), std::memory_order_relaxed);
}

LogLevel Log::level() noexcept
{
    return static_cast<LogLevel>(gLevel.load(std::memory_order_relaxed));
}

bool Log::openFile(const std::string& path, bool alsoStderr)
{
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    std::lock_guard<std::mutex> lock(gFileMutex);
    // The previous fd is leaked on purpose if one was open: another thread may be inside write()
    // with it. Re-opening happens at most a few times per process lifetime.
    gFileFd.store(fd);
    gAlsoStderr.store(alsoStderr);
    gFilePath = path;
    return true;
}

void Log::closeFile() noexcept
{
    std::lock_guard<std::mutex> lock(gFileMutex);
    gFileFd.store(-1);
    gAlsoStderr.store(true);
    gFilePath.clear();
}

std::string Log::filePath()
{
    std::lock_guard<std::mutex> lock(gFileMutex);
    return gFilePath;
}

int Log::fileDescriptor() noexcept
{
    return gFileFd.load();
}

bool Log::writesToStderr() noexcept
{
    return gFileFd.load() < 0 || gAlsoStderr.load();
}

void Log::write(LogLevel level, std::string_view source, std::string_view message) noexcept
{
    char stamp[40];
    struct timeval tv;
    ::gettimeofday(&tv, nullptr);
    struct tm tmv;
    ::gmtime_r(&tv.tv_sec, &tmv);
    size_t n = ::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tmv);
    ::snprintf(stamp + n, sizeof stamp - n, ".%03dZ", static_cast<int>(tv.tv_usec / 1000));

    std::string line;
    std::string redacted; // credentials never reach the log in clear (util/Redact.h)
    try {
        if (redactText(message, redacted)) message = redacted;
        line.reserve(64 + source.size() + message.size());
        line.append(stamp);
        line.push_back(' ');
        std::string_view name = logLevelName(level);
        line.append(name);
        line.append(6 - name.size(), ' ');
        line.push_back('[');
        line.append(source);
        line.append("] ");
        for (char c : message)
            line.push_back((c == '\n' || c == '\r') ? ' ' : c); // one event, one line
        line.push_back('\n');
    } catch (...) {
        return;
    }
    int fd = gFileFd.load();
    if (fd >= 0) {
        ssize_t ignored = ::write(fd, line.data(), line.size());
        (void)ignored;
    }
    if (fd < 0 || gAlsoStderr.load()) {
        ssize_t ignored = ::write(2, line.data(), line.size());
        (void)ignored;
    }
}

} // namespace serval::util
