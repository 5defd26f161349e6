#include "startup/OpenFileLimit.h"

#include <sys/resource.h>

namespace serval::startup {

OpenFileLimit raiseOpenFileLimit(const config::ServerConfig& config) noexcept
{
    OpenFileLimit result;
    result.needed = kOpenFileReserve;
    for (const config::ConnectorConfig& connector : config.connectors)
        result.needed += connector.maxConnections;
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return result;
    result.before = result.after = limit.rlim_cur;
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised{limit.rlim_max, limit.rlim_max};
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) result.after = limit.rlim_max;
    }
    if (limit.rlim_max != RLIM_INFINITY && result.after < result.needed) {
        try {
            result.warning = "the open file limit is " + std::to_string(result.after) +
                             " but the connectors allow " + std::to_string(result.needed - kOpenFileReserve) +
                             " connections (maxConnections) plus " + std::to_string(kOpenFileReserve) +
                             " other descriptors: raise the hard limit (ulimit -Hn; LimitNOFILE= in the "
                             "systemd unit) or lower maxConnections";
        } catch (...) {
            // no memory for the sentence: the Connector still says so when it runs out
        }
    }
    return result;
}

} // namespace serval::startup
