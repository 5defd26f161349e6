#pragma once

#include <cstdint>

namespace serval::connector {

/// A snapshot of one Connector's counters, for the admin page and /metrics.
/// Each field is read with relaxed loads: the numbers are consistent individually, not as a set.
struct ConnectorStats
{
    uint64_t openConnections = 0;     ///< currently open client connections
    uint64_t acceptedConnections = 0; ///< accepted since start
    uint64_t refusedConnections = 0;  ///< accepted and closed at once (maxConnections)
    uint64_t requests = 0;            ///< complete requests handed to the pipeline or rejected
    uint64_t bytesIn = 0;             ///< bytes read from clients
    uint64_t bytesOut = 0;            ///< bytes written to clients
    uint32_t ioThreads = 0;
    uint32_t workerThreads = 0;
    uint32_t workersBusy = 0;    ///< workers running service() right now
    uint32_t workersQueued = 0;  ///< exchanges waiting for a worker
    uint64_t workerRejected = 0; ///< exchanges answered 503 because the worker queue was full
};

} // namespace serval::connector
