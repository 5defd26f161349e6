#include "http/HttpDate.h"

#include <cstring>

namespace serval::http {

std::string formatHttpDate(std::time_t t)
{
    struct tm tmv;
    ::gmtime_r(&t, &tmv);
    char buffer[64];
    size_t n = ::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &tmv);
    return std::string(buffer, n);
}

std::optional<std::time_t> parseHttpDate(std::string_view text)
{
    std::string s(text);
    struct tm tmv;
    static const char* const kFormats[] = {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
                                           "%a %b %e %H:%M:%S %Y"};
    for (const char* format : kFormats) {
        std::memset(&tmv, 0, sizeof tmv);
        const char* end = ::strptime(s.c_str(), format, &tmv);
        if (end != nullptr && *end == '\0') return ::timegm(&tmv);
    }
    return std::nullopt;
}

std::string_view cachedHttpDate() noexcept
{
    thread_local std::time_t cachedSecond = 0;
    thread_local char cached[64];
    thread_local size_t cachedLength = 0;
    std::time_t now = std::time(nullptr);
    if (now != cachedSecond) {
        struct tm tmv;
        ::gmtime_r(&now, &tmv);
        cachedLength = ::strftime(cached, sizeof cached, "%a, %d %b %Y %H:%M:%S GMT", &tmv);
        cachedSecond = now;
    }
    return std::string_view(cached, cachedLength);
}

} // namespace serval::http
