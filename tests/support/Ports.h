#pragma once

#include <chrono>
#include <cstdint>

namespace serval::test {

/// A port the kernel just handed out for loopback (bind to 0, read it back, close). Another
/// process could take it before the caller's server binds it: a helper that starts a server on
/// it (redis-server, nginx) retries with a fresh port when the start fails.
uint16_t freeLoopbackPort();

/// True when something accepts TCP connections on 127.0.0.1:`port` now.
bool acceptsConnections(uint16_t port);

} // namespace serval::test
