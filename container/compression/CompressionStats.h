#pragma once

#include <atomic>
#include <cstdint>

namespace serval::compression {

/// Process-wide counters for /metrics (manager/ManagerApi.cpp), bumped with relaxed atomics
/// from any request thread and the static-variant fill threads.
struct CompressionStats
{
    std::atomic<uint64_t> dynamicGzip{0};   ///< responses compressed per request, gzip
    std::atomic<uint64_t> dynamicBrotli{0}; ///< likewise, br
    std::atomic<uint64_t> staticHits{0};    ///< static files served from the compressed-variant cache
    std::atomic<uint64_t> staticFills{0};   ///< compressed variants made (once per file, coding and version)

    /// The one instance (constant-initialised: no constructor runs at start-up).
    static CompressionStats& instance() noexcept
    {
        static CompressionStats stats;
        return stats;
    }
};

} // namespace serval::compression
