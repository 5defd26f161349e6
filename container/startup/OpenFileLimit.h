#pragma once

#include "config/ServerConfig.h"

#include <cstdint>
#include <string>

namespace serval::startup {

/// What raiseOpenFileLimit() did, for the log line and the tests.
struct OpenFileLimit
{
    uint64_t before = 0; ///< the soft RLIMIT_NOFILE the process started with
    uint64_t after = 0;  ///< the soft limit now (the hard limit, unless raising it failed)
    uint64_t needed = 0; ///< what conf/server.xml's connectors may use: maxConnections + reserve
    std::string warning; ///< non-empty when `after` is below `needed`: what to change
};

/// Descriptors kept free for what is not a client connection: listeners, the log, open static
/// files (OpenFileCache takes at most a quarter of the limit), database and Redis pools, the
/// channels to worker processes.
inline constexpr uint64_t kOpenFileReserve = 256;

/// Raises the soft open-file limit to the hard one, as the JVM does for Tomcat (MaxFDLimit):
/// every client connection is a descriptor (an isolated app's WebSocket too: its bytes go to
/// the worker over the shared-memory channel, not over a descriptor of its own), and Linux
/// starts processes at a soft limit of 1024 whatever the hard limit allows. Worker processes
/// inherit the raised limit. Says in `warning` when even the hard limit is below the sum of
/// the connectors' maxConnections plus kOpenFileReserve (the Connector then refuses connections
/// past the limit, one warning a second, instead of failing requests).
///
/// Called once by main() before the server starts, on the main thread.
OpenFileLimit raiseOpenFileLimit(const config::ServerConfig& config) noexcept;

} // namespace serval::startup
